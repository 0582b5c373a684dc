// ShardSet: the whole server — N shards, their listeners and threads, and the signal thread
// that turns SIGTERM/SIGINT into a drain. Built and torn down on the main thread; while
// running, shards reach each other only through `inbox(i)` / `ring_fd(i)` (fixed before
// any shard thread starts).
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/config.h"
#include "engine/control_plane.h"
#include "engine/credentials.h"
#include "engine/shard.h"

namespace sb::engine {

class ShardSet {
 public:
  explicit ShardSet(Config config);
  ~ShardSet();

  // Binds listeners (printing the `listening ...` lines), starts the shard threads and
  // blocks until a signal has drained and stopped every shard. Returns the exit code.
  int Run();

  size_t size() const { return shards_.size(); }
  Shard& shard(size_t i) { return *shards_[i]; }
  const Shard& shard(size_t i) const { return *shards_[i]; }
  const Config& config() const { return config_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  uint64_t started_at_ms() const { return started_at_ms_; }
  // Called by each shard once it has finished draining (any thread).
  void NoteShardDrained();

  control::ControlPlane& control() { return *control_; }
  CredentialVerifier& verifier() { return *verifier_; }
  // Delivers an item to a shard from a thread that is not a shard (control plane,
  // verifier, signal thread): enqueue, then ring the shard's doorbell if it was idle.
  void PostFromOutside(uint16_t shard, MailItem item);

 private:
  bool BindListeners(std::string* error);

  Config config_;
  std::unique_ptr<control::ControlPlane> control_;
  std::unique_ptr<CredentialVerifier> verifier_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::vector<int> mqtt_fds_;
  std::vector<int> http_fds_;
  std::atomic<bool> draining_{false};
  uint64_t started_at_ms_ = 0;
  std::atomic<size_t> drained_shards_{0};
};

}  // namespace sb::engine
