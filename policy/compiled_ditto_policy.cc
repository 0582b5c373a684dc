#include "policy/compiled_ditto_policy.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/internal/block_layout.h"
#include "policy/internal/bytes.h"

namespace sb::policy {

// Entry bitsets are stored in as few bytes as the policy's entries need, its "lane":
// 1, 2 or 4 bytes for up to 8, 16 or 32 entries, else words_ 64-bit words. Most policies have
// a handful of entries, so a node's 8 bitsets usually fit one 8-byte word instead of eight,
// and a compiled policy shrinks (policy_benchmark: 1.9x), so more of them stay cached. At
// node_bits_ + (index * kBitsetsPerNode + BitsetIndex(kind, permission)) * lane:
enum BitsetKind : std::size_t { kGrantHere = 0, kRevokeHere = 1, kGrantBelow = 2, kRevokeBelow = 3 };
inline constexpr std::size_t kBitsetsPerNode = 4 * kDittoPermissionCount;
// Position of bitset (kind, permission) among a node's kBitsetsPerNode.
constexpr std::size_t BitsetIndex(std::size_t kind, std::size_t permission) noexcept {
  return kind * kDittoPermissionCount + permission;
}
// A lane is read as whole 64-bit words, so a narrow one reads into the lanes after it: each
// bitset section ends with this many zero bytes to keep those reads inside the block.
inline constexpr std::size_t kLoadPadding = sizeof(std::uint64_t) - 1;
static_assert(std::endian::native == std::endian::little,
              "a narrow lane is the low bytes of its 64-bit word");

struct CompiledDittoPolicy::Node {
  std::uint64_t segment_prefix;  // internal::LoadPrefix(segment): most segments fit whole
  std::uint32_t segment_offset;  // in the arena
  std::uint32_t segment_length;
  std::uint32_t first_child;  // children are contiguous and sorted by segment bytes
  std::uint32_t child_count;
};

struct CompiledDittoPolicy::SubjectRef {
  std::uint32_t name_offset;  // in the arena
  std::uint32_t name_length;
  std::uint32_t subject_class;  // subjects with the same entries share a class
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
  // The last 1..7 bytes: re-read the final word when there is one (overlap is fine for a
  // hash), else assemble them in a register.
  std::uint64_t tail = 0;
  if (n != 0 && text.size() >= 8) {
    std::memcpy(&tail, text.data() + text.size() - 8, 8);
  } else if (n != 0) {
    tail = internal::LoadPrefix(std::string_view(p, n));
  }
  hash = (hash ^ tail) * kMultiplier;
  hash ^= hash >> 29;
  return hash;
}

// Word `w` of the bitset whose lane starts at `lane`. For a lane narrower than 8 bytes the
// high bytes belong to the following lanes: AND it with an entry set (which has no bits
// there) or mask it.
inline std::uint64_t LoadWord(const std::byte* lane, std::size_t w) noexcept {
  std::uint64_t word;
  std::memcpy(&word, lane + w * sizeof(word), sizeof(word));
  return word;
}

bool Intersects(const std::byte* lane, const std::uint64_t* entries, std::size_t words) noexcept {
  std::uint64_t any = 0;
  for (std::size_t w = 0; w < words; ++w) any |= LoadWord(lane, w) & entries[w];
  return any != 0;
}

// One-byte lanes (up to 8 entries): node `node`'s eight bitsets as one word, bitset
// BitsetIndex(kind, permission) in byte ByteLane reads.
static_assert(kBitsetsPerNode == sizeof(std::uint64_t));
inline std::uint64_t NodeByteLanes(const std::byte* node_bits, std::uint32_t node) noexcept {
  return LoadWord(node_bits + node * kBitsetsPerNode, 0);
}

inline std::uint64_t ByteLane(std::uint64_t node_lanes, std::size_t kind,
                              std::size_t permission) noexcept {
  return (node_lanes >> (8 * BitsetIndex(kind, permission))) & 0xff;
}

// Ditto's rule for the pooled entries on `path`, per permission in `permissions`: the
// deepest grant at or above the path wins unless a revoke is at least as deep; on an exact
// path, anything strictly below is deeper still, so a revoke there defeats an unrestricted
// check and a grant there satisfies a partial one. `named(node, kind, permission)` says
// whether that bitset of the node names one of the entries.
template <typename Named>
bool EvaluatePath(const internal::DittoPath& path, DittoPermissionSet permissions,
                  DittoCheckMode mode, Named&& named) noexcept {
  for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
    if ((permissions & (1u << p)) == 0) continue;
    // Deepest grant and revoke at or above the path (depth = index + 1; 0 = none).
    std::size_t granted = 0;
    std::size_t revoked = 0;
    for (std::size_t i = 0; i < path.length; ++i) {
      if (named(path.nodes[i], kGrantHere, p)) granted = i + 1;
      if (named(path.nodes[i], kRevokeHere, p)) revoked = i + 1;
    }
    if (path.exact) {
      const std::uint32_t last = path.nodes[path.length - 1];
      if (mode == DittoCheckMode::kUnrestricted) {
        if (named(last, kRevokeBelow, p)) return false;
      } else if (named(last, kGrantBelow, p)) {
        continue;
      }
    }
    if (granted == 0 || granted <= revoked) return false;
  }
  return true;
}

std::size_t LaneBytes(std::size_t entries, std::size_t words) noexcept {
  if (entries <= 8) return 1;
  if (entries <= 16) return 2;
  if (entries <= 32) return 4;
  return words * sizeof(std::uint64_t);
}

// Appends each bitset of `words` words (words_ per bitset) as its lane of `lane_bytes`.
void AppendLanes(const std::vector<std::uint64_t>& words, std::size_t words_per_bitset,
                 std::size_t lane_bytes, std::vector<std::byte>* out) {
  for (std::size_t at = 0; at < words.size(); at += words_per_bitset) {
    const auto* bytes = reinterpret_cast<const std::byte*>(words.data() + at);
    out->insert(out->end(), bytes, bytes + lane_bytes);
  }
}

}  // namespace

class DittoTrieBuilder {
 public:
  Result<CompiledDittoPolicy> Build(const DittoPolicyDocument& document) {
    // Entries without subjects never apply; the rest get bit positions.
    std::vector<const DittoPolicyEntry*> entries;
    for (const DittoPolicyEntry& entry : document.entries) {
      if (!entry.subjects.empty()) entries.push_back(&entry);
    }
    if (entries.size() > CompiledDittoPolicy::kMaxEntries) {
      return PolicyError{std::string(kDittoPolicyInvalid),
                         "the policy has more than " +
                             std::to_string(CompiledDittoPolicy::kMaxEntries) +
                             " entries with subjects"};
    }
    words_ = std::max<std::size_t>(1, (entries.size() + 63) / 64);
    lane_bytes_ = LaneBytes(entries.size(), words_);
    for (std::size_t e = 0; e < entries.size(); ++e) {
      if (std::string error = AddEntry(*entries[e], e); !error.empty()) {
        return PolicyError{std::string(kDittoPolicyInvalid), std::move(error)};
      }
    }
    for (const std::uint32_t root : roots_) {
      if (root != kNone) ComputeBelow(root);
    }
    AssignClasses();

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

  struct BuildNode {
    std::string segment;
    std::map<std::string, std::uint32_t> children;  // byte order = string_view order
    std::vector<std::uint64_t> bits;                // kBitsetsPerNode * words_
  };

  std::uint64_t* Bitset(std::uint32_t node, std::size_t kind, std::size_t permission) {
    return nodes_[node].bits.data() + BitsetIndex(kind, permission) * words_;
  }

  std::uint32_t NewNode(std::string segment) {
    nodes_.emplace_back();
    nodes_.back().segment = std::move(segment);
    nodes_.back().bits.assign(kBitsetsPerNode * words_, 0);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  std::string AddEntry(const DittoPolicyEntry& entry, std::size_t bit) {
    const std::size_t word = bit / 64;
    const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
    for (const DittoSubject& subject : entry.subjects) {
      auto [it, inserted] = subject_ids_.try_emplace(
          subject.id, static_cast<std::uint32_t>(subject_names_.size()));
      if (inserted) {
        subject_names_.push_back(subject.id);
        subject_entries_.emplace_back(words_, 0);
      }
      subject_entries_[it->second][word] |= mask;
    }
    for (const DittoResourceGrant& resource : entry.resources) {
      std::uint32_t& root = roots_[static_cast<std::size_t>(resource.type)];
      if (root == kNone) root = NewNode("");
      std::uint32_t node = root;
      DittoPathSegments segments(resource.path);
      std::string_view segment;
      std::size_t depth = 0;
      while (segments.Next(&segment)) {
        if (++depth > CompiledDittoPolicy::kMaxPathSegments) {
          return "resource " + std::string(DittoResourceTypeName(resource.type)) + ":" +
                 resource.path.substr(0, 64) + "... is deeper than " +
                 std::to_string(CompiledDittoPolicy::kMaxPathSegments) + " levels";
        }
        auto found = nodes_[node].children.find(std::string(segment));
        if (found != nodes_[node].children.end()) {
          node = found->second;
          continue;
        }
        const std::uint32_t child = NewNode(std::string(segment));  // invalidates references
        nodes_[node].children.emplace(std::string(segment), child);
        node = child;
      }
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        if (resource.grant & (1u << p)) Bitset(node, kGrantHere, p)[word] |= mask;
        if (resource.revoke & (1u << p)) Bitset(node, kRevokeHere, p)[word] |= mask;
      }
    }
    return {};
  }

  // Post-order: which entries grant/revoke anywhere strictly below each node.
  void ComputeBelow(std::uint32_t index) {
    std::vector<std::uint32_t> children;
    for (const auto& [segment, child] : nodes_[index].children) children.push_back(child);
    for (const std::uint32_t child : children) {
      ComputeBelow(child);
      for (std::size_t p = 0; p < kDittoPermissionCount; ++p) {
        for (std::size_t w = 0; w < words_; ++w) {
          Bitset(index, kGrantBelow, p)[w] |=
              Bitset(child, kGrantHere, p)[w] | Bitset(child, kGrantBelow, p)[w];
          Bitset(index, kRevokeBelow, p)[w] |=
              Bitset(child, kRevokeHere, p)[w] | Bitset(child, kRevokeBelow, p)[w];
        }
      }
    }
  }

  // Subjects with identical entry sets answer every question identically: group them.
  void AssignClasses() {
    std::map<std::vector<std::uint64_t>, std::uint32_t> classes;
    subject_class_.resize(subject_names_.size());
    for (std::uint32_t id = 0; id < subject_names_.size(); ++id) {
      auto [it, inserted] = classes.try_emplace(subject_entries_[id],
                                                static_cast<std::uint32_t>(classes.size()));
      subject_class_[id] = it->second;
    }
    std::vector<std::uint64_t> class_words(classes.size() * words_, 0);
    for (const auto& [bits, id] : classes) {
      std::copy(bits.begin(), bits.end(), class_words.begin() + id * words_);
    }
    AppendLanes(class_words, words_, lane_bytes_, &class_bits_);
    class_bits_.resize(class_bits_.size() + kLoadPadding);
    class_first_member_.assign(classes.size() + 1, 0);
    for (const std::uint32_t c : subject_class_) ++class_first_member_[c + 1];
    for (std::size_t c = 0; c < classes.size(); ++c) {
      class_first_member_[c + 1] += class_first_member_[c];
    }
    class_members_.resize(subject_names_.size());
    std::vector<std::uint32_t> fill(class_first_member_.begin(), class_first_member_.end() - 1);
    for (std::uint32_t id = 0; id < subject_names_.size(); ++id) {
      class_members_[fill[subject_class_[id]]++] = id;
    }
  }

  // Breadth-first so that every node's children are contiguous; returns the root's index.
  std::uint32_t EmitTrie(std::uint32_t root) {
    const auto root_out = static_cast<std::uint32_t>(out_nodes_.size());
    std::vector<std::uint32_t> queue{root};  // build indices; out index = root_out + position
    out_nodes_.emplace_back();
    for (std::size_t head = 0; head < queue.size(); ++head) {
      const BuildNode& build = nodes_[queue[head]];
      CompiledDittoPolicy::Node node{};
      node.segment_prefix = internal::LoadPrefix(build.segment);
      node.segment_offset = static_cast<std::uint32_t>(arena_.size());
      node.segment_length = static_cast<std::uint32_t>(build.segment.size());
      arena_ += build.segment;
      node.first_child = static_cast<std::uint32_t>(out_nodes_.size());
      node.child_count = static_cast<std::uint32_t>(build.children.size());
      out_nodes_[root_out + head] = node;
      AppendLanes(build.bits, words_, lane_bytes_, &out_bits_);
      for (const auto& [segment, child] : build.children) {
        queue.push_back(child);
        out_nodes_.emplace_back();
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
    std::vector<CompiledDittoPolicy::SubjectRef> subjects;
    for (std::uint32_t id = 0; id < subject_names_.size(); ++id) {
      const std::string& name = subject_names_[id];
      subjects.push_back({static_cast<std::uint32_t>(arena_.size()),
                          static_cast<std::uint32_t>(name.size()), subject_class_[id]});
      arena_ += name;
      std::size_t slot = HashSubject(name) & (slots - 1);
      while (slot_table[slot] != 0) slot = (slot + 1) & (slots - 1);
      slot_table[slot] = id + 1;
    }

    out_bits_.resize(out_bits_.size() + kLoadPadding);
    using internal::BlockLayout;
    BlockLayout layout;
    const std::size_t nodes = layout.Reserve<CompiledDittoPolicy::Node>(out_nodes_.size());
    const std::size_t bits = layout.Reserve<std::byte>(out_bits_.size());
    const std::size_t slot_offset = layout.Reserve<std::uint32_t>(slot_table.size());
    const std::size_t subject_offset = layout.Reserve<CompiledDittoPolicy::SubjectRef>(subjects.size());
    const std::size_t class_bits = layout.Reserve<std::byte>(class_bits_.size());
    const std::size_t arena = layout.Reserve<char>(arena_.size());
    // Only fan-out reads the class members: last, after everything a check reads.
    const std::size_t members = layout.Reserve<std::uint32_t>(class_members_.size());
    const std::size_t first_member = layout.Reserve<std::uint32_t>(class_first_member_.size());
    out->block_ = layout.Allocate();
    out->block_bytes_ = layout.size();
    std::byte* block = out->block_.get();
    out->nodes_ = BlockLayout::Place(block, nodes, out_nodes_);
    out->node_bits_ = BlockLayout::Place(block, bits, out_bits_);
    out->subject_slots_ = BlockLayout::Place(block, slot_offset, slot_table);
    out->subjects_ = BlockLayout::Place(block, subject_offset, subjects);
    out->class_bits_ = BlockLayout::Place(block, class_bits, class_bits_);
    out->class_members_ = BlockLayout::Place(block, members, class_members_);
    out->class_first_member_ = BlockLayout::Place(block, first_member, class_first_member_);
    out->arena_ = BlockLayout::PlaceBytes(block, arena, arena_);
    out->policy_id_ = out->arena_.substr(policy_id_offset, policy_id_length);
    out->subject_slot_mask_ = slots - 1;
    out->subject_count_ = subject_names_.size();
    out->class_count_ = class_first_member_.size() - 1;
    out->words_ = words_;
    out->lane_bytes_ = lane_bytes_;
    out->lane_mask_ = internal::LowBytesMask(lane_bytes_);
  }

  std::size_t words_ = 1;
  std::size_t lane_bytes_ = 1;
  std::vector<BuildNode> nodes_;
  std::uint32_t roots_[kDittoResourceTypeCount] = {kNone, kNone, kNone};
  std::unordered_map<std::string, std::uint32_t> subject_ids_;
  std::vector<std::string> subject_names_;
  std::vector<std::vector<std::uint64_t>> subject_entries_;  // per subject: entry bitset
  std::vector<std::uint32_t> subject_class_;
  std::vector<std::byte> class_bits_;  // lanes, padded
  std::vector<std::uint32_t> class_members_;
  std::vector<std::uint32_t> class_first_member_;

  std::vector<CompiledDittoPolicy::Node> out_nodes_;
  std::vector<std::byte> out_bits_;  // lanes, padded
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
  arena_ = std::exchange(other.arena_, std::string_view());
  nodes_ = std::exchange(other.nodes_, nullptr);
  node_bits_ = std::exchange(other.node_bits_, nullptr);
  subject_slots_ = std::exchange(other.subject_slots_, nullptr);
  subjects_ = std::exchange(other.subjects_, nullptr);
  class_bits_ = std::exchange(other.class_bits_, nullptr);
  class_members_ = std::exchange(other.class_members_, nullptr);
  class_first_member_ = std::exchange(other.class_first_member_, nullptr);
  subject_slot_mask_ = std::exchange(other.subject_slot_mask_, 0);
  subject_count_ = std::exchange(other.subject_count_, 0);
  class_count_ = std::exchange(other.class_count_, 0);
  words_ = std::exchange(other.words_, 0);
  lane_bytes_ = std::exchange(other.lane_bytes_, 0);
  lane_mask_ = std::exchange(other.lane_mask_, 0);
  for (std::size_t t = 0; t < kDittoResourceTypeCount; ++t) {
    roots_[t] = std::exchange(other.roots_[t], kNoNode);
  }
  return *this;
}

Result<CompiledDittoPolicy> CompiledDittoPolicy::TryCompile(const DittoPolicyDocument& document) {
  return DittoTrieBuilder().Build(document);
}

CompiledDittoPolicy CompiledDittoPolicy::Compile(const DittoPolicyDocument& document) {
  Result<CompiledDittoPolicy> result = TryCompile(document);
  return result.ok() ? std::move(result).value() : CompiledDittoPolicy();
}

std::string_view CompiledDittoPolicy::SubjectName(std::uint32_t id) const noexcept {
  if (id >= subject_count_) return {};
  return arena_.substr(subjects_[id].name_offset, subjects_[id].name_length);
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

bool CompiledDittoPolicy::WalkPath(const DittoResourceKey& key, internal::DittoPath* path) const noexcept {
  const std::uint32_t root = roots_[static_cast<std::size_t>(key.type)];
  if (root == kNoNode) return false;
  path->nodes[0] = root;
  path->length = 1;
  path->exact = true;
  DittoPathSegments segments(key.path);
  std::string_view segment;
  while (segments.Next(&segment)) {
    // The trie is at most kMaxPathSegments deep, so a longer path has left it by now.
    const Node* child = path->length <= kMaxPathSegments
                            ? FindChild(nodes_[path->nodes[path->length - 1]], segment)
                            : nullptr;
    if (child == nullptr) {
      path->exact = false;  // nothing is granted or revoked below this point
      break;
    }
    path->nodes[path->length++] = static_cast<std::uint32_t>(child - nodes_);
  }
  return true;
}

const std::byte* CompiledDittoPolicy::NodeBitset(std::uint32_t node, std::size_t kind,
                                                 std::size_t permission) const noexcept {
  return node_bits_ +
         (node * kBitsetsPerNode + BitsetIndex(kind, permission)) * lane_bytes_;
}

void CompiledDittoPolicy::AddClassEntries(std::uint32_t subject_class,
                                          std::uint64_t* entries) const noexcept {
  const std::byte* lane = class_bits_ + subject_class * lane_bytes_;
  if (words_ == 1) {
    entries[0] |= LoadWord(lane, 0) & lane_mask_;
    return;
  }
  for (std::size_t w = 0; w < words_; ++w) entries[w] |= LoadWord(lane, w);
}

bool CompiledDittoPolicy::Evaluate(const internal::DittoPath& path, const std::uint64_t* entries,
                                   DittoPermissionSet permissions,
                                   DittoCheckMode mode) const noexcept {
  if (lane_bytes_ == 1) {
    // Up to 8 entries: a node's eight one-byte bitsets are one 64-bit word. ANDed with the
    // caller's entries copied into every byte, it says which of them name one of its entries.
    const std::uint64_t spread = entries[0] * internal::kEveryByte;
    return EvaluatePath(path, permissions, mode, [&](std::uint32_t node, std::size_t kind,
                                                     std::size_t permission) {
      return ByteLane(NodeByteLanes(node_bits_, node) & spread, kind, permission) != 0;
    });
  }
  return EvaluatePath(path, permissions, mode, [&](std::uint32_t node, std::size_t kind,
                                                   std::size_t permission) {
    return Intersects(NodeBitset(node, kind, permission), entries, words_);
  });
}

// Fan-out: with one-byte lanes a class's entry set is one byte and eight classes' sets are
// one word, so a node's bitset byte ANDed with it tells eight classes at once whether the
// bitset names one of their entries. Walking down the path, a grant makes a class allowed
// and a revoke (applied after the grants of its node, as a revoke at least as deep as the
// deepest grant wins) makes it denied; that leaves exactly the classes whose deepest grant
// is deeper than their deepest revoke, as Evaluate decides one class at a time.
std::uint64_t CompiledDittoPolicy::ClassesWithPermission(const internal::DittoPath& path,
                                                         DittoPermission permission) const noexcept {
  const auto p = static_cast<std::size_t>(permission);
  const auto bitset = [&](std::uint32_t node, std::size_t kind) -> std::uint64_t {
    return ByteLane(NodeByteLanes(node_bits_, node), kind, p);
  };
  std::uint64_t allowed_classes = 0;
  for (std::size_t first = 0; first < class_count_; first += 8) {
    // Class bytes past class_count_ are padding or other sections: masked off.
    const std::size_t count = std::min<std::size_t>(8, class_count_ - first);
    const std::uint64_t classes = LoadWord(class_bits_ + first, 0) & internal::LowBytesMask(count);
    // Bit i: class first + i has an entry in `lane`.
    const auto naming = [classes](std::uint64_t lane) -> std::uint64_t {
      return std::uint64_t{internal::GatherByteMask(
          internal::NonZeroBytes(classes & (lane * internal::kEveryByte)))};
    };
    std::uint64_t allowed = 0;
    for (std::size_t i = 0; i < path.length; ++i) {
      allowed = (allowed | naming(bitset(path.nodes[i], kGrantHere))) &
                ~naming(bitset(path.nodes[i], kRevokeHere));
    }
    // Unrestricted: anything revoked strictly below defeats the grant.
    if (path.exact) allowed &= ~naming(bitset(path.nodes[path.length - 1], kRevokeBelow));
    allowed_classes |= allowed << first;
  }
  return allowed_classes;
}

bool CompiledDittoPolicy::HasPermissions(std::span<const std::string_view> subjects,
                                         std::string_view resource,
                                         DittoPermissionSet permissions,
                                         DittoCheckMode mode) const noexcept {
  constexpr DittoPermissionSet kKnown = kReadPermission | kWritePermission;
  internal::PrefetchLines(block_.get(), std::min(block_bytes_, kPrefetchBytes));
  if (permissions == 0 || (permissions & ~kKnown) != 0) return false;
  const std::optional<DittoResourceKey> key = ParseDittoResourceKey(resource);
  if (!key) return false;

  // Pool the caller's entries: the union of the entry sets of its known subjects. Only the
  // policy's words_ words are used (usually one); zeroing all kMaxWords was a measurable
  // part of a check.
  std::uint64_t entries[kMaxWords];
  std::fill_n(entries, words_, std::uint64_t{0});
  bool known_subject = false;
  for (const std::string_view subject : subjects) {
    const std::uint32_t id = LookupSubject(subject);
    if (id == kNoSubject) continue;
    known_subject = true;
    AddClassEntries(subjects_[id].subject_class, entries);
  }
  if (!known_subject) return false;

  internal::DittoPath path;
  if (!WalkPath(*key, &path)) return false;
  return Evaluate(path, entries, permissions, mode);
}

DittoSubjectRange CompiledDittoPolicy::SubjectsWithPermission(
    std::string_view resource, DittoPermission permission) const noexcept {
  internal::PrefetchLines(block_.get(), std::min(block_bytes_, kPrefetchBytes));
  DittoSubjectRange range;
  const std::optional<DittoResourceKey> key = ParseDittoResourceKey(resource);
  if (static_cast<std::size_t>(permission) >= kDittoPermissionCount || !key ||
      !WalkPath(*key, &range.path_)) {
    return range;  // no policy: begin() == end()
  }
  range.policy_ = this;
  range.permission_ = permission;
  if (lane_bytes_ == 1 && class_count_ <= kMaxClassesEvaluatedAtOnce) {
    range.allowed_classes_ = ClassesWithPermission(range.path_, permission);
    range.classes_evaluated_ = true;
  }
  return range;
}

DittoSubjectRange::Iterator DittoSubjectRange::begin() const noexcept {
  return policy_ == nullptr ? end() : Iterator(this, 0);
}

DittoSubjectRange::Iterator DittoSubjectRange::end() const noexcept {
  Iterator it;
  it.range_ = this;
  it.subject_class_ = policy_ == nullptr ? 0 : policy_->class_count_;
  return it;
}

DittoSubjectRange::Iterator::Iterator(const DittoSubjectRange* range,
                                      std::size_t subject_class) noexcept
    : range_(range), subject_class_(subject_class) {
  SkipDeniedClasses();
}

// Moves to the first member of the next class (from subject_class_ on) that holds the
// permission, or to end().
void DittoSubjectRange::Iterator::SkipDeniedClasses() noexcept {
  const CompiledDittoPolicy& policy = *range_->policy_;
  member_ = 0;
  if (range_->classes_evaluated_) {
    const std::uint64_t rest = subject_class_ >= CompiledDittoPolicy::kMaxClassesEvaluatedAtOnce
                                   ? 0
                                   : range_->allowed_classes_ >> subject_class_;
    if (rest == 0) {
      subject_class_ = policy.class_count_;
      return;
    }
    subject_class_ += static_cast<std::size_t>(std::countr_zero(rest));
    member_ = policy.class_first_member_[subject_class_];
    return;
  }
  for (; subject_class_ < policy.class_count_; ++subject_class_) {
    std::uint64_t entries[CompiledDittoPolicy::kMaxWords];
    std::fill_n(entries, policy.words_, std::uint64_t{0});
    policy.AddClassEntries(static_cast<std::uint32_t>(subject_class_), entries);
    if (policy.Evaluate(range_->path_, entries, PermissionBit(range_->permission_),
                        DittoCheckMode::kUnrestricted)) {
      member_ = policy.class_first_member_[subject_class_];
      return;
    }
  }
}

std::uint32_t DittoSubjectRange::Iterator::operator*() const noexcept {
  return range_->policy_->class_members_[member_];
}

DittoSubjectRange::Iterator& DittoSubjectRange::Iterator::operator++() noexcept {
  const CompiledDittoPolicy& policy = *range_->policy_;
  if (++member_ < policy.class_first_member_[subject_class_ + 1]) return *this;
  ++subject_class_;
  SkipDeniedClasses();
  return *this;
}

}  // namespace sb::policy
