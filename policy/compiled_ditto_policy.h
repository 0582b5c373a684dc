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
// Shape: per resource type a trie over path segments. Subjects are interned to dense IDs.
// Each node holds one row per subject that has anything at or below it: its own grant and
// revoke bits plus the deepest grant and revoke strictly below (precomputed), so a check is
// one walk down the path with a binary search per node. Each node also carries the
// precomputed answer to "which single subjects hold permission P here, unrestricted", for
// the node itself and for any path that leaves the trie below it; that is what live-message
// fan-out asks (SPEC 3.4: a session receives when one of its subjects has READ).
//
// Ownership and threads: Compile() copies what it needs into one contiguous block. The
// object is immutable; every const method is noexcept, allocation-free and lock-free and may
// be called from any number of threads. Move-only; share it behind a pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "policy/ditto_policy.h"

namespace sb::policy {

enum class DittoCheckMode : std::uint8_t { kUnrestricted, kPartial };

class CompiledDittoPolicy {
 public:
  // The empty policy: every check fails, no subject has any permission.
  CompiledDittoPolicy() noexcept = default;
  // A moved-from object is the empty policy again.
  CompiledDittoPolicy(CompiledDittoPolicy&& other) noexcept;
  CompiledDittoPolicy& operator=(CompiledDittoPolicy&& other) noexcept;
  CompiledDittoPolicy(const CompiledDittoPolicy&) = delete;
  CompiledDittoPolicy& operator=(const CompiledDittoPolicy&) = delete;
  ~CompiledDittoPolicy() = default;

  // Control plane (allocates). Cost O(nodes x subjects) for the precomputed subject lists.
  static CompiledDittoPolicy Compile(const DittoPolicyDocument& document);

  std::string_view policy_id() const noexcept { return policy_id_; }

  // True if the pooled `subjects` hold every permission in `permissions` on `resource`
  // ("message:/inbox/messages/ask") under `mode`. False for an empty permission set, an
  // invalid resource key, or subjects the policy does not know. No allocation.
  bool HasPermissions(std::span<const std::string_view> subjects, std::string_view resource,
                      DittoPermissionSet permissions, DittoCheckMode mode) const noexcept;

  // The subjects that, each on its own, hold `permission` on `resource` unrestricted
  // (Ditto's getSubjectsWithUnrestrictedPermission), as IDs for SubjectName(); sorted by ID.
  // Precomputed: a walk down the path, then a view into the block. Empty for an invalid key.
  std::span<const std::uint32_t> SubjectsWithPermission(std::string_view resource,
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

  // Compiled layout; named here so the .cc file's builder can fill it.
  struct Node;
  struct Row;
  struct SubjectNameRef;

 private:
  friend class DittoTrieBuilder;

  // FindSubject without std::optional (whose two-field return costs a store-forwarding
  // stall on every check); kNoSubject when unknown.
  static constexpr std::uint32_t kNoSubject = 0xffffffffu;
  std::uint32_t LookupSubject(std::string_view subject) const noexcept;
  const Row* FindRow(const Node& node, std::uint32_t subject) const noexcept;
  const Node* FindChild(const Node& node, std::string_view segment) const noexcept;
  void Accumulate(const std::uint32_t* subjects, std::size_t count, const DittoResourceKey& key,
                  DittoCheckMode mode, std::uint8_t* grant_depth,
                  std::uint8_t* revoke_depth) const noexcept;

  static constexpr std::uint32_t kNoNode = 0xffffffffu;

  std::unique_ptr<std::byte[]> block_;
  std::size_t block_bytes_ = 0;
  std::string_view policy_id_;
  const Node* nodes_ = nullptr;
  const Row* rows_ = nullptr;
  const std::uint32_t* subject_lists_ = nullptr;
  const SubjectNameRef* subject_names_ = nullptr;
  const std::uint32_t* subject_slots_ = nullptr;  // open addressing: ID + 1, 0 = empty
  std::size_t subject_slot_mask_ = 0;
  std::size_t subject_count_ = 0;
  std::string_view arena_;
  std::uint32_t roots_[kDittoResourceTypeCount] = {kNoNode, kNoNode, kNoNode};
};

}  // namespace sb::policy
