#include "policy/compiled_ditto_policy.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/internal/block_layout.h"
#include "policy/internal/bytes.h"

namespace sb::policy {

// Depths are 1 for the root ("/") and +1 per segment; 0 means "none". Parsing caps paths at
// DittoPolicyLimits::max_path_segments, far below 255.
struct CompiledDittoPolicy::Row {
  std::uint32_t subject;
  DittoPermissionSet grant;   // granted at this node
  DittoPermissionSet revoke;  // revoked at this node
  std::uint8_t below_grant[kDittoPermissionCount];   // deepest grant strictly below
  std::uint8_t below_revoke[kDittoPermissionCount];  // deepest revoke strictly below
};

// Subject lists: [0, kDittoPermissionCount) answer for the node itself ("exact"),
// [kDittoPermissionCount, 2 * kDittoPermissionCount) for paths that leave the trie below it.
inline constexpr std::size_t kListsPerNode = 2 * kDittoPermissionCount;

struct CompiledDittoPolicy::Node {
  std::uint64_t segment_prefix;  // internal::LoadPrefix(segment): most segments fit whole
  std::uint32_t segment_offset;
  std::uint32_t segment_length;
  std::uint32_t first_child;  // children are contiguous and sorted by segment bytes
  std::uint32_t child_count;
  std::uint32_t first_row;  // rows sorted by subject
  std::uint32_t row_count;
  std::uint32_t list_offset[kListsPerNode];
  std::uint32_t list_length[kListsPerNode];
};

struct CompiledDittoPolicy::SubjectNameRef {
  std::uint32_t offset;
  std::uint32_t length;
};

namespace {

// Word-at-a-time hash (subject lookups run on every check). Not keyed: the table only holds
// names the policy's author chose, so colliding lookups cannot degrade other policies.
std::uint64_t HashSubject(std::string_view text) noexcept {
  constexpr std::uint64_t kMultiplier = 0xbf58476d1ce4e5b9ull;
  std::uint64_t hash = 0x9e3779b97f4a7c15ull ^ text.size();
  const char* p = text.data();
  std::size_t n = text.size();
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    hash = (hash ^ word) * kMultiplier;
    hash ^= hash >> 31;
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  hash = (hash ^ tail) * kMultiplier;
  hash ^= hash >> 29;
  return hash;
}

}  // namespace

class DittoTrieBuilder {
 public:
  CompiledDittoPolicy Build(const DittoPolicyDocument& document) {
    for (const DittoPolicyEntry& entry : document.entries) AddEntry(entry);
    for (std::uint32_t& root : roots_) {
      if (root != kNone) ComputeBelow(root);
    }
    CompiledDittoPolicy out;
    const auto policy_id_offset = static_cast<std::uint32_t>(arena_.size());
    arena_ += document.policy_id;
    for (std::size_t type = 0; type < kDittoResourceTypeCount; ++type) {
      if (roots_[type] != kNone) out.roots_[type] = EmitTrie(roots_[type]);
    }
    Layout(&out, policy_id_offset, document.policy_id.size());
    return out;
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  struct Bits {
    DittoPermissionSet grant = 0;
    DittoPermissionSet revoke = 0;
  };
  struct Below {
    std::uint8_t grant[kDittoPermissionCount] = {};
    std::uint8_t revoke[kDittoPermissionCount] = {};
  };
  struct BuildNode {
    std::string segment;
    std::uint8_t depth = 1;
    std::map<std::string, std::uint32_t> children;  // byte order = string_view order
    std::map<std::uint32_t, Bits> own;
    std::map<std::uint32_t, Below> below;
  };
  // Per subject, the deepest grant/revoke at or above the current node during EmitTrie.
  struct Weights {
    std::uint8_t grant[kDittoPermissionCount] = {};
    std::uint8_t revoke[kDittoPermissionCount] = {};
  };

  std::uint32_t Intern(const std::string& subject) {
    auto [it, inserted] =
        subject_ids_.try_emplace(subject, static_cast<std::uint32_t>(subject_names_.size()));
    if (inserted) subject_names_.push_back(subject);
    return it->second;
  }

  void AddEntry(const DittoPolicyEntry& entry) {
    if (entry.subjects.empty()) return;
    std::vector<std::uint32_t> subjects;
    subjects.reserve(entry.subjects.size());
    for (const DittoSubject& subject : entry.subjects) subjects.push_back(Intern(subject.id));
    for (const DittoResourceGrant& resource : entry.resources) {
      std::uint32_t& root = roots_[static_cast<std::size_t>(resource.type)];
      if (root == kNone) {
        root = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();
      }
      std::uint32_t node = root;
      DittoPathSegments segments(resource.path);
      std::string_view segment;
      while (segments.Next(&segment)) {
        auto found = nodes_[node].children.find(std::string(segment));
        if (found != nodes_[node].children.end()) {
          node = found->second;
          continue;
        }
        const auto child = static_cast<std::uint32_t>(nodes_.size());
        const std::uint8_t depth = static_cast<std::uint8_t>(nodes_[node].depth + 1);
        nodes_.emplace_back();  // invalidates references into nodes_
        nodes_[child].segment = std::string(segment);
        nodes_[child].depth = depth;
        nodes_[node].children.emplace(std::string(segment), child);
        node = child;
      }
      // Entries are pooled per subject: a subject in two entries gets the union.
      for (const std::uint32_t subject : subjects) {
        Bits& bits = nodes_[node].own[subject];
        bits.grant |= resource.grant;
        bits.revoke |= resource.revoke;
      }
    }
  }

  // Post-order: the deepest grant/revoke strictly below each node, per subject.
  void ComputeBelow(std::uint32_t index) {
    std::vector<std::uint32_t> children;
    for (const auto& [segment, child] : nodes_[index].children) children.push_back(child);
    for (const std::uint32_t child : children) {
      ComputeBelow(child);
      const BuildNode& c = nodes_[child];
      std::map<std::uint32_t, Below>& below = nodes_[index].below;
      for (const auto& [subject, bits] : c.own) {
        Below& b = below[subject];
        for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
          if (bits.grant & (1u << p)) b.grant[p] = std::max(b.grant[p], c.depth);
          if (bits.revoke & (1u << p)) b.revoke[p] = std::max(b.revoke[p], c.depth);
        }
      }
      for (const auto& [subject, child_below] : c.below) {
        Below& b = below[subject];
        for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
          b.grant[p] = std::max(b.grant[p], child_below.grant[p]);
          b.revoke[p] = std::max(b.revoke[p], child_below.revoke[p]);
        }
      }
    }
  }

  // Appends `list` unless it equals the list at (offset, length) already emitted; returns the
  // offset used. Sibling/parent lists are usually identical, so this keeps the block small.
  std::uint32_t EmitList(const std::vector<std::uint32_t>& list, std::uint32_t reuse_offset,
                         std::uint32_t reuse_length) {
    if (reuse_length == list.size() && reuse_offset != kNone &&
        std::equal(list.begin(), list.end(), subject_lists_.begin() + reuse_offset)) {
      return reuse_offset;
    }
    if (list.empty()) return 0;
    const auto offset = static_cast<std::uint32_t>(subject_lists_.size());
    subject_lists_.insert(subject_lists_.end(), list.begin(), list.end());
    return offset;
  }

  // Breadth-first so that every node's children are contiguous; returns the root's index.
  std::uint32_t EmitTrie(std::uint32_t root) {
    struct Pending {
      std::uint32_t build;
      std::uint32_t out;
      std::uint32_t parent_out;  // kNone for the root
      std::vector<Weights> weights;  // at or above the parent, per subject
    };
    const auto root_out = static_cast<std::uint32_t>(out_nodes_.size());
    out_nodes_.emplace_back();
    std::vector<Pending> queue;
    queue.push_back({root, root_out, kNone, std::vector<Weights>(subject_names_.size())});
    for (std::size_t head = 0; head < queue.size(); ++head) {
      Pending pending = std::move(queue[head]);
      const BuildNode& build = nodes_[pending.build];
      CompiledDittoPolicy::Node node{};
      node.segment_offset = static_cast<std::uint32_t>(arena_.size());
      node.segment_length = static_cast<std::uint32_t>(build.segment.size());
      node.segment_prefix = internal::LoadPrefix(build.segment);
      arena_ += build.segment;

      // Rows: every subject with something at or below this node.
      node.first_row = static_cast<std::uint32_t>(out_rows_.size());
      std::map<std::uint32_t, CompiledDittoPolicy::Row> rows;
      for (const auto& [subject, bits] : build.own) {
        CompiledDittoPolicy::Row& row = rows[subject];
        row.subject = subject;
        row.grant = bits.grant;
        row.revoke = bits.revoke;
      }
      for (const auto& [subject, below] : build.below) {
        CompiledDittoPolicy::Row& row = rows[subject];
        row.subject = subject;
        for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
          row.below_grant[p] = below.grant[p];
          row.below_revoke[p] = below.revoke[p];
        }
      }
      for (const auto& [subject, row] : rows) out_rows_.push_back(row);
      node.row_count = static_cast<std::uint32_t>(rows.size());

      // Per-subject answers (each subject evaluated alone).
      std::vector<Weights>& weights = pending.weights;
      for (const auto& [subject, bits] : build.own) {
        for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
          if (bits.grant & (1u << p)) weights[subject].grant[p] = build.depth;
          if (bits.revoke & (1u << p)) weights[subject].revoke[p] = build.depth;
        }
      }
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        std::vector<std::uint32_t> exact;
        std::vector<std::uint32_t> inherited;
        for (std::uint32_t subject = 0; subject < weights.size(); ++subject) {
          const Weights& w = weights[subject];
          if (w.grant[p] == 0 || w.grant[p] <= w.revoke[p]) continue;
          inherited.push_back(subject);
          auto below = build.below.find(subject);
          if (below == build.below.end() || below->second.revoke[p] < w.grant[p]) {
            exact.push_back(subject);
          }
        }
        const std::size_t inherited_slot = kDittoPermissionCount + p;
        std::uint32_t parent_offset = kNone;
        std::uint32_t parent_length = 0;
        if (pending.parent_out != kNone) {
          parent_offset = out_nodes_[pending.parent_out].list_offset[inherited_slot];
          parent_length = out_nodes_[pending.parent_out].list_length[inherited_slot];
        }
        node.list_offset[inherited_slot] = EmitList(inherited, parent_offset, parent_length);
        node.list_length[inherited_slot] = static_cast<std::uint32_t>(inherited.size());
        node.list_offset[p] = EmitList(exact, node.list_offset[inherited_slot],
                                       node.list_length[inherited_slot]);
        node.list_length[p] = static_cast<std::uint32_t>(exact.size());
      }

      node.first_child = static_cast<std::uint32_t>(out_nodes_.size());
      node.child_count = static_cast<std::uint32_t>(build.children.size());
      out_nodes_[pending.out] = node;
      for (const auto& [segment, child] : build.children) {
        const auto child_out = static_cast<std::uint32_t>(out_nodes_.size());
        out_nodes_.emplace_back();
        queue.push_back({child, child_out, pending.out, weights});
      }
    }
    return root_out;
  }

  void Layout(CompiledDittoPolicy* out, std::uint32_t policy_id_offset,
              std::size_t policy_id_length) {
    // Subject lookup: open addressing with linear probing, load factor <= 1/2.
    std::size_t slots = 2;
    while (slots < 2 * subject_names_.size()) slots *= 2;
    std::vector<std::uint32_t> slot_table(slots, 0);
    std::vector<CompiledDittoPolicy::SubjectNameRef> names;
    for (std::uint32_t id = 0; id < subject_names_.size(); ++id) {
      const std::string& name = subject_names_[id];
      names.push_back({static_cast<std::uint32_t>(arena_.size()),
                       static_cast<std::uint32_t>(name.size())});
      arena_ += name;
      std::size_t slot = HashSubject(name) & (slots - 1);
      while (slot_table[slot] != 0) slot = (slot + 1) & (slots - 1);
      slot_table[slot] = id + 1;
    }

    using internal::BlockLayout;
    BlockLayout layout;
    const std::size_t nodes = layout.Reserve<CompiledDittoPolicy::Node>(out_nodes_.size());
    const std::size_t rows = layout.Reserve<CompiledDittoPolicy::Row>(out_rows_.size());
    const std::size_t lists = layout.Reserve<std::uint32_t>(subject_lists_.size());
    const std::size_t slot_offset = layout.Reserve<std::uint32_t>(slot_table.size());
    const std::size_t name_offset = layout.Reserve<CompiledDittoPolicy::SubjectNameRef>(names.size());
    const std::size_t arena = layout.Reserve<char>(arena_.size());
    out->block_ = layout.Allocate();
    out->block_bytes_ = layout.size();
    std::byte* block = out->block_.get();
    out->nodes_ = BlockLayout::Place(block, nodes, out_nodes_);
    out->rows_ = BlockLayout::Place(block, rows, out_rows_);
    out->subject_lists_ = BlockLayout::Place(block, lists, subject_lists_);
    out->subject_slots_ = BlockLayout::Place(block, slot_offset, slot_table);
    out->subject_slot_mask_ = slots - 1;
    out->subject_names_ = BlockLayout::Place(block, name_offset, names);
    out->subject_count_ = subject_names_.size();
    out->arena_ = BlockLayout::PlaceBytes(block, arena, arena_);
    out->policy_id_ = out->arena_.substr(policy_id_offset, policy_id_length);
  }

  std::vector<BuildNode> nodes_;
  std::uint32_t roots_[kDittoResourceTypeCount] = {kNone, kNone, kNone};
  std::unordered_map<std::string, std::uint32_t> subject_ids_;
  std::vector<std::string> subject_names_;

  std::vector<CompiledDittoPolicy::Node> out_nodes_;
  std::vector<CompiledDittoPolicy::Row> out_rows_;
  std::vector<std::uint32_t> subject_lists_;
  std::string arena_;
};

CompiledDittoPolicy::CompiledDittoPolicy(CompiledDittoPolicy&& other) noexcept {
  *this = std::move(other);
}

CompiledDittoPolicy& CompiledDittoPolicy::operator=(CompiledDittoPolicy&& other) noexcept {
  if (this == &other) return *this;
  block_ = std::move(other.block_);
  block_bytes_ = std::exchange(other.block_bytes_, 0);
  policy_id_ = std::exchange(other.policy_id_, std::string_view());
  nodes_ = std::exchange(other.nodes_, nullptr);
  rows_ = std::exchange(other.rows_, nullptr);
  subject_lists_ = std::exchange(other.subject_lists_, nullptr);
  subject_names_ = std::exchange(other.subject_names_, nullptr);
  subject_slots_ = std::exchange(other.subject_slots_, nullptr);
  subject_slot_mask_ = std::exchange(other.subject_slot_mask_, 0);
  subject_count_ = std::exchange(other.subject_count_, 0);
  arena_ = std::exchange(other.arena_, std::string_view());
  for (std::size_t t = 0; t < kDittoResourceTypeCount; ++t) {
    roots_[t] = std::exchange(other.roots_[t], kNoNode);
  }
  return *this;
}

CompiledDittoPolicy CompiledDittoPolicy::Compile(const DittoPolicyDocument& document) {
  return DittoTrieBuilder().Build(document);
}

std::string_view CompiledDittoPolicy::SubjectName(std::uint32_t id) const noexcept {
  if (id >= subject_count_) return {};
  return arena_.substr(subject_names_[id].offset, subject_names_[id].length);
}

std::optional<std::uint32_t> CompiledDittoPolicy::FindSubject(
    std::string_view subject) const noexcept {
  const std::uint32_t id = LookupSubject(subject);
  if (id == kNoSubject) return std::nullopt;
  return id;
}

std::uint32_t CompiledDittoPolicy::LookupSubject(std::string_view subject) const noexcept {
  if (subject_count_ == 0) return kNoSubject;
  std::size_t slot = HashSubject(subject) & subject_slot_mask_;
  // Load factor <= 1/2 guarantees an empty slot, so the probe terminates.
  for (;;) {
    const std::uint32_t entry = subject_slots_[slot];
    if (entry == 0) return kNoSubject;
    if (internal::BytesEqual(SubjectName(entry - 1), subject)) return entry - 1;
    slot = (slot + 1) & subject_slot_mask_;
  }
}

const CompiledDittoPolicy::Row* CompiledDittoPolicy::FindRow(
    const Node& node, std::uint32_t subject) const noexcept {
  const Row* first = rows_ + node.first_row;
  const Row* last = first + node.row_count;
  const Row* found = std::lower_bound(
      first, last, subject, [](const Row& row, std::uint32_t id) { return row.subject < id; });
  return (found != last && found->subject == subject) ? found : nullptr;
}

const CompiledDittoPolicy::Node* CompiledDittoPolicy::FindChild(
    const Node& node, std::string_view segment) const noexcept {
  const Node* first = nodes_ + node.first_child;
  const Node* last = first + node.child_count;
  const auto matches = [&](const Node& child) {
    return child.segment_length == segment.size() &&
           (segment.size() <= 8 ||
            internal::BytesEqual(arena_.substr(child.segment_offset, child.segment_length),
                                 segment));
  };
  if (node.child_count <= 8) {
    // Few children (the common case): compare lengths and 8-byte prefixes only.
    const std::uint64_t prefix = internal::LoadPrefix(segment);
    for (const Node* child = first; child != last; ++child) {
      if (child->segment_prefix == prefix && matches(*child)) return child;
    }
    return nullptr;
  }
  const Node* found =
      std::lower_bound(first, last, segment, [this](const Node& child, std::string_view key) {
        return arena_.substr(child.segment_offset, child.segment_length) < key;
      });
  return (found != last && matches(*found)) ? found : nullptr;
}

void CompiledDittoPolicy::Accumulate(const std::uint32_t* subjects, std::size_t count,
                                     const DittoResourceKey& key, DittoCheckMode mode,
                                     std::uint8_t* grant_depth,
                                     std::uint8_t* revoke_depth) const noexcept {
  const Node* node = nodes_ + roots_[static_cast<std::size_t>(key.type)];
  std::uint8_t depth = 1;
  DittoPathSegments segments(key.path);
  std::string_view segment;
  bool exact = true;
  for (;;) {
    // At or above the checked path: own grants and revokes, the deeper overwriting.
    for (std::size_t i = 0; i < count; ++i) {
      const Row* row = FindRow(*node, subjects[i]);
      if (row == nullptr) continue;
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        if (row->grant & (1u << p)) grant_depth[p] = std::max(grant_depth[p], depth);
        if (row->revoke & (1u << p)) revoke_depth[p] = std::max(revoke_depth[p], depth);
      }
    }
    if (!segments.Next(&segment)) break;
    const Node* child = FindChild(*node, segment);
    if (child == nullptr) {
      exact = false;  // nothing is granted or revoked below this point
      break;
    }
    node = child;
    ++depth;
  }
  if (!exact) return;
  // Below the checked path: revokes restrict an unrestricted check, grants satisfy a
  // partial one.
  for (std::size_t i = 0; i < count; ++i) {
    const Row* row = FindRow(*node, subjects[i]);
    if (row == nullptr) continue;
    for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
      if (mode == DittoCheckMode::kUnrestricted) {
        revoke_depth[p] = std::max(revoke_depth[p], row->below_revoke[p]);
      } else {
        grant_depth[p] = std::max(grant_depth[p], row->below_grant[p]);
      }
    }
  }
}

bool CompiledDittoPolicy::HasPermissions(std::span<const std::string_view> subjects,
                                         std::string_view resource,
                                         DittoPermissionSet permissions,
                                         DittoCheckMode mode) const noexcept {
  constexpr DittoPermissionSet kKnown = kReadPermission | kWritePermission;
  if (permissions == 0 || (permissions & ~kKnown) != 0) return false;
  const std::optional<DittoResourceKey> key = ParseDittoResourceKey(resource);
  if (!key || roots_[static_cast<std::size_t>(key->type)] == kNoNode) return false;

  std::uint8_t grant_depth[kDittoPermissionCount] = {};
  std::uint8_t revoke_depth[kDittoPermissionCount] = {};
  // Pooling takes maxima, so callers with many subjects are handled batch by batch.
  constexpr std::size_t kBatch = 16;
  std::uint32_t batch[kBatch];
  std::size_t batched = 0;
  bool known_subject = false;
  for (const std::string_view subject : subjects) {
    const std::uint32_t id = LookupSubject(subject);
    if (id == kNoSubject) continue;
    known_subject = true;
    batch[batched++] = id;
    if (batched == kBatch) {
      Accumulate(batch, batched, *key, mode, grant_depth, revoke_depth);
      batched = 0;
    }
  }
  if (!known_subject) return false;
  if (batched != 0) Accumulate(batch, batched, *key, mode, grant_depth, revoke_depth);

  for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
    if ((permissions & (1u << p)) == 0) continue;
    // The deepest grant wins unless a revoke is at least as deep.
    if (grant_depth[p] == 0 || grant_depth[p] <= revoke_depth[p]) return false;
  }
  return true;
}

std::span<const std::uint32_t> CompiledDittoPolicy::SubjectsWithPermission(
    std::string_view resource, DittoPermission permission) const noexcept {
  const auto p = static_cast<std::size_t>(permission);
  const std::optional<DittoResourceKey> key = ParseDittoResourceKey(resource);
  if (p >= kDittoPermissionCount || !key) return {};
  const std::uint32_t root = roots_[static_cast<std::size_t>(key->type)];
  if (root == kNoNode) return {};
  const Node* node = nodes_ + root;
  DittoPathSegments segments(key->path);
  std::string_view segment;
  std::size_t slot = p;
  while (segments.Next(&segment)) {
    const Node* child = FindChild(*node, segment);
    if (child == nullptr) {
      slot = kDittoPermissionCount + p;
      break;
    }
    node = child;
  }
  return {subject_lists_ + node->list_offset[slot], node->list_length[slot]};
}

}  // namespace sb::policy
