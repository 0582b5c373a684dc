// One Ditto policy compiled for decisions (SPEC 4.1, 4.3).
//
// Evaluation model (Ditto's tree-based enforcer): every grant and revoke is weighted by the
// depth of its resource; for each permission the deepest grant wins unless a revoke is at
// least as deep; only resources of the checked type count; the entries of all the caller's
// subjects are pooled. Two checks:
//   kUnrestricted  grants at or above the path; revokes at, above or below it
//                  (Ditto hasUnrestrictedPermissions). Use it to authorise an action.
//   kPartial       grants at, above or below the path; revokes at or above it
//                  (Ditto hasPartialPermissions): "may see some of it".
// With several permissions, every one must hold.
//
// Shape: per resource type a trie over path segments. Pooling happens per policy entry, so
// each node carries bitsets over the entries (one 64-bit word for up to 64 entries): which
// entries grant / revoke each permission here, and which grant / revoke it anywhere strictly
// below. "Below" needs no depth: anything below the checked path is deeper than anything at
// or above it, so a revoke below always beats an unrestricted grant and a grant below always
// satisfies a partial check. A caller's subjects become one entry bitset (subjects are
// interned; subjects with the same entries share a class), and a check is one walk down the
// path with a few AND operations per node. Memory is O(path segments x entries / 8) bytes,
// i.e. bounded by the document size whatever the number of subjects: each bitset takes as
// few bytes as the entries need (one byte for up to 8 entries).
//
// Fan-out (SPEC 3.4: a session receives a live message when one of its subjects has READ):
// SubjectsWithPermission / ForEachSubjectWithPermission evaluate every subject class over
// the same walk (Ditto's getSubjectsWithUnrestrictedPermission, unrestricted): for policies
// of up to 8 entries and 64 classes, eight classes per word operation up front; otherwise
// one class at a time while iterating.
//
// Ownership and threads: Compile() copies what it needs into one contiguous block. The
// object is immutable; every const method is noexcept, allocation-free and lock-free and may
// be called from any number of threads. Move-only; share it behind a pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "policy/ditto_policy.h"
#include "policy/result.h"

namespace sb::policy {

enum class DittoCheckMode : std::uint8_t { kUnrestricted, kPartial };

class CompiledDittoPolicy;

namespace internal {
// The trie nodes along one resource path, root first (depth of nodes[i] is i + 1).
struct DittoPath {
  static constexpr std::size_t kMaxNodes = 65;  // CompiledDittoPolicy::kMaxPathSegments + 1
  std::uint32_t nodes[kMaxNodes];
  std::size_t length = 0;
  bool exact = false;  // false: the path leaves the trie below the last node
};
}  // namespace internal

// The subjects that, each on its own, hold one permission on one resource: a lazy,
// allocation-free forward range of subject IDs (see CompiledDittoPolicy::SubjectName),
// evaluated while iterating. Borrows the policy; keep the policy alive while iterating.
class DittoSubjectRange {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::uint32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::uint32_t*;
    using reference = std::uint32_t;

    Iterator() noexcept = default;
    std::uint32_t operator*() const noexcept;
    Iterator& operator++() noexcept;
    Iterator operator++(int) noexcept {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator& other) const noexcept {
      return subject_class_ == other.subject_class_ && member_ == other.member_;
    }

   private:
    friend class DittoSubjectRange;
    Iterator(const DittoSubjectRange* range, std::size_t subject_class) noexcept;
    void SkipDeniedClasses() noexcept;

    const DittoSubjectRange* range_ = nullptr;
    std::size_t subject_class_ = 0;
    std::uint32_t member_ = 0;
  };

  Iterator begin() const noexcept;
  Iterator end() const noexcept;
  bool empty() const noexcept { return begin() == end(); }

 private:
  friend class CompiledDittoPolicy;
  DittoSubjectRange() noexcept = default;

  const CompiledDittoPolicy* policy_ = nullptr;
  internal::DittoPath path_;
  DittoPermission permission_ = DittoPermission::kRead;
  // Set when every class was evaluated up front (see ClassesWithPermission): bit c = class c
  // holds the permission. Otherwise classes are evaluated one by one while iterating.
  bool classes_evaluated_ = false;
  std::uint64_t allowed_classes_ = 0;
};

class CompiledDittoPolicy {
 public:
  // Entries that name at least one subject (ParseDittoPolicy's default limit is 256); a
  // caller's entry set lives on the stack as kMaxEntries bits.
  static constexpr std::size_t kMaxEntries = 1024;
  // Path segments of a policy resource (ParseDittoPolicy's default limit is 32).
  static constexpr std::size_t kMaxPathSegments = 64;

  // The empty policy: every check fails, no subject has any permission.
  CompiledDittoPolicy() noexcept = default;
  // A moved-from object is the empty policy again.
  CompiledDittoPolicy(CompiledDittoPolicy&& other) noexcept;
  CompiledDittoPolicy& operator=(CompiledDittoPolicy&& other) noexcept;
  CompiledDittoPolicy(const CompiledDittoPolicy&) = delete;
  CompiledDittoPolicy& operator=(const CompiledDittoPolicy&) = delete;
  ~CompiledDittoPolicy() = default;

  // Control plane (allocates). Fails (policies:policy.invalid) only for documents beyond
  // kMaxEntries entries with subjects or kMaxPathSegments levels, which ParseDittoPolicy
  // rejects with its default limits.
  static Result<CompiledDittoPolicy> TryCompile(const DittoPolicyDocument& document);
  // As TryCompile, but a document it would reject compiles to the empty policy (fails
  // closed: denies everything).
  static CompiledDittoPolicy Compile(const DittoPolicyDocument& document);

  std::string_view policy_id() const noexcept { return policy_id_; }

  // True if the pooled `subjects` hold every permission in `permissions` on `resource`
  // ("message:/inbox/messages/ask") under `mode`. False for an empty permission set, an
  // invalid resource key, or subjects the policy does not know. No allocation.
  bool HasPermissions(std::span<const std::string_view> subjects, std::string_view resource,
                      DittoPermissionSet permissions, DittoCheckMode mode) const noexcept;

  // The subjects that, each on its own, hold `permission` on `resource` unrestricted
  // (Ditto's getSubjectsWithUnrestrictedPermission). Empty for an invalid key. Cost: one
  // walk, then O(path length) per eight subject classes (one-byte lanes, at most 64
  // classes) or per class. No allocation.
  DittoSubjectRange SubjectsWithPermission(std::string_view resource,
                                           DittoPermission permission) const noexcept;

  // Calls `callback(std::string_view subject)` for each subject of SubjectsWithPermission.
  template <typename Callback>
  void ForEachSubjectWithPermission(std::string_view resource, DittoPermission permission,
                                    Callback&& callback) const {
    for (const std::uint32_t id : SubjectsWithPermission(resource, permission)) {
      callback(SubjectName(id));
    }
  }

  std::size_t subject_count() const noexcept { return subject_count_; }
  // Precondition: id < subject_count().
  std::string_view SubjectName(std::uint32_t id) const noexcept;
  // The interned ID of `subject`, if any entry names it.
  std::optional<std::uint32_t> FindSubject(std::string_view subject) const noexcept;

  // Bytes of the compiled block.
  std::size_t MemoryBytes() const noexcept { return block_bytes_; }

 private:
  friend class DittoTrieBuilder;
  friend class DittoSubjectRange;
  struct Node;
  struct SubjectRef;

  static constexpr std::uint32_t kNoSubject = 0xffffffffu;
  static constexpr std::uint32_t kNoNode = 0xffffffffu;
  static constexpr std::size_t kMaxWords = (kMaxEntries + 63) / 64;
  static_assert(internal::DittoPath::kMaxNodes == kMaxPathSegments + 1);

  // A check on a policy that is not cached is a chain of dependent misses (subject slot,
  // subject, class bits, each trie level and its bits); at 50-200 ns per miss
  // (policy_benchmark BM_DependentLoad) the chain is the cost. Requesting the start of the
  // block up front makes the fetches overlap (perf/ab_microbench against the build without
  // it, 8 pairs: 0.83x the ns cold, pairs 0.62-1.00x; 1.03x cached). 1 and 2 KiB were no
  // faster cold and cost 5-8 % cached. With one-byte lanes 512 B is most of a typical block
  // (policy_benchmark's: 620-700 B).
  static constexpr std::size_t kPrefetchBytes = 512;

  // FindSubject without std::optional (a two-field return costs a store-forwarding stall on
  // every check); kNoSubject when unknown.
  std::uint32_t LookupSubject(std::string_view subject) const noexcept;
  const Node* FindChild(const Node& node, std::string_view segment) const noexcept;
  bool WalkPath(const DittoResourceKey& key, internal::DittoPath* path) const noexcept;
  // The lane of bitset (kind, permission) of node `node` (see compiled_ditto_policy.cc).
  const std::byte* NodeBitset(std::uint32_t node, std::size_t kind,
                              std::size_t permission) const noexcept;
  // entries |= the entry set of `subject_class` (words_ words).
  void AddClassEntries(std::uint32_t subject_class, std::uint64_t* entries) const noexcept;
  bool Evaluate(const internal::DittoPath& path, const std::uint64_t* entries,
                DittoPermissionSet permissions, DittoCheckMode mode) const noexcept;
  // Policies with one-byte lanes and at most kMaxClassesEvaluatedAtOnce classes: the
  // classes that hold `permission` unrestricted on `path`, as a bitmask, eight classes per
  // word operation.
  static constexpr std::size_t kMaxClassesEvaluatedAtOnce = 64;
  std::uint64_t ClassesWithPermission(const internal::DittoPath& path,
                                      DittoPermission permission) const noexcept;

  std::unique_ptr<std::byte[]> block_;
  std::size_t block_bytes_ = 0;
  std::string_view policy_id_;
  std::string_view arena_;
  const Node* nodes_ = nullptr;
  const std::byte* node_bits_ = nullptr;  // per node: 8 bitsets, one lane each
  const std::uint32_t* subject_slots_ = nullptr;  // open addressing: ID + 1, 0 = empty
  const SubjectRef* subjects_ = nullptr;
  const std::byte* class_bits_ = nullptr;  // per class: one lane
  const std::uint32_t* class_members_ = nullptr;  // subject IDs grouped by class
  const std::uint32_t* class_first_member_ = nullptr;  // class_count_ + 1 offsets
  std::size_t subject_slot_mask_ = 0;
  std::size_t subject_count_ = 0;
  std::size_t class_count_ = 0;
  std::size_t words_ = 0;  // 64-bit words per entry set (1..kMaxWords)
  std::size_t lane_bytes_ = 0;  // bytes per stored bitset: 1, 2, 4 or 8 * words_
  std::uint64_t lane_mask_ = 0;  // the lane's bits of its first word
  std::uint32_t roots_[kDittoResourceTypeCount] = {kNoNode, kNoNode, kNoNode};
};

}  // namespace sb::policy
