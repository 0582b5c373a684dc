#include "policy/compiled_iam_policies.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "policy/internal/block_layout.h"
#include "policy/internal/bytes.h"
#include "policy/internal/glob.h"

namespace sb::policy {

using internal::GlobToken;
using internal::GlobTokenKind;
using internal::PolicyVariable;

namespace {

constexpr std::uint32_t kNone = 0xffffffffu;

// Effects index the two tries of a document.
constexpr std::size_t kDeny = 0;
constexpr std::size_t kAllow = 1;

constexpr std::uint32_t ActionBit(std::size_t action) { return 1u << action; }

// One bit per (action, effect) for which a document has at least one pattern, so that a
// decision skips the tries that cannot match.
static_assert(2 * kIotActionCount <= 32);
constexpr std::uint32_t TrieBit(std::size_t action, std::size_t effect) {
  return 1u << (action * 2 + effect);
}

// Statement references are lists ending at the entry with this bit set.
constexpr std::uint32_t kLastRef = 0x80000000u;
// Longer literal runs are split over several edges (Edge::label_length is 16 bits).
constexpr std::size_t kMaxLabelBytes = 0xffff;

// Layout of the block. The tries live in one byte region, node by node in depth-first
// order, each node as one record: [Node][its edges][its tails][edge labels][tail literals].
// A walk down a path therefore reads one short run of bytes per node, mostly running on
// into the next node's record, instead of a node array, an edge array and a label arena in
// three different cache lines (on a cold document, each of those was a separate miss).
// Offsets into the region are byte offsets; records are 4-byte aligned.
struct Node {
  std::uint32_t first_statement;     // kNone, or refs of patterns ending here (kLastRef)
  std::uint16_t literal_edge_count;  // literal edges first, sorted by first byte (<= 256)
  std::uint8_t other_edge_count;     // then `?` and variable edges (<= 3)
  std::uint8_t actions;              // ActionBit of every action with a statement below
  std::uint32_t tail_count;          // tails, right after the edges
};
static_assert(sizeof(Node) == 12 && alignof(Node) == 4);

enum class EdgeKind : std::uint8_t { kLiteral, kAnyChar, kVariable };

struct Edge {
  std::uint32_t child;          // region offset of the child's record
  std::uint32_t label;          // kLiteral: region offset; kVariable: the PolicyVariable
  std::uint16_t label_length;   // kLiteral: 1..kMaxLabelBytes
  EdgeKind kind;
  char first_byte;              // kLiteral: label[0], kept here to skip the label bytes
};
static_assert(sizeof(Edge) == 12 && alignof(Edge) == 4);

struct Tail {
  std::uint32_t first_token;      // starts with kAnyRun; literals in the region
  std::uint32_t token_count;
  std::uint32_t first_statement;  // refs (never empty), up to kLastRef
  std::uint32_t actions;          // ActionBit of every action of those statements
};
static_assert(sizeof(Tail) == 16 && alignof(Tail) == 4);

// A statement is one record in the region, everything its conditions need inline, so that
// evaluating them reads one run of bytes:
//   [Statement] then per condition [Condition] then per value [Value][its GlobTokens],
//   then the literal bytes of all those tokens.
struct Statement {
  std::uint32_t actions;          // ActionBit of every action the statement names
  std::uint32_t condition_count;  // 0: unconditional
};

struct Condition {
  IamConditionOperator op;
  IamConditionKey key;
  std::uint16_t value_count;
  std::uint32_t bytes;  // of this condition with its values, to step to the next one
};

struct Value {
  std::uint32_t token_count;
};
static_assert(alignof(Statement) == 4 && alignof(Condition) == 4 && alignof(Value) == 4 &&
              alignof(GlobToken) == 4);

// First bytes of the block: where everything else is.
struct Header {
  std::uint32_t roots[2];   // [kDeny], [kAllow]: kNone when the document has no such pattern
  std::uint32_t trie_mask;  // TrieBit of every (action, effect) with a pattern
  // TrieBit of every (action, effect) with a pattern that can match a resource of the
  // action's own type (IotActionResourcePrefix): what a set needs to know to skip the
  // document without reading it, for the requests the router makes.
  std::uint32_t typed_mask;
  std::uint32_t total_bytes;
  // Block offsets of the sections. The region holds the statement records (conditions
  // inline), the trie records and every literal byte; roots, statement refs and literal token
  // offsets are region offsets.
  std::uint32_t region;
  std::uint32_t region_bytes;
  std::uint32_t statement_refs;  // lists of statement record offsets (see kLastRef)
  std::uint32_t tokens;          // the tails' tokens
};

const Header* HeaderOf(const std::byte* block) noexcept {
  return reinterpret_cast<const Header*>(block);
}

// Block memory: one cache line holding the reference count, then the block (64-byte
// aligned). Counting references (control plane, snapshot release) therefore never writes a
// line that decisions read, and the block spans as few lines as its size allows.
using internal::kCacheLineBytes;
struct BlockPrefix {
  std::atomic<std::uint32_t> references;
};
static_assert(sizeof(BlockPrefix) <= kCacheLineBytes);

// A block of `bytes` with one reference, uninitialised.
std::byte* AllocateBlock(std::size_t bytes) {
  void* memory = ::operator new(kCacheLineBytes + bytes, std::align_val_t{kCacheLineBytes});
  new (memory) BlockPrefix{1};
  return static_cast<std::byte*>(memory) + kCacheLineBytes;
}

BlockPrefix* PrefixOf(const std::byte* block) noexcept {
  return std::launder(
      reinterpret_cast<BlockPrefix*>(const_cast<std::byte*>(block) - kCacheLineBytes));
}

void RetainBlock(const std::byte* block) noexcept {
  PrefixOf(block)->references.fetch_add(1, std::memory_order_relaxed);
}

void ReleaseBlock(const std::byte* block) noexcept {
  if (block == nullptr) return;
  BlockPrefix* prefix = PrefixOf(block);
  // acq_rel: every holder's reads happen-before the delete by the last one.
  if (prefix->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    prefix->~BlockPrefix();
    ::operator delete(prefix, std::align_val_t{kCacheLineBytes});
  }
}

// Typed views of one block plus the request, for the duration of one trie walk.
struct Walk {
  Walk(const std::byte* block, const IamRequest& r, std::size_t action) noexcept
      : header(HeaderOf(block)),
        region(reinterpret_cast<const char*>(block + header->region), header->region_bytes),
        statement_refs(reinterpret_cast<const std::uint32_t*>(block + header->statement_refs)),
        tokens(reinterpret_cast<const GlobToken*>(block + header->tokens)),
        resource(r.resource),
        request(r),
        action_bit(ActionBit(action)) {
    variables.values[static_cast<std::size_t>(PolicyVariable::kClientId)] = r.client_id;
    variables.values[static_cast<std::size_t>(PolicyVariable::kThingName)] = r.thing_name;
  }

  bool MatchNode(std::uint32_t node_offset, std::size_t position) const noexcept;
  bool AnyStatementHolds(std::uint32_t first_ref) const noexcept;
  bool ConditionHolds(const Condition& condition) const noexcept;  // values follow it

  const Header* header;
  std::string_view region;
  const std::uint32_t* statement_refs;
  const GlobToken* tokens;
  std::string_view resource;
  const IamRequest& request;
  std::uint32_t action_bit;
  internal::VariableValues variables;
};

// One document's say on a request: kExplicitDeny if its Deny trie has a matching pattern
// with a statement naming the action whose conditions hold, else kAllow if its Allow trie
// has one, else kDefaultDeny. `deny` / `allow` = false skip that trie (the caller knows it
// cannot match, or no longer needs an Allow).
Decision DecideBlock(const std::byte* block, std::size_t action, const IamRequest& request,
                     bool deny, bool allow) noexcept {
  const Header* header = HeaderOf(block);
  deny = deny && (header->trie_mask & TrieBit(action, kDeny)) != 0;
  allow = allow && (header->trie_mask & TrieBit(action, kAllow)) != 0;
  if (!deny && !allow) return Decision::kDefaultDeny;
  const Walk walk(block, request, action);  // one set of views for both tries
  if (deny && walk.MatchNode(header->roots[kDeny], 0)) return Decision::kExplicitDeny;
  if (allow && walk.MatchNode(header->roots[kAllow], 0)) return Decision::kAllow;
  return Decision::kDefaultDeny;
}

// Whether `tokens` can match some text that starts with `prefix`. Conservative: a variable
// might expand to anything.
bool CanMatchWithPrefix(std::span<const GlobToken> tokens, std::string_view arena,
                        std::string_view prefix) noexcept {
  std::size_t at = 0;
  for (const GlobToken& token : tokens) {
    if (at == prefix.size()) return true;
    switch (token.kind) {
      case GlobTokenKind::kAnyRun:
      case GlobTokenKind::kVariable:
        return true;
      case GlobTokenKind::kAnyChar:
        ++at;
        break;
      case GlobTokenKind::kLiteral: {
        const std::string_view literal = arena.substr(token.offset, token.length);
        const std::size_t n = std::min(literal.size(), prefix.size() - at);
        if (literal.substr(0, n) != prefix.substr(at, n)) return false;
        at += n;
        break;
      }
    }
  }
  return at == prefix.size();
}

bool Decidable(const IamRequest& request) noexcept {
  return static_cast<std::size_t>(request.action) < kIotActionCount &&
         request.resource.size() <= kMaxIamResourceBytes;
}

}  // namespace

std::string_view DecisionName(Decision decision) noexcept {
  switch (decision) {
    case Decision::kAllow: return "allow";
    case Decision::kExplicitDeny: return "explicit-deny";
    case Decision::kDefaultDeny: return "default-deny";
  }
  return "default-deny";
}

// Builds the two tries (Deny, Allow) in ordinary containers, then lays them out in one block.
// The tries are shared by all actions: a pattern ends in statement references, and a
// statement carries the actions it names, so `iot:*` or Publish+Receive statements store
// their patterns once.
class IamTrieBuilder {
 public:
  void Add(const IamPolicyDocument& document) {
    for (const IamStatement& statement : document.statements) AddStatement(statement);
  }

  CompiledIamDocument Finish() {
    Header header{};
    header.trie_mask = trie_mask_;
    header.typed_mask = typed_mask_;
    for (std::size_t effect : {kDeny, kAllow}) {
      header.roots[effect] = roots_[effect] == kNone ? kNone : Emit(roots_[effect]);
    }
    CompiledIamDocument out;
    Layout(&header, &out);
    return out;
  }

 private:
  // A trie edge before radix compression: one literal byte, `?` or one variable.
  struct EdgeKey {
    EdgeKind kind;
    unsigned char byte;       // kLiteral
    PolicyVariable variable;  // kVariable
    bool operator<(const EdgeKey& other) const {
      if (kind != other.kind) return kind < other.kind;
      if (kind == EdgeKind::kLiteral) return byte < other.byte;
      if (kind == EdgeKind::kVariable) return variable < other.variable;
      return false;
    }
    bool operator==(const EdgeKey& other) const { return !(*this < other) && !(other < *this); }
  };
  struct BuildTail {
    std::string canonical;  // the pattern from its `*` on, re-serialized
    std::vector<std::uint32_t> statements;
  };
  struct BuildNode {
    std::vector<std::pair<EdgeKey, std::uint32_t>> children;
    std::vector<BuildTail> tails;
    std::vector<std::uint32_t> statements;
  };

  void AddStatement(const IamStatement& statement) {
    std::uint32_t actions = 0;
    for (const std::string& pattern : statement.actions) {
      for (std::size_t a = 0; a < kIotActionCount; ++a) {
        // IAM action names are case-insensitive.
        if (internal::SimpleGlobMatch(pattern, IotActionName(static_cast<IotAction>(a)),
                                      /*ignore_case=*/true)) {
          actions |= ActionBit(a);
        }
      }
    }
    if (actions == 0) return;  // only actions this router never decides

    const std::uint32_t statement_index = AddStatementRecord(statement.conditions, actions);
    const std::size_t effect = statement.effect == IamEffect::kDeny ? kDeny : kAllow;
    for (const std::string& resource : statement.resources) {
      std::string scratch_arena;
      std::vector<GlobToken> tokens;
      // Parsed documents always tokenize. A hand-built one that does not fails safe: an
      // unreadable Allow pattern grants nothing, an unreadable Deny pattern denies everything.
      std::string reason =
          internal::TokenizePattern(resource, /*wildcards=*/true, &scratch_arena, &tokens);
      if (!reason.empty()) {
        if (effect == kAllow) continue;
        tokens.assign(1, GlobToken{GlobTokenKind::kAnyRun, PolicyVariable::kClientId, 0, 0});
      }
      if (roots_[effect] == kNone) roots_[effect] = NewNode();
      Insert(roots_[effect], tokens, scratch_arena, statement_index);
      for (std::size_t a = 0; a < kIotActionCount; ++a) {
        if ((actions & ActionBit(a)) == 0) continue;
        trie_mask_ |= TrieBit(a, effect);
        if (CanMatchWithPrefix(tokens, scratch_arena,
                               IotActionResourcePrefix(static_cast<IotAction>(a)))) {
          typed_mask_ |= TrieBit(a, effect);
        }
      }
    }
  }

  // Appends the statement's record to the region (see Statement); returns its index in
  // statements_.
  std::uint32_t AddStatementRecord(const std::vector<IamCondition>& conditions,
                                   std::uint32_t actions) {
    // Tokenize every value first; literal offsets are fixed up once the record's size is known.
    struct BuiltCondition {
      const IamCondition* source;
      std::vector<std::vector<GlobToken>> values;
      std::size_t bytes = sizeof(Condition);
    };
    std::string literals;
    std::vector<BuiltCondition> built;
    std::size_t record_bytes = sizeof(Statement);
    for (const IamCondition& condition : conditions) {
      const bool wildcards = condition.op == IamConditionOperator::kStringLike ||
                             condition.op == IamConditionOperator::kStringNotLike;
      BuiltCondition out{&condition, {}};
      for (const std::string& value : condition.values) {
        std::vector<GlobToken> tokens;
        const std::size_t literal_mark = literals.size();
        if (!internal::TokenizePattern(value, wildcards, &literals, &tokens).empty() ||
            out.values.size() == 0xffff) {
          // Unreachable for parsed documents; a value that cannot be read matches nothing.
          literals.resize(literal_mark);
          continue;
        }
        // An empty value is an empty literal: it only equals the empty string.
        out.bytes += sizeof(Value) + tokens.size() * sizeof(GlobToken);
        out.values.push_back(std::move(tokens));
      }
      record_bytes += out.bytes;
      built.push_back(std::move(out));
    }

    AlignRegion();
    const auto offset = static_cast<std::uint32_t>(region_.size());
    const auto literal_base = static_cast<std::uint32_t>(offset + record_bytes);
    region_.resize(offset + record_bytes, '\0');
    std::size_t at = offset;
    const Statement statement{actions, static_cast<std::uint32_t>(built.size())};
    WriteAt(at, &statement, 1);
    at += sizeof(Statement);
    for (BuiltCondition& condition : built) {
      const Condition record{condition.source->op, condition.source->key,
                             static_cast<std::uint16_t>(condition.values.size()),
                             static_cast<std::uint32_t>(condition.bytes)};
      WriteAt(at, &record, 1);
      at += sizeof(Condition);
      for (std::vector<GlobToken>& tokens : condition.values) {
        for (GlobToken& token : tokens) {
          if (token.kind == GlobTokenKind::kLiteral) token.offset += literal_base;
        }
        const Value value{static_cast<std::uint32_t>(tokens.size())};
        WriteAt(at, &value, 1);
        at += sizeof(Value);
        WriteAt(at, tokens.data(), tokens.size());
        at += tokens.size() * sizeof(GlobToken);
      }
    }
    region_ += literals;
    statements_.push_back({offset, actions, static_cast<std::uint32_t>(built.size())});
    return static_cast<std::uint32_t>(statements_.size() - 1);
  }

  std::uint32_t NewNode() {
    nodes_.emplace_back();
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  std::uint32_t Child(std::uint32_t node, const EdgeKey& key) {
    for (const auto& [edge, child] : nodes_[node].children) {
      if (edge == key) return child;
    }
    const std::uint32_t child = NewNode();  // may reallocate nodes_: index again below
    nodes_[node].children.emplace_back(key, child);
    return child;
  }

  static void AddUnique(std::vector<std::uint32_t>* list, std::uint32_t value) {
    if (std::find(list->begin(), list->end(), value) == list->end()) list->push_back(value);
  }

  // Re-serializes tokens as pattern text that TokenizePattern reads back identically.
  static std::string Canonical(std::span<const GlobToken> tokens, std::string_view arena) {
    std::string out;
    for (const GlobToken& token : tokens) {
      switch (token.kind) {
        case GlobTokenKind::kAnyRun: out += '*'; break;
        case GlobTokenKind::kAnyChar: out += '?'; break;
        case GlobTokenKind::kVariable:
          out += token.variable == PolicyVariable::kClientId ? "${iot:ClientId}"
                                                             : "${iot:Connection.Thing.ThingName}";
          break;
        case GlobTokenKind::kLiteral:
          for (char c : arena.substr(token.offset, token.length)) {
            if (c == '*') {
              out += "${*}";
            } else if (c == '?') {
              out += "${?}";
            } else if (c == '$') {
              out += "${$}";
            } else {
              out += c;
            }
          }
          break;
      }
    }
    return out;
  }

  void Insert(std::uint32_t node, const std::vector<GlobToken>& tokens, std::string_view arena,
              std::uint32_t statement) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const GlobToken& token = tokens[i];
      switch (token.kind) {
        case GlobTokenKind::kAnyRun: {
          std::string canonical =
              Canonical(std::span<const GlobToken>(tokens).subspan(i), arena);
          for (BuildTail& tail : nodes_[node].tails) {
            if (tail.canonical == canonical) {
              AddUnique(&tail.statements, statement);
              return;
            }
          }
          nodes_[node].tails.push_back(BuildTail{std::move(canonical), {statement}});
          return;
        }
        case GlobTokenKind::kLiteral:
          for (char c : arena.substr(token.offset, token.length)) {
            node = Child(node, EdgeKey{EdgeKind::kLiteral, static_cast<unsigned char>(c),
                                       PolicyVariable::kClientId});
          }
          break;
        case GlobTokenKind::kAnyChar:
          node = Child(node, EdgeKey{EdgeKind::kAnyChar, 0, PolicyVariable::kClientId});
          break;
        case GlobTokenKind::kVariable:
          node = Child(node, EdgeKey{EdgeKind::kVariable, 0, token.variable});
          break;
      }
    }
    AddUnique(&nodes_[node].statements, statement);
  }

  std::uint32_t ActionsOf(const std::vector<std::uint32_t>& statements) const {
    std::uint32_t actions = 0;
    for (std::uint32_t statement : statements) actions |= statements_[statement].actions;
    return actions;
  }

  // Unconditional statements first, so a match returns without evaluating conditions.
  // Returns the first ref, or kNone for an empty list.
  std::uint32_t EmitStatements(std::vector<std::uint32_t> statements) {
    if (statements.empty()) return kNone;
    std::stable_sort(statements.begin(), statements.end(), [&](std::uint32_t a, std::uint32_t b) {
      return (statements_[a].condition_count == 0) > (statements_[b].condition_count == 0);
    });
    const auto first = static_cast<std::uint32_t>(out_statement_refs_.size());
    for (std::uint32_t statement : statements) {
      out_statement_refs_.push_back(statements_[statement].offset);
    }
    out_statement_refs_.back() |= kLastRef;
    return first;
  }

  template <typename T>
  void WriteAt(std::size_t offset, const T* items, std::size_t count) {
    if (count != 0) std::memcpy(region_.data() + offset, items, sizeof(T) * count);
  }

  void AlignRegion() { region_.resize((region_.size() + 3) / 4 * 4, '\0'); }

  // Radix-compresses the subtree under `build_index` into the region, depth-first; returns
  // the region offset of its record.
  std::uint32_t Emit(std::uint32_t build_index) {
    BuildNode& build = nodes_[build_index];
    std::sort(build.children.begin(), build.children.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::vector<std::pair<EdgeKey, std::uint32_t>> children = build.children;

    AlignRegion();
    const auto offset = static_cast<std::uint32_t>(region_.size());
    Node node{};
    node.first_statement = EmitStatements(build.statements);
    node.tail_count = static_cast<std::uint32_t>(build.tails.size());
    std::uint32_t actions = ActionsOf(build.statements);
    const std::size_t edges_at = offset + sizeof(Node);
    const std::size_t tails_at = edges_at + children.size() * sizeof(Edge);
    region_.resize(tails_at + build.tails.size() * sizeof(Tail), '\0');

    // Labels right after the record; `?` and variable edges carry none.
    std::vector<Edge> edges(children.size());
    std::vector<std::uint32_t> targets(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto& [key, first_child] = children[i];
      Edge& edge = edges[i];
      edge.kind = key.kind;
      std::uint32_t child = first_child;
      if (key.kind == EdgeKind::kLiteral) {
        ++node.literal_edge_count;
        edge.label = static_cast<std::uint32_t>(region_.size());
        region_ += static_cast<char>(key.byte);
        edge.first_byte = static_cast<char>(key.byte);
        // Follow single-child literal chains that carry nothing of their own.
        for (;;) {
          const BuildNode& next = nodes_[child];
          if (next.children.size() != 1 || !next.tails.empty() || !next.statements.empty() ||
              next.children[0].first.kind != EdgeKind::kLiteral ||
              region_.size() - edge.label >= kMaxLabelBytes) {
            break;
          }
          region_ += static_cast<char>(next.children[0].first.byte);
          child = next.children[0].second;
        }
        edge.label_length = static_cast<std::uint16_t>(region_.size() - edge.label);
      } else {
        ++node.other_edge_count;
        if (key.kind == EdgeKind::kVariable) edge.label = static_cast<std::uint32_t>(key.variable);
      }
      targets[i] = child;
    }
    // Tails, their literal bytes after the labels.
    std::vector<Tail> tails;
    for (const BuildTail& tail : build.tails) {
      const auto first_token = static_cast<std::uint32_t>(tokens_.size());
      internal::TokenizePattern(tail.canonical, /*wildcards=*/true, &region_, &tokens_);
      const std::uint32_t tail_actions = ActionsOf(tail.statements);
      actions |= tail_actions;
      tails.push_back({first_token, static_cast<std::uint32_t>(tokens_.size() - first_token),
                       EmitStatements(tail.statements), tail_actions});
    }
    WriteAt(tails_at, tails.data(), tails.size());

    // Children follow, depth-first (the first child's record right after this one).
    for (std::size_t i = 0; i < children.size(); ++i) {
      edges[i].child = Emit(targets[i]);
      Node child_node;
      std::memcpy(&child_node, region_.data() + edges[i].child, sizeof(Node));
      actions |= child_node.actions;
    }
    WriteAt(edges_at, edges.data(), edges.size());
    node.actions = static_cast<std::uint8_t>(actions);
    WriteAt(offset, &node, 1);
    return offset;
  }

  void Layout(Header* header, CompiledIamDocument* out) {
    using internal::BlockLayout;
    BlockLayout layout;
    layout.Reserve<Header>(1);
    const auto reserve = [&layout](auto tag, std::size_t count) {
      return static_cast<std::uint32_t>(layout.Reserve<decltype(tag)>(count));
    };
    // In the order a typical walk reads them.
    header->region = reserve(std::uint32_t{}, (region_.size() + 3) / 4);
    header->region_bytes = static_cast<std::uint32_t>(region_.size());
    header->statement_refs = reserve(std::uint32_t{}, out_statement_refs_.size());
    header->tokens = reserve(GlobToken{}, tokens_.size());
    header->total_bytes = static_cast<std::uint32_t>(layout.size());

    std::byte* block = AllocateBlock(layout.size());
    out->block_ = block;
    std::memcpy(block, header, sizeof(Header));
    BlockLayout::PlaceBytes(block, header->region, region_);
    BlockLayout::Place(block, header->statement_refs, out_statement_refs_);
    BlockLayout::Place(block, header->tokens, tokens_);
  }

  std::uint32_t roots_[2] = {kNone, kNone};
  std::uint32_t trie_mask_ = 0;
  std::uint32_t typed_mask_ = 0;
  std::vector<BuildNode> nodes_;

  // Output sections.
  std::string region_;  // statement records, then the trie records (see Node, Statement)
  std::vector<std::uint32_t> out_statement_refs_;
  // Every statement: its record's region offset and what the builder needs of it.
  struct BuiltStatement {
    std::uint32_t offset;
    std::uint32_t actions;
    std::uint32_t condition_count;
  };
  std::vector<BuiltStatement> statements_;
  std::vector<GlobToken> tokens_;
};

// ---- CompiledIamDocument -----------------------------------------------------------------

CompiledIamDocument CompiledIamDocument::Compile(const IamPolicyDocument& document) {
  IamTrieBuilder builder;
  builder.Add(document);
  return builder.Finish();
}

CompiledIamDocument CompiledIamDocument::Compile(
    std::span<const IamPolicyDocument* const> documents) {
  IamTrieBuilder builder;
  for (const IamPolicyDocument* document : documents) {
    if (document != nullptr) builder.Add(*document);
  }
  return builder.Finish();
}

std::shared_ptr<const CompiledIamDocument> CompiledIamDocument::CompileShared(
    const IamPolicyDocument& document) {
  return std::make_shared<const CompiledIamDocument>(Compile(document));
}

CompiledIamDocument::CompiledIamDocument(CompiledIamDocument&& other) noexcept
    : block_(std::exchange(other.block_, nullptr)) {}

CompiledIamDocument& CompiledIamDocument::operator=(CompiledIamDocument&& other) noexcept {
  if (this != &other) {
    ReleaseBlock(block_);
    block_ = std::exchange(other.block_, nullptr);
  }
  return *this;
}

CompiledIamDocument::~CompiledIamDocument() { ReleaseBlock(block_); }

std::size_t CompiledIamDocument::MemoryBytes() const noexcept {
  return block_ == nullptr ? 0 : kCacheLineBytes + HeaderOf(block_)->total_bytes;
}

Decision CompiledIamDocument::Decide(const IamRequest& request) const noexcept {
  if (block_ == nullptr || !Decidable(request)) return Decision::kDefaultDeny;
  return DecideBlock(block_, static_cast<std::size_t>(request.action), request,
                     /*deny=*/true, /*allow=*/true);
}

// ---- CompiledIamPolicies -----------------------------------------------------------------

namespace {

// A tagged block: bits 0-47 the address, bits 48-63 the document's typed_mask, so that a set
// skips, without touching them, the documents that have nothing for the request's action.
constexpr int kMaskShift = 48;
constexpr std::uintptr_t kAddressMask = (std::uintptr_t{1} << kMaskShift) - 1;
static_assert(sizeof(std::uintptr_t) == 8 && 2 * kIotActionCount <= 64 - kMaskShift);

const std::byte* Untag(std::uintptr_t tagged) noexcept {
  return reinterpret_cast<const std::byte*>(tagged & kAddressMask);
}

std::uintptr_t Tag(const std::byte* block) {
  const auto address = reinterpret_cast<std::uintptr_t>(block);
  // Linux hands user space addresses below 2^47 unless a program asks for more with an mmap
  // hint (5-level paging), which this process never does.
  if ((address & ~kAddressMask) != 0) {
    throw std::runtime_error("compiled IAM document outside the 48-bit address space");
  }
  return address | (std::uintptr_t{HeaderOf(block)->typed_mask} << kMaskShift);
}

// Whether the document behind `tagged` has a pattern of the action's own type for `effect`.
bool TaggedFor(std::uintptr_t tagged, std::size_t action, std::size_t effect) noexcept {
  return ((tagged >> kMaskShift) & TrieBit(action, effect)) != 0;
}

}  // namespace

namespace {

// Calls `visit` on each tagged document (inline ones, then spilled ones) until it returns
// true; returns whether one did.
template <typename Visit>
bool VisitDocuments(const std::uintptr_t* inline_documents, const std::uintptr_t* spilled,
                    Visit&& visit) noexcept {
  for (std::size_t i = 0; i < IamPoliciesView::kInlineDocuments; ++i) {
    if (inline_documents[i] == 0) return false;
    if (visit(inline_documents[i])) return true;
  }
  if (spilled != nullptr) {
    for (std::uintptr_t i = 1; i <= spilled[0]; ++i) {
      if (visit(spilled[i])) return true;
    }
  }
  return false;
}

}  // namespace

template <typename Visit>
bool CompiledIamPolicies::AnyDocument(Visit&& visit) const noexcept {
  return VisitDocuments(inline_, spilled_.get(), std::forward<Visit>(visit));
}

void CompiledIamPolicies::ReleaseAll() noexcept {
  AnyDocument([](TaggedBlock tagged) {
    ReleaseBlock(Untag(tagged));
    return false;
  });
  for (TaggedBlock& tagged : inline_) tagged = 0;
  spilled_.reset();
}

CompiledIamPolicies::CompiledIamPolicies(CompiledIamPolicies&& other) noexcept
    : spilled_(std::move(other.spilled_)) {
  for (std::size_t i = 0; i < kInlineDocuments; ++i) {
    inline_[i] = std::exchange(other.inline_[i], 0);
  }
}

CompiledIamPolicies& CompiledIamPolicies::operator=(CompiledIamPolicies&& other) noexcept {
  if (this != &other) {
    ReleaseAll();
    for (std::size_t i = 0; i < kInlineDocuments; ++i) {
      inline_[i] = std::exchange(other.inline_[i], 0);
    }
    spilled_ = std::move(other.spilled_);
  }
  return *this;
}

CompiledIamPolicies::~CompiledIamPolicies() { ReleaseAll(); }

CompiledIamPolicies CompiledIamPolicies::FromShared(
    std::vector<std::shared_ptr<const CompiledIamDocument>> documents) {
  std::vector<const std::byte*> blocks;
  blocks.reserve(documents.size());
  for (const std::shared_ptr<const CompiledIamDocument>& document : documents) {
    if (!document || document->block_ == nullptr) continue;
    const std::byte* block = document->block_;
    if (HeaderOf(block)->trie_mask == 0) continue;  // decides nothing
    if (std::find(blocks.begin(), blocks.end(), block) != blocks.end()) continue;
    blocks.push_back(block);
  }
  // Tagged first: nothing below can fail once references are taken.
  std::vector<TaggedBlock> tagged;
  tagged.reserve(blocks.size());
  for (const std::byte* block : blocks) tagged.push_back(Tag(block));
  CompiledIamPolicies out;
  if (blocks.size() > kInlineDocuments) {
    // Allocated first: nothing below can fail once references are taken.
    out.spilled_ = std::make_unique<TaggedBlock[]>(blocks.size() - kInlineDocuments + 1);
    out.spilled_[0] = blocks.size() - kInlineDocuments;
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    RetainBlock(blocks[i]);
    if (i < kInlineDocuments) {
      out.inline_[i] = tagged[i];
    } else {
      out.spilled_[i - kInlineDocuments + 1] = tagged[i];
    }
  }
  return out;
}

CompiledIamPolicies CompiledIamPolicies::Compile(
    std::span<const IamPolicyDocument* const> documents) {
  return FromShared({std::make_shared<const CompiledIamDocument>(
      CompiledIamDocument::Compile(documents))});
}

CompiledIamPolicies CompiledIamPolicies::Compile(std::span<const IamPolicyDocument> documents) {
  std::vector<const IamPolicyDocument*> pointers;
  pointers.reserve(documents.size());
  for (const IamPolicyDocument& document : documents) pointers.push_back(&document);
  return Compile(std::span<const IamPolicyDocument* const>(pointers));
}

Decision CompiledIamPolicies::Decide(const IamRequest& request) const noexcept {
  return view().Decide(request);
}

Decision IamPoliciesView::Decide(const IamRequest& request) const noexcept {
  if (inline_[0] == 0 || !Decidable(request)) return Decision::kDefaultDeny;
  const auto action = static_cast<std::size_t>(request.action);
  // A resource of the action's own type (every request the router makes) can only match
  // documents whose tag says so: the others are skipped unread. Any other resource (sbctl
  // may ask anything) consults every document.
  const bool typed =
      internal::StartsWith(request.resource, IotActionResourcePrefix(request.action));
  const auto may_match = [typed, action](std::uintptr_t tagged, std::size_t effect) {
    return !typed || TaggedFor(tagged, action, effect);
  };
  // The first six lines of every inline document that may match are requested now, so
  // their misses overlap instead of following the walk one line at a time (paired runs:
  // 15-25 % fewer ns per decision when the documents are cold, none lost when they are
  // cached; ten lines, most of a ~540 B document, gained no more and cost 5 % cached).
  for (const std::uintptr_t tagged : inline_) {
    if (tagged == 0) break;
    if (may_match(tagged, kDeny) || may_match(tagged, kAllow)) {
      internal::PrefetchLines(Untag(tagged), 6 * kCacheLineBytes);
    }
  }
  // One pass, each document read once: an explicit Deny in any document ends the decision at
  // once (it beats every Allow); an Allow is remembered, and later documents are then only
  // asked about Deny.
  Decision decision = Decision::kDefaultDeny;
  const bool denied = VisitDocuments(inline_, spilled_, [&](std::uintptr_t tagged) {
    const bool deny = may_match(tagged, kDeny);
    const bool allow = decision != Decision::kAllow && may_match(tagged, kAllow);
    if (!deny && !allow) return false;
    const Decision said = DecideBlock(Untag(tagged), action, request, deny, allow);
    if (said == Decision::kAllow) decision = Decision::kAllow;
    return said == Decision::kExplicitDeny;
  });
  return denied ? Decision::kExplicitDeny : decision;
}

std::size_t CompiledIamPolicies::document_count() const noexcept {
  std::size_t count = 0;
  AnyDocument([&count](TaggedBlock) {
    ++count;
    return false;
  });
  return count;
}

std::size_t CompiledIamPolicies::MemoryBytes() const noexcept {
  std::size_t bytes = 0;
  AnyDocument([&bytes](TaggedBlock tagged) {
    bytes += kCacheLineBytes + HeaderOf(Untag(tagged))->total_bytes;
    return false;
  });
  return bytes;
}

std::size_t CompiledIamPolicies::OwnMemoryBytes() const noexcept {
  return sizeof(*this) + (spilled_ ? (spilled_[0] + 1) * sizeof(TaggedBlock) : 0);
}

bool CompiledIamPolicies::References(const CompiledIamDocument& document) const noexcept {
  return document.block_ != nullptr && AnyDocument([&document](TaggedBlock tagged) {
           return Untag(tagged) == document.block_;
         });
}

bool CompiledIamPolicies::SharesDocumentsWith(const CompiledIamPolicies& other) const noexcept {
  for (std::size_t i = 0; i < kInlineDocuments; ++i) {
    if (inline_[i] != other.inline_[i]) return false;
  }
  if (!spilled_ || !other.spilled_) return !spilled_ && !other.spilled_;
  return std::equal(spilled_.get(), spilled_.get() + spilled_[0] + 1, other.spilled_.get(),
                    other.spilled_.get() + other.spilled_[0] + 1);
}

// ---- The walk ----------------------------------------------------------------------------

namespace {

// Recursion depth is bounded by the resource length (every edge consumes at least one byte;
// an unavailable variable matches nothing) and by kMaxIamResourceBytes.
bool Walk::MatchNode(std::uint32_t node_offset, std::size_t position) const noexcept {
  for (;;) {
    const char* record = region.data() + node_offset;
    const Node& node = *reinterpret_cast<const Node*>(record);
    const Edge* node_edges = reinterpret_cast<const Edge*>(record + sizeof(Node));
    if ((node.actions & action_bit) == 0) return false;  // nothing below names the action
    if (position == resource.size() && node.first_statement != kNone &&
        AnyStatementHolds(node.first_statement)) {
      return true;
    }
    const Tail* node_tails = reinterpret_cast<const Tail*>(
        node_edges + node.literal_edge_count + node.other_edge_count);
    for (const Tail* tail = node_tails; tail != node_tails + node.tail_count; ++tail) {
      // A tail is a `*` and what follows it; a lone `*` (patterns ending in `/*`, the
      // commonest) matches whatever is left without a glob walk.
      if ((tail->actions & action_bit) != 0 &&
          (tail->token_count == 1 ||
           internal::GlobMatch(
               std::span<const GlobToken>(tokens + tail->first_token, tail->token_count), region,
               resource.substr(position), variables)) &&
          AnyStatementHolds(tail->first_statement)) {
        return true;
      }
    }
    if (position == resource.size()) return false;  // every edge needs at least one byte

    // `?` and variable edges branch; try them before following the single literal edge.
    for (std::uint32_t e = node.literal_edge_count;
         e < node.literal_edge_count + std::uint32_t{node.other_edge_count}; ++e) {
      const Edge& edge = node_edges[e];
      if (edge.kind == EdgeKind::kAnyChar) {
        if (MatchNode(edge.child, position + 1)) return true;
      } else {
        const std::string_view value = variables.Get(static_cast<PolicyVariable>(edge.label));
        if (!value.empty() && internal::StartsWith(resource.substr(position), value) &&
            MatchNode(edge.child, position + value.size())) {
          return true;
        }
      }
    }
    // At most one literal edge can start with the next byte (radix trie). Branch-free
    // binary search: the loop count depends only on the edge count, so it predicts well.
    std::uint32_t count = node.literal_edge_count;
    if (count == 0) return false;
    const char next = resource[position];
    const Edge* candidate = node_edges;
    while (count > 1) {
      const std::uint32_t half = count / 2;
      candidate = static_cast<unsigned char>(candidate[half].first_byte) <=
                          static_cast<unsigned char>(next)
                      ? candidate + half
                      : candidate;
      count -= half;
    }
    if (candidate->first_byte != next) return false;
    const Edge& edge = *candidate;
    const std::string_view label(region.data() + edge.label, edge.label_length);
    if (!internal::StartsWith(resource.substr(position), label)) return false;
    position += label.size();
    node_offset = edge.child;  // tail position: loop instead of recursing
  }
}

// Whether a statement of the list starting at `first_ref` names the action and all of its
// conditions hold.
bool Walk::AnyStatementHolds(std::uint32_t first_ref) const noexcept {
  for (const std::uint32_t* ref = statement_refs + first_ref;; ++ref) {
    const char* record = region.data() + (*ref & ~kLastRef);
    const auto& statement = *reinterpret_cast<const Statement*>(record);
    if ((statement.actions & action_bit) != 0) {
      bool holds = true;
      const char* at = record + sizeof(Statement);
      for (std::uint32_t c = 0; c < statement.condition_count && holds; ++c) {
        const auto& condition = *reinterpret_cast<const Condition*>(at);
        holds = ConditionHolds(condition);
        at += condition.bytes;
      }
      if (holds) return true;
    }
    if ((*ref & kLastRef) != 0) return false;
  }
}

bool Walk::ConditionHolds(const Condition& condition) const noexcept {
  std::optional<std::string_view> actual;
  switch (condition.key) {
    case IamConditionKey::kTopic:
      actual = request.topic;
      break;
    case IamConditionKey::kClientId:
      if (!request.client_id.empty()) actual = request.client_id;
      break;
    case IamConditionKey::kThingName:
      if (!request.thing_name.empty()) actual = request.thing_name;
      break;
  }
  const bool negated = condition.op == IamConditionOperator::kStringNotEquals ||
                       condition.op == IamConditionOperator::kStringNotLike;
  // IAM: a key absent from the request makes a positive operator false and a negated
  // operator true.
  if (!actual) return negated;
  bool any = false;
  const char* at = reinterpret_cast<const char*>(&condition) + sizeof(Condition);
  for (std::uint32_t v = 0; v < condition.value_count && !any; ++v) {
    const auto& value = *reinterpret_cast<const Value*>(at);
    const auto* value_tokens = reinterpret_cast<const GlobToken*>(at + sizeof(Value));
    any = internal::GlobMatch(std::span<const GlobToken>(value_tokens, value.token_count),
                              region, *actual, variables);
    at += sizeof(Value) + value.token_count * sizeof(GlobToken);
  }
  return negated ? !any : any;
}

}  // namespace

}  // namespace sb::policy
