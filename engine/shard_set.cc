#include "engine/shard_set.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <latch>

#include "engine/log.h"

namespace sb::engine {

namespace {

uint64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A listening socket on host:port with SO_REUSEPORT, so every shard can have its own.
int Listen(const Endpoint& endpoint, uint16_t port, std::string* error, std::string* bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(endpoint.host.c_str(), port_text.c_str(), &hints, &result);
  if (rc != 0) {
    *error = "cannot resolve '" + endpoint.host + "': " + gai_strerror(rc);
    return -1;
  }
  int fd = ::socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(result);
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, result->ai_addr, result->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
    *error = "cannot listen on " + endpoint.host + ":" + port_text + ": " + std::strerror(errno);
    freeaddrinfo(result);
    ::close(fd);
    return -1;
  }
  freeaddrinfo(result);
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t actual_port = 0;
  if (address.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    actual_port = ntohs(in->sin_port);
    *bound = std::string(host) + ":" + std::to_string(actual_port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    actual_port = ntohs(in6->sin6_port);
    // Formatted in a buffer: building it from std::string pieces trips GCC 12's false
    // -Wrestrict warning (libstdc++ _M_replace).
    char text[INET6_ADDRSTRLEN + 8];
    std::snprintf(text, sizeof(text), "[%s]:%u", host, unsigned{actual_port});
    *bound = text;
  }
  return fd;
}

uint16_t PortOf(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
}

}  // namespace

ShardSet::ShardSet(Config config) : config_(std::move(config)) {
  unsigned n = config_.shards;
  if (n == 0) n = std::max(1u, static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
  config_.shards = n;
  for (unsigned i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(this, static_cast<uint16_t>(i), &config_));
}

ShardSet::~ShardSet() {
  for (int fd : mqtt_fds_) if (fd >= 0) ::close(fd);
  for (int fd : http_fds_) if (fd >= 0) ::close(fd);
}

bool ShardSet::BindListeners(std::string* error) {
  // The first socket picks the port (port 0 → ephemeral); the others share it via SO_REUSEPORT.
  for (auto [endpoint, fds, name] : {std::tuple{&config_.mqtt, &mqtt_fds_, "mqtt"}, std::tuple{&config_.http, &http_fds_, "http"}}) {
    uint16_t port = endpoint->port;
    std::string bound;
    for (size_t i = 0; i < shards_.size(); ++i) {
      int fd = Listen(*endpoint, port, error, i == 0 ? &bound : &bound);
      if (fd < 0) return false;
      if (i == 0) port = PortOf(fd);
      fds->push_back(fd);
    }
    std::printf("listening %s %s\n", name, bound.c_str());
  }
  std::fflush(stdout);
  return true;
}

void ShardSet::PostFromOutside(uint16_t shard, MailItem item) {
  // One small ring per outside thread, only for MSG_RING doorbells.
  struct DoorbellRing {
    io_uring ring{};
    bool ok = io_uring_queue_init(8, &ring, 0) == 0;
    ~DoorbellRing() {
      if (ok) io_uring_queue_exit(&ring);
    }
  };
  thread_local DoorbellRing doorbell;
  Shard& target = *shards_[shard];
  target.inbox().queue().enqueue(item);
  if (!target.inbox().MarkHasMail() || !doorbell.ok) return;
  io_uring_sqe* sqe = io_uring_get_sqe(&doorbell.ring);
  io_uring_prep_msg_ring(sqe, target.ring_fd(), 0, UserData::Make(Op::kMailbox, 0), 0);
  io_uring_sqe_set_data64(sqe, 0);
  io_uring_submit(&doorbell.ring);
  io_uring_cqe* cqe;
  if (io_uring_wait_cqe(&doorbell.ring, &cqe) == 0) {
    if (cqe->res < 0) LOG_ERROR("event=doorbell_failed shard=%u error=%d", unsigned(shard), cqe->res);
    io_uring_cqe_seen(&doorbell.ring, cqe);
  }
}

void ShardSet::NoteShardDrained() { drained_shards_.fetch_add(1, std::memory_order_acq_rel); }

int ShardSet::Run() {
  if (shards_.size() > 64) {
    std::fprintf(stderr, "switchboard: at most 64 shards are supported\n");
    return 2;
  }
  log::SetLevel(config_.log_level == "debug" ? log::Level::kDebug
                : config_.log_level == "warn" ? log::Level::kWarn
                : config_.log_level == "error" ? log::Level::kError
                                              : log::Level::kInfo);
  started_at_ms_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch()).count());
  // Signals go to this thread only (sigwait below); shard threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string error;
  // The control plane first: the durable store must open (and the first security snapshot
  // exist) before anything listens.
  control::ControlPlane::Options control_options;
  control_options.data_dir = config_.data_dir;
  control_options.admin_password = config_.admin_password;
  control_options.anonymous = config_.AnonymousAllowed();
  control_options.shard_count = shards_.size();
  control_ = std::make_unique<control::ControlPlane>(control_options);
  if (!control_->Open(&error)) {
    std::fprintf(stderr, "switchboard: %s\n", error.c_str());
    return 1;
  }
  for (auto& shard : shards_) shard->SetInitialSnapshot(control_->Current());
  control_->SetPublisher([this](const control::SecuritySnapshot* snapshot) {
    for (uint16_t i = 0; i < shards_.size(); ++i) {
      MailItem item{};
      item.kind = MailItem::Kind::kSnapshot;
      item.ptr = const_cast<control::SecuritySnapshot*>(snapshot);
      PostFromOutside(i, item);
    }
  });
  control_->SetResponder([this](std::unique_ptr<control::ControlPlane::Response> response) {
    MailItem item{};
    item.kind = MailItem::Kind::kAdminResponse;
    uint16_t shard = response->shard;
    item.ptr = response.release();
    PostFromOutside(shard, item);
  });
  verifier_ = std::make_unique<CredentialVerifier>([this](std::unique_ptr<VerifyJob> job) {
    MailItem item{};
    item.kind = MailItem::Kind::kCredentialVerdict;
    uint16_t shard = job->shard;
    item.ptr = job.release();
    PostFromOutside(shard, item);
  });

  if (!BindListeners(&error)) {
    std::fprintf(stderr, "switchboard: %s\n", error.c_str());
    return 1;
  }
  if (config_.AnonymousAllowed()) {
    LOG_INFO("event=anonymous_access enabled=true why=\"%s\"",
             config_.anonymous ? "--anonymous on" : "every listener is loopback-only (local mode)");
  } else {
    LOG_INFO("event=anonymous_access enabled=false");
  }

  const unsigned cpus = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  std::latch ready(static_cast<std::ptrdiff_t>(shards_.size()));
  std::atomic<bool> init_failed{false};
  for (size_t i = 0; i < shards_.size(); ++i) {
    shards_[i]->SetListeners(mqtt_fds_[i], http_fds_[i]);
    mqtt_fds_[i] = http_fds_[i] = -1;  // owned by the shard now
    threads_.emplace_back([this, i, cpus, &ready, &init_failed] {
      if (config_.pin_threads && cpus > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(i % cpus, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      }
      char name[16];
      std::snprintf(name, sizeof(name), "shard-%zu", i);
      pthread_setname_np(pthread_self(), name);
      std::string init_error;
      if (!shards_[i]->Init(&init_error)) {
        std::fprintf(stderr, "switchboard: shard %zu: %s\n", i, init_error.c_str());
        init_failed = true;
      }
      ready.arrive_and_wait();  // every ring fd is known before anyone rings a doorbell
      if (!init_failed) shards_[i]->Run();
    });
  }
  ready.wait();
  if (init_failed) {
    for (auto& t : threads_) t.join();
    return 1;
  }
  LOG_INFO("event=started shards=%zu mqtt=%s:%u http=%s:%u", shards_.size(), config_.mqtt.host.c_str(),
           unsigned(config_.mqtt.port), config_.http.host.c_str(), unsigned(config_.http.port));

  control_->Start();
  auto post = [&](MailItem::Kind kind) {
    for (uint16_t i = 0; i < shards_.size(); ++i) {
      MailItem item{};
      item.kind = kind;
      PostFromOutside(i, item);
    }
  };

  int signal_number = 0;
  while (true) {
    sigwait(&signals, &signal_number);
    if (signal_number == SIGTERM || signal_number == SIGINT) break;
  }
  LOG_INFO("event=draining signal=%d grace_ms=%u", signal_number, config_.drain_grace_ms);
  draining_.store(true);
  post(MailItem::Kind::kDrain);
  // Wait for every shard to finish its confirmations (bounded by the grace period), then
  // give the goodbyes a moment to reach the sockets.
  uint64_t deadline = SteadyMs() + config_.drain_grace_ms + 1000;
  while (drained_shards_.load() < shards_.size() && SteadyMs() < deadline) usleep(10 * 1000);
  usleep(100 * 1000);
  // The control plane stops first so no snapshot or answer is posted to a stopped shard.
  control_->Stop();
  verifier_.reset();
  post(MailItem::Kind::kStop);
  for (auto& t : threads_) t.join();
  LOG_INFO("event=stopped");
  return 0;
}

}  // namespace sb::engine
