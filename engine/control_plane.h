// The control plane: everything that is not the data plane, on ONE dedicated thread, so
// SQLite's fsync and argon2id hashing never stall a shard (SPEC 7, 8).
//
// It owns the durable Store, the current security state, and the admin/Ditto resource API:
//   PUT|GET|DELETE /admin/principals/{name}      admin only
//   PUT|GET|DELETE /admin/iot-policies/{name}    admin only
//   PUT|GET|DELETE /api/2/policies/{policyId}    Ditto semantics and error bodies
//   PUT|GET|DELETE /api/2/things/{thingId}       Ditto semantics and error bodies
// Every successful write is stored first (durable: returns after COMMIT), then a new
// SecuritySnapshot is built and published, then the response is produced. A failed store
// write changes nothing and answers 500.
//
// Decisions (documented here because the spec leaves them open):
// - Request::path is the raw request-target path (not percent-decoded); each resource name
//   is percent-decoded here. The query string is ignored.
// - Request::principal has been authenticated by the shard; "" means anonymous. A name
//   that no longer exists (deleted meanwhile), or "" with anonymous mode off, gets 401.
// - Admin routes answer 403 to everyone but the admin principal, anonymous included.
// - Principals: PUT replaces `subjects` and `iotPolicies` (absent = none); `password` is
//   optional on update (absent keeps the stored hash) and required on create. An optional
//   `name` must equal the path's. Names: 1..128 bytes of UTF-8 without control characters,
//   ':' (the Basic-auth separator) or '/'. GET returns {"name","subjects","iotPolicies"}
//   where subjects are the configured extras ("basic:<name>" is implicit); never secrets.
//   "admin" can be updated (its password, e.g.) but not deleted (403).
// - IoT policies: names follow AWS IoT ([A-Za-z0-9_+=,.@-], 1..128). DELETE of a policy
//   still attached to a principal answers 409 naming a principal (AWS IoT's
//   DeleteConflictException) instead of detaching silently. Each policy is compiled once
//   (on PUT, or when loaded by Open) and that compilation is shared by every principal that
//   attaches it; a PUT of an existing policy rebuilds exactly the principals attaching it.
// - Ditto policies: a non-admin creator must get WRITE on policy:/ from the new policy
//   (403 policies:policy.notcreatable); update and delete need WRITE on policy:/ from the
//   current one (403 policies:policy.notmodifiable, or 404 policies:policy.notfound when
//   the caller cannot even partially READ policy:/); an update by a non-admin must leave
//   some subject with WRITE on policy:/ (403 policies:policy.modificationinvalid). GET
//   needs unrestricted READ on policy:/ (the stored document is returned whole, never
//   filtered). DELETE of a policy that Things still reference is allowed, as in Ditto:
//   those Things are then reachable by admin only.
// - Things: the body needs `policyId` on create (no inline/implicit policies: 400
//   things:thing.notcreatable, also when the policy does not exist); on update an absent
//   `policyId` keeps the current one. Allowed fields: thingId, policyId, definition
//   (string or null), attributes (object), features (object of objects); `_`-prefixed
//   system fields are dropped; anything else is 400 json.invalid naming the field.
//   Create needs WRITE on thing:/ from the referenced policy; changing policyId needs it
//   from both the current and the new policy; GET needs unrestricted READ on thing:/ (the
//   document is never filtered); DELETE needs WRITE. "Not visible" (no partial READ on
//   thing:/) is 404 things:thing.notfound. Bodies: 100 kB (Ditto's default; 413
//   things:thing.toolarge / policies:policy.toolarge). Stored JSON is minified with
//   thingId and policyId first.
// - The admin principal is allowed everything, always; errors keep Ditto's shape
//   {"status","error","message","description"} on every route (admin routes use
//   "admin:..." codes, IAM parse errors "iot:policy.invalid").
//
// Snapshot lifetime: every snapshot starts with Options::shard_count references (one per
// shard) plus one held by the control plane. The first one (built by Open) reaches the
// shards through Current() at start-up; every later one through the publisher. A shard
// calls Release() exactly once on each snapshot it was given, after switching to the next
// (and on its last one at shutdown). When no publisher is set, later snapshots start with
// the control plane's reference only (no shard ever sees them).
//
// Threads: Open, SetPublisher, SetResponder, Start and Stop run on the owning (main)
// thread. Submit may be called from any thread at any time while the control thread runs.
// Handle mutates the state: it runs on the control thread, or synchronously (unit tests)
// while the thread is not started. Current() is for the control thread, and for the
// owning thread before Start() or after Stop().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "engine/security.h"
#include "engine/store.h"

namespace sb::control {

class ControlPlane {
 public:
  struct Options {
    std::string data_dir;
    std::string admin_password;  // non-empty: create or reset the principal "admin"
    bool anonymous = false;      // publish the allow-all anonymous principal
    size_t shard_count = 0;
  };

  struct Request {
    uint16_t shard = 0;
    uint64_t token = 0;  // opaque to the control plane, echoed in the response
    std::string method;  // "PUT", "GET", "DELETE", ...
    std::string path;    // raw path, e.g. "/api/2/things/org.acme%3Alamp"
    std::string query;
    std::string body;
    std::string principal;  // authenticated name; "" = anonymous
  };
  struct Response {
    uint16_t shard = 0;
    uint64_t token = 0;
    int status = 500;
    std::string content_type;  // "application/json", or "" when body is empty
    std::string body;
  };

  // Body limits (bytes).
  static constexpr size_t kMaxAdminBodyBytes = 64 * 1024;
  static constexpr size_t kMaxDittoBodyBytes = 100 * 1000;

  explicit ControlPlane(Options options);
  ~ControlPlane();  // Stop()s, then drops the control plane's snapshot reference
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Start-up edge: opens (creating/migrating) the database, loads and validates everything
  // (a stored document that no longer validates fails the start rather than being
  // dropped), creates or resets "admin" when admin_password is set, and builds the first
  // snapshot. On failure returns false with a reason in *error.
  bool Open(std::string* error);

  // The latest published snapshot (nullptr before Open succeeded).
  const SecuritySnapshot* Current() const noexcept {
    return current_.load(std::memory_order_acquire);
  }

  // Called on the control thread with each new snapshot, after it became Current().
  void SetPublisher(std::function<void(const SecuritySnapshot*)> publish);

  // Requests from shards (any thread; lock-free MPSC queue). Requests submitted before
  // Stop() returns are all answered.
  void Submit(std::unique_ptr<Request> request);
  // Called on the control thread with each answer (dropped when unset).
  void SetResponder(std::function<void(std::unique_ptr<Response>)> respond);

  // The control thread. Start after Open; Stop is idempotent.
  void Start();
  void Stop();

  // The request handler itself (see the thread rules above).
  std::unique_ptr<Response> Handle(const Request& request);

 private:
  struct Queue;
  struct IotPolicy;
  class Api;
  friend class Api;

  void Run();
  // Builds a snapshot from tables_ and makes it current; publishes unless `initial`.
  void Publish(bool initial);

  Options options_;
  std::unique_ptr<Store> store_;
  // Control-plane state; the snapshot tables are shared with the published snapshots.
  std::unique_ptr<StringMap<std::shared_ptr<const IotPolicy>>> iot_policies_;
  SecurityTables tables_;
  uint64_t version_ = 0;
  std::atomic<const SecuritySnapshot*> current_{nullptr};

  std::function<void(const SecuritySnapshot*)> publish_;
  std::function<void(std::unique_ptr<Response>)> respond_;
  std::unique_ptr<Queue> queue_;
  std::thread thread_;
  std::unique_ptr<Api> api_;
};

}  // namespace sb::control
