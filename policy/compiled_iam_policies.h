// IAM-style documents compiled into immutable structures that answer "may this principal do
// ACTION on RESOURCE?" (SPEC 4.2, 4.3), in two layers:
//   CompiledIamDocument  one document (or several merged) compiled once; shared by every
//                        principal that attaches it (~550 bytes for a 2-5 statement policy).
//   CompiledIamPolicies  one principal's set: 1..N shared compiled documents, pooled at
//                        decision time; 32 bytes for up to three documents. 100,000
//                        principals over 10,000 documents therefore cost the documents once
//                        (~9 MiB in all) instead of a private merged copy per principal
//                        (~176 MiB, far beyond any L3).
//
// Shape of a compiled document: two radix tries over the resource patterns, one for Deny and
// one for Allow statements, shared by all actions. Edges are literal byte runs, `?` (one
// byte) or a policy variable (its value, compared literally at decision time). A `*` ends
// the trie walk: the rest of the pattern from the `*` on is a "tail" hanging off the node,
// matched by the bounded glob of internal/glob.h. Patterns end in statement references; a
// statement applies when it names the request's action and all of its conditions hold. Each
// node records which actions have statements below it, so a walk never descends into
// subtries of other actions. Every node is reached at exactly one text position (all edges
// have a fixed width), so a walk visits each node at most once; each tail costs at most
// O(|resource| * |tail|). The worst case of a decision is therefore O(|resource| * total
// pattern bytes), reached only by deliberately pathological patterns (`*a*a*a...`); typical
// decisions touch a few nodes.
//
// Decision: explicit Deny (any matching Deny statement whose conditions hold, in any pooled
// document) beats any Allow; no match is DefaultDeny. Pooling documents at decision time
// decides exactly as compiling them into one trie (a trie match is an "any pattern" union).
//
// Ownership and threads: compiling copies everything it needs out of the documents into one
// contiguous block, so the documents may be dropped afterwards. Compiled objects are
// immutable: Decide() is const, noexcept, allocation-free and lock-free, and any number of
// threads/shards may call it concurrently. A CompiledIamDocument is move-only; share it as
// std::shared_ptr<const CompiledIamDocument>. A CompiledIamPolicies holds a reference on the
// compiled block of each of its documents (thread-safe counts that move only when a set is
// built or destroyed, never per decision) and is move-only too (the server publishes it
// inside an immutable snapshot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

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

// Resources longer than this are refused (DefaultDeny) without looking at the policies; the
// router's own limits (topic 256 bytes, client ID 128 bytes) are well below it. It also
// bounds the walk's recursion depth (one frame per `?`/variable edge taken).
inline constexpr std::size_t kMaxIamResourceBytes = 1024;

// One compiled document: everything, including the roots and the section offsets, lives in
// one 64-byte aligned heap block (typically ~8 cache lines), the trie nodes in depth-first
// order with their edges and labels beside them, so that a walk reads short runs of
// neighbouring bytes. The block is reference-counted on its own: sets that pool the
// document keep the block alive without keeping this object alive.
class CompiledIamDocument {
 public:
  static constexpr std::size_t kMaxResourceBytes = kMaxIamResourceBytes;

  // The empty document: every decision is DefaultDeny. So is a moved-from object.
  CompiledIamDocument() noexcept = default;
  CompiledIamDocument(CompiledIamDocument&& other) noexcept;
  CompiledIamDocument& operator=(CompiledIamDocument&& other) noexcept;
  CompiledIamDocument(const CompiledIamDocument&) = delete;
  CompiledIamDocument& operator=(const CompiledIamDocument&) = delete;
  ~CompiledIamDocument();

  // Control plane (allocates). Documents come from ParseIamPolicy and are therefore valid.
  static CompiledIamDocument Compile(const IamPolicyDocument& document);
  // Several documents merged into one trie (null entries skipped); decides exactly as
  // pooling them one by one.
  static CompiledIamDocument Compile(std::span<const IamPolicyDocument* const> documents);
  // Compile(document), ready to be shared by several principals.
  static std::shared_ptr<const CompiledIamDocument> CompileShared(
      const IamPolicyDocument& document);

  // Hot path: no allocation, no lock, no exception.
  Decision Decide(const IamRequest& request) const noexcept;

  // Bytes of the compiled block, including its reference-count line.
  std::size_t MemoryBytes() const noexcept;

 private:
  friend class IamTrieBuilder;
  friend class CompiledIamPolicies;

  // Holds one reference on the block; null when empty.
  const std::byte* block_ = nullptr;
};

// A non-owning copy of a set's document list (32 bytes, trivially copyable) that decides
// exactly as the set does. Valid only while that set lives; the server keeps one in each
// session, refreshed together with the snapshot that owns the set, so that a device's
// decision reads its policy documents straight from the session it just touched instead of
// first fetching its principal.
class IamPoliciesView {
 public:
  static constexpr std::size_t kInlineDocuments = 3;

  // The empty view: every decision is DefaultDeny.
  IamPoliciesView() noexcept = default;

  // Hot path: no allocation, no lock, no exception (see CompiledIamPolicies::Decide).
  Decision Decide(const IamRequest& request) const noexcept;
  bool IsAllowed(const IamRequest& request) const noexcept {
    return Decide(request) == Decision::kAllow;
  }

 private:
  friend class CompiledIamPolicies;

  std::uintptr_t inline_[kInlineDocuments] = {};  // see CompiledIamPolicies::TaggedBlock
  const std::uintptr_t* spilled_ = nullptr;       // [0]: how many more; then documents 3..
};
static_assert(sizeof(IamPoliciesView) == 32);

// The compiled IAM-style policies of one principal: shared compiled documents, pooled.
// 32 bytes: up to three documents inline, further ones in one extra array.
class alignas(32) CompiledIamPolicies {
 public:
  static constexpr std::size_t kMaxResourceBytes = kMaxIamResourceBytes;
  static constexpr std::size_t kInlineDocuments = IamPoliciesView::kInlineDocuments;

  // The empty set: every decision is DefaultDeny. So is a moved-from object.
  CompiledIamPolicies() noexcept = default;
  CompiledIamPolicies(CompiledIamPolicies&& other) noexcept;
  CompiledIamPolicies& operator=(CompiledIamPolicies&& other) noexcept;
  CompiledIamPolicies(const CompiledIamPolicies&) = delete;
  CompiledIamPolicies& operator=(const CompiledIamPolicies&) = delete;
  ~CompiledIamPolicies();

  // Control plane (allocates): a set over already compiled, shared documents; it keeps their
  // blocks alive (the shared_ptrs may be dropped afterwards). Null and empty documents and
  // repeats of the same object are skipped (pooling them changes nothing); order does not
  // affect decisions. O(n^2) pointer comparisons for n documents (the control plane
  // attaches at most 64).
  static CompiledIamPolicies FromShared(
      std::vector<std::shared_ptr<const CompiledIamDocument>> documents);

  // Control plane (allocates): compiles `documents` into one private merged document (for
  // sbctl and tests; the server shares per-document compilations through FromShared).
  // Documents come from ParseIamPolicy and are therefore valid.
  static CompiledIamPolicies Compile(std::span<const IamPolicyDocument* const> documents);
  static CompiledIamPolicies Compile(std::span<const IamPolicyDocument> documents);

  // Hot path: no allocation, no lock, no exception. Reads this object, skips unread the
  // documents whose tag says they have no pattern of the request's resource type for its
  // action (see IotActionResourcePrefix), and walks the others once each: a matching Deny
  // ends the decision at once, an Allow is remembered until every document had its say.
  Decision Decide(const IamRequest& request) const noexcept;
  bool IsAllowed(const IamRequest& request) const noexcept {
    return Decide(request) == Decision::kAllow;
  }

  // A view that decides as this set while it lives.
  IamPoliciesView view() const noexcept {
    IamPoliciesView view;
    for (std::size_t i = 0; i < kInlineDocuments; ++i) view.inline_[i] = inline_[i];
    view.spilled_ = spilled_.get();
    return view;
  }

  // Bytes of every compiled document the set decides with, shared ones counted in full
  // (what one principal's decisions may touch).
  std::size_t MemoryBytes() const noexcept;
  // Bytes this set adds on top of its shared documents: the object and its spill array.
  // Shared documents are not counted.
  std::size_t OwnMemoryBytes() const noexcept;

  // Number of distinct documents pooled.
  std::size_t document_count() const noexcept;
  // Whether `document` (this very object, not an equal one) is one of the pooled documents.
  bool References(const CompiledIamDocument& document) const noexcept;
  // Whether both sets pool the very same document objects in the same order.
  bool SharesDocumentsWith(const CompiledIamPolicies& other) const noexcept;

 private:
  // A pooled document: the address of its block in the low 48 bits and, in the top 16, the
  // (action, effect) pairs for which it has a pattern of the action's resource type, so that
  // Decide() skips it without a cache miss. Holds one block reference.
  using TaggedBlock = std::uintptr_t;

  template <typename Visit>
  bool AnyDocument(Visit&& visit) const noexcept;
  void ReleaseAll() noexcept;

  TaggedBlock inline_[kInlineDocuments] = {};  // documents 0..2; 0 = none (filled in order)
  std::unique_ptr<TaggedBlock[]> spilled_;     // [0]: how many more; then documents 3..
};

}  // namespace sb::policy
