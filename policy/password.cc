#include "policy/password.h"

#include <sodium.h>

#include <string>

namespace sb::policy {
namespace {

bool EnsureSodium() noexcept {
  // sodium_init() is itself thread-safe and idempotent; the static caches its result.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

std::string HashPassword(std::string_view password) {
  if (!EnsureSodium()) return {};
  char stored[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(stored, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return {};  // out of memory
  }
  return std::string(stored);
}

bool VerifyPassword(std::string_view stored, std::string_view candidate) {
  if (!EnsureSodium()) return false;
  // libsodium wants a NUL-terminated string that fits its buffer size.
  if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES ||
      stored.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string terminated(stored);
  return crypto_pwhash_str_verify(terminated.c_str(), candidate.data(), candidate.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view stored) {
  if (!EnsureSodium()) return false;
  if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES ||
      stored.find('\0') != std::string_view::npos) {
    return true;
  }
  const std::string terminated(stored);
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

}  // namespace sb::policy
