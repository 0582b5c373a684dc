// Password storage for principals (SPEC 1): argon2id via libsodium's crypto_pwhash_str with
// the INTERACTIVE limits, producing the self-describing "$argon2id$v=19$m=...,t=...,p=...$..."
// string that is stored instead of the password. Hashing is deliberately slow (tens of ms
// and 64 MiB of memory): call it on the control plane or a worker, never on a shard's
// event loop, and cache verified credentials as the spec allows.
//
// Thread safety: both functions are thread-safe (libsodium is initialised once, on first use).
#pragma once

#include <string>
#include <string_view>

namespace sb::policy {

// Returns the stored form of `password`, or an empty string if libsodium could not
// initialise or allocate the memory the hash needs (an error value, never an exception).
std::string HashPassword(std::string_view password);

// True if `candidate` is the password whose stored form is `stored` (constant-time compare
// inside libsodium). False for a malformed or empty `stored`.
bool VerifyPassword(std::string_view stored, std::string_view candidate);

// True if `stored` was hashed with weaker limits than HashPassword uses today, so the caller
// should re-hash the password after the next successful login.
bool PasswordNeedsRehash(std::string_view stored);

}  // namespace sb::policy
