// TopicTrie: the subscription index of one shard. Maps MQTT topic filters to sets of
// values (typically a session handle plus subscription options) and finds, for a topic
// name, every value whose filter matches it.
//
// Shape: one node per filter level; a node has literal children (hash map with
// heterogeneous string_view lookup, so a level with 10,000 device IDs is one hash probe),
// one '+' child, the values of filters ending at the node, and the values of filters
// ending at the node followed by "/#" ("#" alone for the root).
//
// Semantics (MQTT 4.7): '+' matches exactly one level (possibly empty); "a/#" matches "a"
// and everything below it; a filter starting with '+' or '#' does not match a topic
// starting with '$'. A filter's values form a set under Equal: inserting an equal value
// replaces the stored one (MQTT's "a new subscription replaces the existing one").
//
// Costs: Match never allocates (an explicit stack of kMaxLevels + 2 frames on the C++
// stack; levels are split on the fly) and visits only nodes on matching paths. Insert and
// Erase allocate and free nodes; Erase prunes nodes left empty. A value set switches to a
// hash index above kIndexThreshold values so Erase stays O(1) for popular filters.
//
// Threading: not synchronised; owned and used by one shard. Match's callback must not
// modify the trie. Value must be copyable, and hashable with Hash when a filter has many
// values.
#pragma once

#include <cassert>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/mqtt/topic.h"

namespace sb::mqtt {

template <class Value, class Hash = std::hash<Value>, class Equal = std::equal_to<Value>>
class TopicTrie {
 public:
  // Deepest filter the trie holds; bounds Match's stack. Product filters have <= 8 levels.
  static constexpr size_t kMaxLevels = 128;

  TopicTrie() = default;
  TopicTrie(const TopicTrie&) = delete;
  TopicTrie& operator=(const TopicTrie&) = delete;
  TopicTrie(TopicTrie&&) = delete;  // Match compares against &root_
  TopicTrie& operator=(TopicTrie&&) = delete;

  // True if a filter with at most kMaxLevels levels, valid for ValidateTopicFilter.
  static bool CanHold(std::string_view filter) {
    return ValidateTopicFilter(filter, TopicLimits{.max_bytes = 65535, .max_levels = kMaxLevels})
        .ok();
  }

  // Adds `value` to the filter's set (replacing an equal value). Returns true exactly when
  // the set went from empty to non-empty: the shard now has interest in this filter.
  // Precondition: CanHold(filter); otherwise nothing is stored and false is returned.
  bool Insert(std::string_view filter, Value value) {
    if (!CanHold(filter)) {
      assert(false && "TopicTrie::Insert: filter is invalid or too deep");
      return false;
    }
    Node* node = &root_;
    size_t pos = 0;
    bool more = true;
    ValueSet* set = nullptr;
    while (more) {
      const std::string_view level = NextLevel(filter, &pos, &more);
      if (level == "#") {
        set = &node->hash_values;
        break;
      }
      if (level == "+") {
        if (!node->plus_child) node->plus_child = std::make_unique<Node>();
        node = node->plus_child.get();
      } else {
        auto it = node->children.find(level);
        if (it == node->children.end()) {
          it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
        }
        node = it->second.get();
      }
    }
    if (set == nullptr) set = &node->values;
    const bool added = set->Insert(std::move(value));
    const bool first = added && set->size() == 1;
    if (first) ++filter_count_;
    return first;
  }

  // Removes `value` from the filter's set. Returns true exactly when the set became empty:
  // the shard no longer has interest in this filter. Nodes left empty are freed.
  bool Erase(std::string_view filter, const Value& value) {
    if (!CanHold(filter)) return false;
    // The path from the root, to prune bottom-up without parent pointers.
    struct Step {
      Node* parent;
      std::string_view level;  // "+" for the plus child
    };
    Step path[kMaxLevels + 1];
    size_t depth = 0;
    Node* node = &root_;
    size_t pos = 0;
    bool more = true;
    ValueSet* set = nullptr;
    while (more) {
      const std::string_view level = NextLevel(filter, &pos, &more);
      if (level == "#") {
        set = &node->hash_values;
        break;
      }
      Node* child = nullptr;
      if (level == "+") {
        child = node->plus_child.get();
      } else {
        const auto it = node->children.find(level);
        if (it != node->children.end()) child = it->second.get();
      }
      if (child == nullptr) return false;
      path[depth++] = Step{node, level};
      node = child;
    }
    if (set == nullptr) set = &node->values;
    if (!set->Erase(value)) return false;
    const bool now_empty = set->empty();
    if (now_empty) --filter_count_;
    while (depth > 0 && node->IsEmpty()) {
      const Step& step = path[--depth];
      if (step.level == "+") {
        step.parent->plus_child.reset();
      } else {
        step.parent->children.erase(step.parent->children.find(step.level));
      }
      node = step.parent;
    }
    return now_empty;
  }

  // Calls callback(const Value&) once for every (filter, value) whose filter matches the
  // topic name; a value subscribed through two matching filters is reported twice.
  // Order is unspecified. No allocation.
  template <class Callback>
  void Match(std::string_view topic_name, Callback&& callback) const {
    if (topic_name.empty()) return;
    const bool system_topic = topic_name.front() == '$';
    struct Frame {
      const Node* node;
      size_t pos;  // where the next level starts
      bool more;   // whether levels remain
    };
    // Depth-first with at most one pending sibling ('+' vs literal) per level, and nodes
    // exist only down to kMaxLevels: the stack never holds more than kMaxLevels + 1.
    Frame stack[kMaxLevels + 2];
    size_t top = 0;
    stack[top++] = Frame{&root_, 0, true};
    while (top > 0) {
      const Frame frame = stack[--top];
      const Node* node = frame.node;
      const bool wildcards_allowed = !(system_topic && node == &root_);
      if (wildcards_allowed) node->hash_values.ForEach(callback);
      if (!frame.more) {
        node->values.ForEach(callback);
        continue;
      }
      size_t pos = frame.pos;
      bool more = true;
      const std::string_view level = NextLevel(topic_name, &pos, &more);
      if (node->plus_child && wildcards_allowed) {
        stack[top++] = Frame{node->plus_child.get(), pos, more};
      }
      if (!node->children.empty()) {
        const auto it = node->children.find(level);
        if (it != node->children.end()) stack[top++] = Frame{it->second.get(), pos, more};
      }
    }
  }

  // Number of values stored for exactly this filter.
  size_t CountValues(std::string_view filter) const {
    const Node* node = &root_;
    size_t pos = 0;
    bool more = !filter.empty();
    while (more) {
      const std::string_view level = NextLevel(filter, &pos, &more);
      if (level == "#") return more ? 0 : node->hash_values.size();
      if (level == "+") {
        node = node->plus_child.get();
      } else {
        const auto it = node->children.find(level);
        node = it == node->children.end() ? nullptr : it->second.get();
      }
      if (node == nullptr) return 0;
    }
    return filter.empty() ? 0 : node->values.size();
  }

  // Filters with at least one value.
  size_t filter_count() const { return filter_count_; }
  bool empty() const { return filter_count_ == 0; }
  // True when no node but the root exists (everything was pruned).
  bool has_no_nodes() const { return root_.children.empty() && !root_.plus_child; }

 private:
  // A set of values under Equal; a vector for iteration speed, plus a position index once
  // it is large so Erase does not scan.
  class ValueSet {
   public:
    static constexpr size_t kIndexThreshold = 16;

    size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }

    // True if added, false if an equal value was replaced.
    bool Insert(Value value) {
      const size_t at = Find(value);
      if (at != kNotFound) {
        items_[at] = std::move(value);
        return false;
      }
      items_.push_back(std::move(value));
      if (index_) {
        index_->emplace(items_.back(), items_.size() - 1);
      } else if (items_.size() > kIndexThreshold) {
        index_ = std::make_unique<Index>();
        for (size_t i = 0; i < items_.size(); ++i) index_->emplace(items_[i], i);
      }
      return true;
    }

    bool Erase(const Value& value) {
      const size_t at = Find(value);
      if (at == kNotFound) return false;
      if (index_) index_->erase(value);
      const size_t last = items_.size() - 1;
      if (at != last) {
        items_[at] = std::move(items_[last]);
        if (index_) (*index_)[items_[at]] = at;
      }
      items_.pop_back();
      if (index_ && items_.size() < kIndexThreshold / 2) index_.reset();
      return true;
    }

    template <class Callback>
    void ForEach(Callback& callback) const {
      for (const Value& value : items_) callback(value);
    }

   private:
    using Index = std::unordered_map<Value, size_t, Hash, Equal>;
    static constexpr size_t kNotFound = static_cast<size_t>(-1);

    size_t Find(const Value& value) const {
      if (index_) {
        const auto it = index_->find(value);
        return it == index_->end() ? kNotFound : it->second;
      }
      const Equal equal;
      for (size_t i = 0; i < items_.size(); ++i) {
        if (equal(items_[i], value)) return i;
      }
      return kNotFound;
    }

    std::vector<Value> items_;
    std::unique_ptr<Index> index_;
  };

  struct LevelHash {
    using is_transparent = void;
    size_t operator()(std::string_view level) const noexcept {
      return std::hash<std::string_view>{}(level);
    }
  };

  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, LevelHash, std::equal_to<>> children;
    std::unique_ptr<Node> plus_child;
    ValueSet values;       // filters ending here
    ValueSet hash_values;  // filters ending here + "/#"

    bool IsEmpty() const {
      return children.empty() && !plus_child && values.empty() && hash_values.empty();
    }
  };

  // Splits the next '/'-separated level of `text` off at *pos; *more = false on the last.
  static std::string_view NextLevel(std::string_view text, size_t* pos, bool* more) {
    const size_t start = *pos;
    const size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      *pos = text.size();
      *more = false;
      return text.substr(start);
    }
    *pos = slash + 1;
    return text.substr(start, slash - start);
  }

  Node root_;
  size_t filter_count_ = 0;
};

}  // namespace sb::mqtt
