// All IAM-style documents attached to one principal, compiled into one immutable structure
// that answers "may this principal do ACTION on RESOURCE?" (SPEC 4.2, 4.3).
//
// Shape: per action and per effect (Deny, Allow) a radix trie over the resource patterns.
// Edges are literal byte runs, `?` (one byte) or a policy variable (its value, compared
// literally at decision time). A `*` ends the trie walk: the rest of the pattern from the
// `*` on is a "tail" hanging off the node, matched by the bounded glob of internal/glob.h.
// Every node is reached at exactly one text position (all edges have a fixed width), so a
// walk visits each node at most once; each tail costs at most O(|resource| * |tail|). The
// worst case of a decision is therefore O(|resource| * total pattern bytes), reached only by
// deliberately pathological patterns (`*a*a*a...`); typical decisions touch a few nodes.
// Patterns end in statement references; a statement applies when all of its conditions hold.
//
// Decision: explicit Deny (any matching Deny statement whose conditions hold) beats any
// Allow; no match is DefaultDeny. Allows and Denies pool across every attached document.
//
// Ownership and threads: Compile() copies everything it needs out of the documents into one
// contiguous block, so the documents may be dropped afterwards. A compiled object is
// immutable: Decide() is const, noexcept, allocation-free and lock-free, and any number of
// threads/shards may call it concurrently (the server publishes it as a snapshot). The type
// is move-only; share it behind a pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "policy/iam_policy.h"

namespace sb::policy {

// One authorisation question. All views are borrowed for the duration of Decide() only.
struct IamRequest {
  IotAction action = IotAction::kConnect;
  // Short form `<type>/<name>`: "client/dev1", "topic/a/b", "topicfilter/a/+/c".
  std::string_view resource;
  // Value of ${iot:ClientId} and of the condition key iot:ClientId; empty = unavailable.
  std::string_view client_id;
  // Value of ${iot:Connection.Thing.ThingName} and its condition key; empty = unavailable.
  std::string_view thing_name;
  // Condition key iot:Topic (the topic of a direct message); nullopt = absent.
  std::optional<std::string_view> topic;
};

enum class Decision : std::uint8_t { kAllow, kExplicitDeny, kDefaultDeny };

// "allow", "explicit-deny", "default-deny".
std::string_view DecisionName(Decision decision) noexcept;

class CompiledIamPolicies {
 public:
  // Resources longer than this are refused (DefaultDeny) without looking at the policies;
  // the router's own limits (topic 256 bytes, client ID 128 bytes) are well below it. It
  // also bounds the walk's recursion depth (one frame per `?`/variable edge taken).
  static constexpr std::size_t kMaxResourceBytes = 1024;

  // The empty set: every decision is DefaultDeny. So is a moved-from object.
  CompiledIamPolicies() noexcept = default;
  CompiledIamPolicies(CompiledIamPolicies&&) noexcept = default;
  CompiledIamPolicies& operator=(CompiledIamPolicies&&) noexcept = default;
  CompiledIamPolicies(const CompiledIamPolicies&) = delete;
  CompiledIamPolicies& operator=(const CompiledIamPolicies&) = delete;
  ~CompiledIamPolicies() = default;

  // Control plane (allocates). Documents come from ParseIamPolicy and are therefore valid.
  static CompiledIamPolicies Compile(std::span<const IamPolicyDocument* const> documents);
  static CompiledIamPolicies Compile(std::span<const IamPolicyDocument> documents);

  // Hot path: no allocation, no lock, no exception.
  Decision Decide(const IamRequest& request) const noexcept;
  bool IsAllowed(const IamRequest& request) const noexcept {
    return Decide(request) == Decision::kAllow;
  }

  // Bytes of the compiled block (for metrics and capacity planning).
  std::size_t MemoryBytes() const noexcept;

 private:
  friend class IamTrieBuilder;

  // Everything, including the roots and the section offsets, lives in this one block, so the
  // object is a single pointer and a cold decision starts with one cache miss, not two.
  std::unique_ptr<std::byte[]> block_;
};

}  // namespace sb::policy
