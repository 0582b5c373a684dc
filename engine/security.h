// Security snapshots: everything a shard needs to authenticate and authorise on the hot
// path (SPEC 1, 4.3) — principals with their compiled IAM policies, compiled Ditto
// policies and Things — as one immutable object that the control plane builds and
// publishes to every shard, and that shards swap by pointer.
//
// Immutability and sharing: a snapshot, and everything reachable from it, never changes
// after SecuritySnapshot::Create(). Consecutive snapshots share what did not change: each
// table (principals, Ditto policies, Things) is held by shared_ptr and only a table that a
// write touched is copied, and inside a copied table the unchanged entries are the same
// shared_ptr<const ...> objects. Reference counts therefore move only when a snapshot is
// built or destroyed (on the control thread or the releasing shard), never per decision:
// lookups hand out raw pointers that stay valid for as long as the snapshot does.
//
// Reclamation: a snapshot starts with a number of references (see ControlPlane: one per
// shard it is handed to plus one for the control plane). Whoever holds one calls Release()
// exactly once when it is done (a shard: after it switched to a newer snapshot); the last
// Release() deletes the snapshot. Release() may run on any thread.
//
// Threads: every const method is thread-safe, lock-free and allocation-free; any number of
// shards may use one snapshot concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/compiled_ditto_policy.h"
#include "policy/compiled_iam_policies.h"
#include "policy/iam_policy.h"

namespace sb::control {

// The principal that is "allowed everything" (IAM and Ditto) and cannot be deleted.
inline constexpr std::string_view kAdminPrincipalName = "admin";
// The one subject of the anonymous principal: a Ditto policy opens a Thing to anonymous
// clients by granting this subject (e.g. "subjects": {"anonymous": {"type": "anonymous"}}).
// Authenticated principals never carry it unless an administrator configures it.
inline constexpr std::string_view kAnonymousSubject = "anonymous";
// The IAM-style policy of the anonymous and admin principals (SPEC 1: allow-all).
inline constexpr std::string_view kAllowAllIamPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";

// Immutable once built (BuildPrincipal); never moved afterwards because `subject_views`
// point into `subjects`, hence only ever held by shared_ptr<const Principal>.
// Line-aligned: see the first fields.
struct alignas(64) Principal {
  Principal() = default;
  Principal(const Principal&) = delete;
  Principal& operator=(const Principal&) = delete;

  // The first line holds what every decision reads and, from password_hash, the pointer
  // and size that checking a credential reads: an HTTP request's decision finds the line
  // that authenticating the request has just brought in.
  policy::CompiledIamPolicies iam;              // the attached documents, shared, pooled
  bool admin = false;                           // allowed everything (IAM and Ditto)
  std::string password_hash;                    // argon2id string ("" for none)
  std::string name;                             // "" for the anonymous principal
  std::vector<std::string> subjects;            // "basic:<name>" first, then configured extras
  std::vector<std::string_view> subject_views;  // views of `subjects`, for HasPermissions
  std::vector<std::string> iot_policy_names;    // attached IAM-style policies, as configured

  // The configured extra subjects (everything after "basic:<name>").
  std::span<const std::string> extra_subjects() const noexcept {
    const size_t skip = (!name.empty() && !subjects.empty()) ? 1 : 0;
    return std::span<const std::string>(subjects).subspan(skip);
  }
};

struct Thing {
  std::string id;
  std::string policy_id;
  std::string json;  // the stored document (includes thingId and policyId)
};

// A Ditto policy as stored (for GET) and compiled (for decisions).
struct StoredDittoPolicy {
  std::string id;
  std::string document;
  policy::CompiledDittoPolicy compiled;
};

// Hash for heterogeneous lookup: find(std::string_view) without building a std::string.
struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, TransparentStringHash, std::equal_to<>>;

using PrincipalTable = StringMap<std::shared_ptr<const Principal>>;
using DittoPolicyTable = StringMap<std::shared_ptr<const StoredDittoPolicy>>;
using ThingTable = StringMap<std::shared_ptr<const Thing>>;

// The contents of a snapshot. Every table pointer is non-null in a published snapshot.
struct SecurityTables {
  std::shared_ptr<const PrincipalTable> principals;
  std::shared_ptr<const DittoPolicyTable> ditto_policies;
  std::shared_ptr<const ThingTable> things;
  std::shared_ptr<const Principal> anonymous;  // null when anonymous access is off
};

// Builds an immutable principal: subjects become "basic:<name>" followed by `extra_subjects`
// (duplicates and "basic:<name>" itself dropped, order kept), and `iam` pools the compiled
// documents in `iam_documents` (shared with every other principal attaching them; null
// entries skipped). An admin principal (admin == true) gets the allow-all IAM policy
// instead, whatever is attached. Control plane only (allocates; compiles nothing but the
// allow-all document, once per process).
std::shared_ptr<const Principal> BuildPrincipal(
    std::string name, std::string password_hash, std::span<const std::string> extra_subjects,
    std::vector<std::string> iot_policy_names,
    std::vector<std::shared_ptr<const policy::CompiledIamDocument>> iam_documents, bool admin);

// kAllowAllIamPolicy compiled once per process and shared by the admin and anonymous
// principals.
std::shared_ptr<const policy::CompiledIamDocument> AllowAllIamDocument();

// The anonymous principal (SPEC 1): name "", no password, subjects ["anonymous"]
// (kAnonymousSubject), IAM allow-all (kAllowAllIamPolicy), not admin. So anonymous clients
// may connect, publish, subscribe and send direct messages freely, but reach Things only
// where a Ditto policy grants the subject "anonymous", and never the admin API.
std::shared_ptr<const Principal> BuildAnonymousPrincipal();

class SecuritySnapshot {
 public:
  // Publishes `tables` (every table non-null) as an immutable snapshot with `references`
  // holders (at least 1). The caller hands the pointer to exactly that many holders.
  static const SecuritySnapshot* Create(uint64_t version, SecurityTables tables,
                                        uint32_t references);

  SecuritySnapshot(const SecuritySnapshot&) = delete;
  SecuritySnapshot& operator=(const SecuritySnapshot&) = delete;

  // Strictly increasing across the snapshots of one control plane.
  uint64_t version() const noexcept { return version_; }

  // O(1) average, no allocation. nullptr when unknown.
  const Principal* FindPrincipal(std::string_view name) const noexcept;
  // The allow-all anonymous principal when anonymous mode is on, else nullptr.
  const Principal* anonymous() const noexcept { return tables_.anonymous.get(); }
  // The principal a request runs as: `name` when non-empty, else anonymous(). nullptr when
  // there is none (unknown name, or anonymous mode off).
  const Principal* FindPrincipalOrAnonymous(std::string_view name) const noexcept {
    return name.empty() ? anonymous() : FindPrincipal(name);
  }
  const policy::CompiledDittoPolicy* FindDittoPolicy(std::string_view id) const noexcept;
  const StoredDittoPolicy* FindStoredDittoPolicy(std::string_view id) const noexcept;
  const Thing* FindThing(std::string_view id) const noexcept;
  // The compiled policy of `thing`, nullptr when that policy does not exist (then only
  // admin may use the Thing).
  const policy::CompiledDittoPolicy* FindThingPolicy(const Thing& thing) const noexcept {
    return FindDittoPolicy(thing.policy_id);
  }

  size_t principal_count() const noexcept { return tables_.principals->size(); }
  size_t ditto_policy_count() const noexcept { return tables_.ditto_policies->size(); }
  size_t thing_count() const noexcept { return tables_.things->size(); }

  // The tables, for the control plane to derive the next snapshot (sharing what it keeps).
  const SecurityTables& tables() const noexcept { return tables_; }

  // Drops one reference; the last one deletes the snapshot. Any thread. After the call the
  // caller must not touch the snapshot or anything it handed out.
  void Release() const noexcept;

  // Outstanding references (for tests and metrics; racy by nature).
  uint32_t references() const noexcept { return references_.load(std::memory_order_relaxed); }

 private:
  SecuritySnapshot(uint64_t version, SecurityTables tables, uint32_t references);
  ~SecuritySnapshot() = default;

  const uint64_t version_;
  const SecurityTables tables_;
  mutable std::atomic<uint32_t> references_;
};

}  // namespace sb::control
