#include "engine/credentials.h"

#include <sodium.h>

#include "policy/password.h"

namespace sb::engine {

namespace {
const std::array<uint8_t, crypto_generichash_KEYBYTES>& ProcessKey() {
  static const auto key = [] {
    std::array<uint8_t, crypto_generichash_KEYBYTES> k{};
    if (sodium_init() < 0) std::abort();
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}
// Five failures in a burst, then one attempt per two seconds per principal name.
constexpr uint32_t kFailureBurst = 5;
constexpr uint32_t kFailuresPerSecond = 1;
}  // namespace

CredentialDigest DigestPassword(std::string_view password) {
  CredentialDigest digest{};
  const auto& key = ProcessKey();
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(password.data()),
                     password.size(), key.data(), key.size());
  return digest;
}

CredentialVerifier::CredentialVerifier(std::function<void(std::unique_ptr<VerifyJob>)> deliver)
    : deliver_(std::move(deliver)), thread_([this] { Loop(); }) {}

CredentialVerifier::~CredentialVerifier() {
  queue_.enqueue(nullptr);  // the stop marker
  thread_.join();
}

void CredentialVerifier::Submit(std::unique_ptr<VerifyJob> job) { queue_.enqueue(job.release()); }

void CredentialVerifier::Loop() {
  while (true) {
    VerifyJob* raw = nullptr;
    queue_.wait_dequeue(raw);
    if (!raw) return;
    std::unique_ptr<VerifyJob> job(raw);
    job->ok = policy::VerifyPassword(job->stored_hash, job->password);
    if (job->ok) job->digest = DigestPassword(job->password);
    job->password.assign(job->password.size(), '\0');  // do not keep it around longer than needed
    job->password.clear();
    deliver_(std::move(job));
  }
}

bool CredentialCache::Check(std::string_view name, std::string_view password, std::string_view stored_hash) const {
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.stored_hash != stored_hash) return false;
  CredentialDigest digest = DigestPassword(password);
  return sodium_memcmp(digest.data(), it->second.digest.data(), digest.size()) == 0;
}

void CredentialCache::Remember(std::string_view name, const CredentialDigest& digest, std::string_view stored_hash) {
  if (entries_.size() >= capacity_) entries_.clear();  // crude but bounded; a miss only costs a verify
  entries_[std::string(name)] = Entry{digest, std::string(stored_hash)};
  failures_.erase(std::string(name));
}

bool CredentialCache::MayTry(std::string_view name, uint64_t now_ms) {
  auto it = failures_.find(name);
  if (it == failures_.end()) return true;
  // Peek: a token is only spent by RecordFailure.
  TokenBucket probe = it->second;
  return probe.Take(now_ms);
}

void CredentialCache::RecordFailure(std::string_view name, uint64_t now_ms) {
  auto it = failures_.find(name);
  if (it == failures_.end()) {
    if (failures_.size() >= capacity_) failures_.clear();
    it = failures_.emplace(std::string(name), TokenBucket(kFailuresPerSecond, kFailureBurst)).first;
  }
  it->second.Take(now_ms);
}

}  // namespace sb::engine
