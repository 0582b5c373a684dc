// Credentials: verifying passwords without stalling a shard.
//
// argon2id verification costs tens of milliseconds and 64 MiB, so it never runs on a
// reactor: a shard that sees an unknown credential hands it to the CredentialVerifier (one
// worker thread for the process) and parks the request or CONNECT; the verdict comes back
// through the shard's mailbox. A verified credential is remembered in the shard's
// CredentialCache as a keyed BLAKE2b digest (never the password), tied to the stored hash
// it was checked against, so a reconnect storm costs one hash lookup per login and a
// password change invalidates the entry. Failed logins are counted and rate-limited per
// principal name.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "engine/token_bucket.h"

namespace sb::engine {

using CredentialDigest = std::array<uint8_t, 32>;

// Keyed with a random per-process key, so digests are useless outside this process.
CredentialDigest DigestPassword(std::string_view password);

struct VerifyJob {
  uint16_t shard = 0;
  uint64_t token = 0;          // what the shard parked (its meaning is the shard's)
  std::string name;
  std::string stored_hash;
  std::string password;
  // Filled by the verifier:
  bool ok = false;
  CredentialDigest digest{};
};

class CredentialVerifier {
 public:
  // `deliver` runs on the verifier thread with each finished job (ownership passes).
  explicit CredentialVerifier(std::function<void(std::unique_ptr<VerifyJob>)> deliver);
  ~CredentialVerifier();
  void Submit(std::unique_ptr<VerifyJob> job);

 private:
  void Loop();
  std::function<void(std::unique_ptr<VerifyJob>)> deliver_;
  moodycamel::BlockingConcurrentQueue<VerifyJob*> queue_;
  std::thread thread_;
};

// Shard-local.
class CredentialCache {
 public:
  explicit CredentialCache(size_t capacity = 200000) : capacity_(capacity) {}

  // True when `password` was verified for `name` against this exact stored hash.
  bool Check(std::string_view name, std::string_view password, std::string_view stored_hash) const;
  void Remember(std::string_view name, const CredentialDigest& digest, std::string_view stored_hash);
  // False when `name` has failed too often lately (the attempt is refused without work).
  bool MayTry(std::string_view name, uint64_t now_ms);
  void RecordFailure(std::string_view name, uint64_t now_ms);

 private:
  struct Entry {
    CredentialDigest digest;
    std::string stored_hash;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  size_t capacity_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string, TokenBucket, Hash, std::equal_to<>> failures_;
};

}  // namespace sb::engine
