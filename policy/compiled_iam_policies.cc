#include "policy/compiled_iam_policies.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "policy/internal/block_layout.h"
#include "policy/internal/glob.h"

namespace sb::policy {

using internal::GlobToken;
using internal::GlobTokenKind;
using internal::PolicyVariable;

namespace {

constexpr std::uint32_t kNoNode = 0xffffffffu;

struct Node {
  std::uint32_t first_edge;
  std::uint32_t literal_edge_count;  // literal edges first, sorted by first byte
  std::uint32_t other_edge_count;    // then `?` and variable edges
  std::uint32_t first_tail;
  std::uint32_t tail_count;
  std::uint32_t first_statement;  // into the statement refs: patterns that end at this node
  std::uint32_t statement_count;
};

struct Edge {
  std::uint32_t child;
  std::uint32_t label_offset;  // literal edges: bytes in the arena
  std::uint32_t label_length;
  GlobTokenKind kind;          // kLiteral, kAnyChar or kVariable
  PolicyVariable variable;
  char first_byte;             // literal edges: label[0], kept here to skip the arena
};

struct Tail {
  std::uint32_t first_token;  // starts with kAnyRun
  std::uint32_t token_count;
  std::uint32_t first_statement;
  std::uint32_t statement_count;
};

struct Statement {
  std::uint32_t first_condition;
  std::uint32_t condition_count;  // 0: unconditional
};

struct Condition {
  IamConditionOperator op;
  IamConditionKey key;
  std::uint32_t first_value;
  std::uint32_t value_count;
};

struct ConditionValue {
  std::uint32_t first_token;
  std::uint32_t token_count;
};

// First bytes of the block: where everything else is.
struct Header {
  std::uint32_t roots[kIotActionCount][2];  // [action][0] Deny trie, [action][1] Allow trie
  std::uint32_t total_bytes;
  std::uint32_t nodes;
  std::uint32_t edges;
  std::uint32_t tails;
  std::uint32_t statement_refs;
  std::uint32_t statements;
  std::uint32_t conditions;
  std::uint32_t condition_values;
  std::uint32_t tokens;
  std::uint32_t arena;
  std::uint32_t arena_bytes;
};

// Typed views of one block plus the request, for the duration of one decision.
struct Walk {
  explicit Walk(const std::byte* block, const IamRequest& r) noexcept
      : header(reinterpret_cast<const Header*>(block)),
        nodes(reinterpret_cast<const Node*>(block + header->nodes)),
        edges(reinterpret_cast<const Edge*>(block + header->edges)),
        tails(reinterpret_cast<const Tail*>(block + header->tails)),
        statement_refs(reinterpret_cast<const std::uint32_t*>(block + header->statement_refs)),
        statements(reinterpret_cast<const Statement*>(block + header->statements)),
        conditions(reinterpret_cast<const Condition*>(block + header->conditions)),
        condition_values(reinterpret_cast<const ConditionValue*>(block + header->condition_values)),
        tokens(reinterpret_cast<const GlobToken*>(block + header->tokens)),
        arena(reinterpret_cast<const char*>(block + header->arena), header->arena_bytes),
        resource(r.resource),
        request(r) {
    variables.values[static_cast<std::size_t>(PolicyVariable::kClientId)] = r.client_id;
    variables.values[static_cast<std::size_t>(PolicyVariable::kThingName)] = r.thing_name;
  }

  bool MatchNode(std::uint32_t node_index, std::size_t position) const noexcept;
  bool AnyStatementHolds(std::uint32_t first, std::uint32_t count) const noexcept;
  bool ConditionHolds(const Condition& condition) const noexcept;

  const Header* header;
  const Node* nodes;
  const Edge* edges;
  const Tail* tails;
  const std::uint32_t* statement_refs;
  const Statement* statements;
  const Condition* conditions;
  const ConditionValue* condition_values;
  const GlobToken* tokens;
  std::string_view arena;
  std::string_view resource;
  const IamRequest& request;
  internal::VariableValues variables;
};

}  // namespace

std::string_view DecisionName(Decision decision) noexcept {
  switch (decision) {
    case Decision::kAllow: return "allow";
    case Decision::kExplicitDeny: return "explicit-deny";
    case Decision::kDefaultDeny: return "default-deny";
  }
  return "default-deny";
}

// Builds the tries in ordinary containers, then lays them out in one block.
class IamTrieBuilder {
 public:
  void Add(const IamPolicyDocument& document) {
    for (const IamStatement& statement : document.statements) AddStatement(statement);
  }

  CompiledIamPolicies Finish() {
    Header header{};
    for (std::size_t action = 0; action < kIotActionCount; ++action) {
      for (std::size_t effect = 0; effect < 2; ++effect) {
        const std::uint32_t root = roots_[action][effect];
        header.roots[action][effect] = root == kNone ? kNoNode : Emit(root);
      }
    }
    CompiledIamPolicies out;
    Layout(&header, &out);
    return out;
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  // A trie edge before radix compression: one literal byte, `?` or one variable.
  struct EdgeKey {
    GlobTokenKind kind;
    unsigned char byte;  // kLiteral
    PolicyVariable variable;  // kVariable
    bool operator<(const EdgeKey& other) const {
      if (kind != other.kind) return kind < other.kind;
      if (kind == GlobTokenKind::kLiteral) return byte < other.byte;
      if (kind == GlobTokenKind::kVariable) return variable < other.variable;
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
    bool actions[kIotActionCount] = {};
    bool any_action = false;
    for (const std::string& pattern : statement.actions) {
      for (std::size_t a = 0; a < kIotActionCount; ++a) {
        // IAM action names are case-insensitive.
        if (internal::SimpleGlobMatch(pattern, IotActionName(static_cast<IotAction>(a)),
                                      /*ignore_case=*/true)) {
          actions[a] = true;
          any_action = true;
        }
      }
    }
    if (!any_action) return;  // only actions this router never decides

    const std::uint32_t statement_index = AddConditions(statement.conditions);
    const std::size_t effect = statement.effect == IamEffect::kDeny ? 0 : 1;
    for (const std::string& resource : statement.resources) {
      std::string scratch_arena;
      std::vector<GlobToken> tokens;
      // Parsed documents always tokenize. A hand-built one that does not fails safe: an
      // unreadable Allow pattern grants nothing, an unreadable Deny pattern denies everything.
      std::string reason =
          internal::TokenizePattern(resource, /*wildcards=*/true, &scratch_arena, &tokens);
      if (!reason.empty()) {
        if (effect == 1) continue;
        tokens.assign(1, GlobToken{GlobTokenKind::kAnyRun, PolicyVariable::kClientId, 0, 0});
      }
      for (std::size_t a = 0; a < kIotActionCount; ++a) {
        if (!actions[a]) continue;
        std::uint32_t& root = roots_[a][effect];
        if (root == kNone) root = NewNode();
        Insert(root, tokens, scratch_arena, statement_index);
      }
    }
  }

  std::uint32_t AddConditions(const std::vector<IamCondition>& conditions) {
    Statement compiled{static_cast<std::uint32_t>(conditions_.size()),
                                            static_cast<std::uint32_t>(conditions.size())};
    for (const IamCondition& condition : conditions) {
      const bool wildcards = condition.op == IamConditionOperator::kStringLike ||
                             condition.op == IamConditionOperator::kStringNotLike;
      Condition out{condition.op, condition.key,
                                         static_cast<std::uint32_t>(values_.size()), 0};
      for (const std::string& value : condition.values) {
        const auto first = static_cast<std::uint32_t>(tokens_.size());
        if (!internal::TokenizePattern(value, wildcards, &arena_, &tokens_).empty()) {
          // Unreachable for parsed documents; a value that cannot be read matches nothing.
          tokens_.resize(first);
          continue;
        }
        // An empty value is an empty literal: it only equals the empty string.
        values_.push_back({first, static_cast<std::uint32_t>(tokens_.size() - first)});
        ++out.value_count;
      }
      conditions_.push_back(out);
    }
    statements_.push_back(compiled);
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
            node = Child(node, EdgeKey{GlobTokenKind::kLiteral, static_cast<unsigned char>(c),
                                       PolicyVariable::kClientId});
          }
          break;
        case GlobTokenKind::kAnyChar:
          node = Child(node, EdgeKey{GlobTokenKind::kAnyChar, 0, PolicyVariable::kClientId});
          break;
        case GlobTokenKind::kVariable:
          node = Child(node, EdgeKey{GlobTokenKind::kVariable, 0, token.variable});
          break;
      }
    }
    AddUnique(&nodes_[node].statements, statement);
  }

  // Unconditional statements first, so a match returns without evaluating conditions.
  std::uint32_t EmitStatements(std::vector<std::uint32_t> statements) {
    std::stable_sort(statements.begin(), statements.end(), [&](std::uint32_t a, std::uint32_t b) {
      return (statements_[a].condition_count == 0) > (statements_[b].condition_count == 0);
    });
    const auto first = static_cast<std::uint32_t>(out_statement_refs_.size());
    out_statement_refs_.insert(out_statement_refs_.end(), statements.begin(), statements.end());
    return first;
  }

  // Radix-compresses the subtree under `build_index` into the output arrays.
  std::uint32_t Emit(std::uint32_t build_index) {
    const auto out_index = static_cast<std::uint32_t>(out_nodes_.size());
    out_nodes_.emplace_back();
    BuildNode& build = nodes_[build_index];
    std::sort(build.children.begin(), build.children.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    Node node{};
    node.statement_count = static_cast<std::uint32_t>(build.statements.size());
    node.first_statement = EmitStatements(build.statements);
    node.first_tail = static_cast<std::uint32_t>(out_tails_.size());
    node.tail_count = static_cast<std::uint32_t>(build.tails.size());
    for (const BuildTail& tail : build.tails) {
      const auto first_token = static_cast<std::uint32_t>(tokens_.size());
      internal::TokenizePattern(tail.canonical, /*wildcards=*/true, &arena_, &tokens_);
      out_tails_.push_back({first_token, static_cast<std::uint32_t>(tokens_.size() - first_token),
                            EmitStatements(tail.statements),
                            static_cast<std::uint32_t>(tail.statements.size())});
    }

    // Reserve this node's edges contiguously, then fill children depth-first.
    node.first_edge = static_cast<std::uint32_t>(out_edges_.size());
    const std::vector<std::pair<EdgeKey, std::uint32_t>> children = build.children;
    for (const auto& [key, child] : children) {
      if (key.kind == GlobTokenKind::kLiteral) {
        ++node.literal_edge_count;
      } else {
        ++node.other_edge_count;
      }
    }
    out_edges_.resize(out_edges_.size() + children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto& [key, first_child] = children[i];
      Edge edge{};
      edge.kind = key.kind;
      edge.variable = key.variable;
      std::uint32_t child = first_child;
      if (key.kind == GlobTokenKind::kLiteral) {
        edge.label_offset = static_cast<std::uint32_t>(arena_.size());
        arena_ += static_cast<char>(key.byte);
        edge.first_byte = static_cast<char>(key.byte);
        // Follow single-child literal chains that carry nothing of their own.
        for (;;) {
          const BuildNode& next = nodes_[child];
          if (next.children.size() != 1 || !next.tails.empty() || !next.statements.empty() ||
              next.children[0].first.kind != GlobTokenKind::kLiteral) {
            break;
          }
          arena_ += static_cast<char>(next.children[0].first.byte);
          child = next.children[0].second;
        }
        edge.label_length = static_cast<std::uint32_t>(arena_.size() - edge.label_offset);
      }
      edge.child = Emit(child);
      out_edges_[node.first_edge + i] = edge;
    }
    out_nodes_[out_index] = node;
    return out_index;
  }

  void Layout(Header* header, CompiledIamPolicies* out) {
    using internal::BlockLayout;
    BlockLayout layout;
    layout.Reserve<Header>(1);
    const auto reserve = [&layout](auto tag, std::size_t count) {
      return static_cast<std::uint32_t>(layout.Reserve<decltype(tag)>(count));
    };
    header->nodes = reserve(Node{}, out_nodes_.size());
    header->edges = reserve(Edge{}, out_edges_.size());
    header->tails = reserve(Tail{}, out_tails_.size());
    header->statement_refs = reserve(std::uint32_t{}, out_statement_refs_.size());
    header->statements = reserve(Statement{}, statements_.size());
    header->conditions = reserve(Condition{}, conditions_.size());
    header->condition_values = reserve(ConditionValue{}, values_.size());
    header->tokens = reserve(GlobToken{}, tokens_.size());
    header->arena = reserve(char{}, arena_.size());
    header->arena_bytes = static_cast<std::uint32_t>(arena_.size());
    header->total_bytes = static_cast<std::uint32_t>(layout.size());

    out->block_ = layout.Allocate();
    std::byte* block = out->block_.get();
    std::memcpy(block, header, sizeof(Header));
    BlockLayout::Place(block, header->nodes, out_nodes_);
    BlockLayout::Place(block, header->edges, out_edges_);
    BlockLayout::Place(block, header->tails, out_tails_);
    BlockLayout::Place(block, header->statement_refs, out_statement_refs_);
    BlockLayout::Place(block, header->statements, statements_);
    BlockLayout::Place(block, header->conditions, conditions_);
    BlockLayout::Place(block, header->condition_values, values_);
    BlockLayout::Place(block, header->tokens, tokens_);
    BlockLayout::PlaceBytes(block, header->arena, arena_);
  }

  std::uint32_t roots_[kIotActionCount][2] = {
      {kNone, kNone}, {kNone, kNone}, {kNone, kNone}, {kNone, kNone}, {kNone, kNone}};
  std::vector<BuildNode> nodes_;

  // Output sections.
  std::vector<Node> out_nodes_;
  std::vector<Edge> out_edges_;
  std::vector<Tail> out_tails_;
  std::vector<std::uint32_t> out_statement_refs_;
  std::vector<Statement> statements_;
  std::vector<Condition> conditions_;
  std::vector<ConditionValue> values_;
  std::vector<GlobToken> tokens_;
  std::string arena_;
};

CompiledIamPolicies CompiledIamPolicies::Compile(
    std::span<const IamPolicyDocument* const> documents) {
  IamTrieBuilder builder;
  for (const IamPolicyDocument* document : documents) {
    if (document != nullptr) builder.Add(*document);
  }
  return builder.Finish();
}

CompiledIamPolicies CompiledIamPolicies::Compile(std::span<const IamPolicyDocument> documents) {
  IamTrieBuilder builder;
  for (const IamPolicyDocument& document : documents) builder.Add(document);
  return builder.Finish();
}

std::size_t CompiledIamPolicies::MemoryBytes() const noexcept {
  return block_ ? reinterpret_cast<const Header*>(block_.get())->total_bytes : 0;
}

Decision CompiledIamPolicies::Decide(const IamRequest& request) const noexcept {
  const auto action = static_cast<std::size_t>(request.action);
  if (!block_ || action >= kIotActionCount ||
      request.resource.size() > kMaxResourceBytes) {
    return Decision::kDefaultDeny;
  }
  const Walk walk(block_.get(), request);
  const std::uint32_t deny_root = walk.header->roots[action][0];
  if (deny_root != kNoNode && walk.MatchNode(deny_root, 0)) return Decision::kExplicitDeny;
  const std::uint32_t allow_root = walk.header->roots[action][1];
  if (allow_root != kNoNode && walk.MatchNode(allow_root, 0)) return Decision::kAllow;
  return Decision::kDefaultDeny;
}

namespace {

// Recursion depth is bounded by the resource length (every edge consumes at least one byte;
// an unavailable variable matches nothing) and by kMaxResourceBytes.
bool Walk::MatchNode(std::uint32_t node_index, std::size_t position) const noexcept {
  for (;;) {
    const Node& node = nodes[node_index];
    if (position == resource.size() && node.statement_count != 0 &&
        AnyStatementHolds(node.first_statement, node.statement_count)) {
      return true;
    }
    for (std::uint32_t t = 0; t < node.tail_count; ++t) {
      const Tail& tail = tails[node.first_tail + t];
      if (internal::GlobMatch(std::span<const GlobToken>(tokens + tail.first_token,
                                                         tail.token_count),
                              arena, resource.substr(position), variables) &&
          AnyStatementHolds(tail.first_statement, tail.statement_count)) {
        return true;
      }
    }
    if (position == resource.size()) return false;  // every edge needs at least one byte

    // `?` and variable edges branch; try them before following the single literal edge.
    const Edge* node_edges = edges + node.first_edge;
    for (std::uint32_t e = node.literal_edge_count;
         e < node.literal_edge_count + node.other_edge_count; ++e) {
      const Edge& edge = node_edges[e];
      if (edge.kind == GlobTokenKind::kAnyChar) {
        if (MatchNode(edge.child, position + 1)) return true;
      } else {
        const std::string_view value = variables.Get(edge.variable);
        if (!value.empty() && resource.substr(position).starts_with(value) &&
            MatchNode(edge.child, position + value.size())) {
          return true;
        }
      }
    }
    // At most one literal edge can start with the next byte (radix trie).
    const auto next = static_cast<unsigned char>(resource[position]);
    std::uint32_t lo = 0;
    std::uint32_t hi = node.literal_edge_count;
    while (lo < hi) {
      const std::uint32_t mid = (lo + hi) / 2;
      if (static_cast<unsigned char>(node_edges[mid].first_byte) < next) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo == node.literal_edge_count ||
        static_cast<unsigned char>(node_edges[lo].first_byte) != next) {
      return false;
    }
    const Edge& edge = node_edges[lo];
    const std::string_view label = arena.substr(edge.label_offset, edge.label_length);
    if (resource.compare(position, label.size(), label) != 0) return false;
    position += label.size();
    node_index = edge.child;  // tail position: loop instead of recursing
  }
}

bool Walk::AnyStatementHolds(std::uint32_t first, std::uint32_t count) const noexcept {
  for (std::uint32_t i = 0; i < count; ++i) {
    const Statement& statement = statements[statement_refs[first + i]];
    bool holds = true;
    for (std::uint32_t c = 0; c < statement.condition_count && holds; ++c) {
      holds = ConditionHolds(conditions[statement.first_condition + c]);
    }
    if (holds) return true;
  }
  return false;
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
  for (std::uint32_t v = 0; v < condition.value_count && !any; ++v) {
    const ConditionValue& value = condition_values[condition.first_value + v];
    any = internal::GlobMatch(
        std::span<const GlobToken>(tokens + value.first_token, value.token_count), arena,
        *actual, variables);
  }
  return negated ? !any : any;
}

}  // namespace

}  // namespace sb::policy
