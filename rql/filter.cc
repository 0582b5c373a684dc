#include "rql/filter.h"

#include <chrono>
#include <optional>
#include <utility>

#include "rql/internal/instant.h"

namespace sb::rql {

using internal::Field;
using internal::FilterProgram;
using internal::Instant;
using internal::Number;
using internal::Operand;
using internal::Order;
using internal::Step;
using internal::TimeValue;

// ---------------------------------------------------------------------------------------
// Compilation

class FilterCompiler {
 public:
  explicit FilterCompiler(const CompileOptions& options) : options_(options) {}

  CompileResult Run(const Node& root) {
    CompileResult result;
    uint32_t index = 0;
    if (!CompileNode(root, 1, &index)) {
      result.error = std::move(error_);
      return result;
    }
    program_.root = index;
    result.ok = true;
    result.filter.program_ = std::move(program_);
    return result;
  }

 private:
  bool Fail(size_t position, std::string message) {
    error_.position = position;
    error_.message = std::move(message);
    return false;
  }

  bool CompileNode(const Node& node, uint32_t depth, uint32_t* index) {
    if (depth > kMaxFilterDepth) {
      return Fail(node.position, "filter is nested deeper than " +
                                     std::to_string(kMaxFilterDepth) + " levels");
    }
    Step step;
    step.kind = node.kind;
    step.op = node.op;
    switch (node.kind) {
      case NodeKind::kComparison:
      case NodeKind::kIn: {
        const bool single = node.kind == NodeKind::kComparison;
        if (single ? node.values.size() != 1 : node.values.empty()) {
          return Fail(node.position, std::string(OperatorName(node)) +
                                         (single ? " needs exactly one value"
                                                 : " needs at least one value"));
        }
        if (!CompileField(node, &step.field)) return false;
        const bool like = single && (node.op == ComparisonOp::kLike ||
                                     node.op == ComparisonOp::kILike);
        if (like) {
          const Literal& pattern = node.values.front();
          if (pattern.type != LiteralType::kString) {
            return Fail(pattern.position,
                        std::string(OperatorName(node)) + " needs a quoted string pattern");
          }
          step.like = static_cast<uint32_t>(program_.likes.size());
          program_.likes.emplace_back(pattern.text, node.op == ComparisonOp::kILike);
        }
        step.first = static_cast<uint32_t>(program_.operands.size());
        step.count = static_cast<uint32_t>(node.values.size());
        for (const Literal& literal : node.values) {
          Operand operand;
          if (!CompileOperand(literal, &operand)) return false;
          program_.operands.push_back(std::move(operand));
        }
        break;
      }
      case NodeKind::kAnd:
      case NodeKind::kOr:
      case NodeKind::kNot: {
        const bool single = node.kind == NodeKind::kNot;
        if (single ? node.children.size() != 1 : node.children.empty()) {
          return Fail(node.position, std::string(OperatorName(node)) +
                                         (single ? " needs exactly one query"
                                                 : " needs at least one query"));
        }
        std::vector<uint32_t> children;
        children.reserve(node.children.size());
        for (const Node& child : node.children) {
          uint32_t child_index = 0;
          if (!CompileNode(child, depth + 1, &child_index)) return false;
          children.push_back(child_index);
        }
        step.first = static_cast<uint32_t>(program_.children.size());
        step.count = static_cast<uint32_t>(children.size());
        program_.children.insert(program_.children.end(), children.begin(), children.end());
        break;
      }
      case NodeKind::kExists:
      case NodeKind::kEmpty:
        if (!CompileField(node, &step.field)) return false;
        break;
    }
    *index = static_cast<uint32_t>(program_.steps.size());
    program_.steps.push_back(step);
    return true;
  }

  bool CompileField(const Node& node, uint32_t* index) {
    const std::string_view property = node.property;
    const size_t position = node.property_position;
    Field field;
    field.first_segment = static_cast<uint32_t>(program_.segments.size());

    // `prefix:name` when the first path segment holds a ':' (attributes/a:b stays a path).
    const size_t colon = property.find(':');
    const bool placeholder = !property.starts_with('/') && colon != std::string_view::npos &&
                             property.find('/') > colon;
    if (placeholder) {
      const std::string_view prefix = property.substr(0, colon);
      const std::string_view name = property.substr(colon + 1);
      if (options_.placeholders == PlaceholderSource::kContext) {
        if (!IsPlaceholderPrefix(prefix)) {
          return Fail(position, "unknown placeholder prefix '" + std::string(prefix) +
                                    ":' (known: topic:, resource:, entity:)");
        }
        const std::optional<Placeholder> known = FindPlaceholder(prefix, name);
        if (!known) return Fail(position, "unknown placeholder '" + std::string(property) + "'");
        field.from_context = true;
        field.placeholder = *known;
      } else {
        program_.segments.emplace_back(prefix);
        program_.segments.emplace_back(name);
        field.segment_count = 2;
      }
    } else {
      std::string_view path = property;
      if (path.starts_with('/')) path.remove_prefix(1);
      while (!path.empty()) {
        const size_t slash = path.find('/');
        const std::string_view raw = path.substr(0, slash);
        if (raw.empty()) {
          return Fail(position, "empty segment in property '" + std::string(property) + "'");
        }
        std::string segment;
        if (!DecodePointerSegment(raw, &segment)) {
          return Fail(position, "'~' must be followed by 0 or 1 in property '" +
                                    std::string(property) + "'");
        }
        program_.segments.push_back(std::move(segment));
        ++field.segment_count;
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
        if (path.empty()) {
          return Fail(position, "empty segment in property '" + std::string(property) + "'");
        }
      }
      field.derive_namespace =
          field.segment_count == 1 && program_.segments.back() == "_namespace";
    }
    *index = static_cast<uint32_t>(program_.fields.size());
    program_.fields.push_back(field);
    return true;
  }

  // RFC 6901: ~1 is '/', ~0 is '~'.
  static bool DecodePointerSegment(std::string_view raw, std::string* out) {
    out->reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        out->push_back(raw[i]);
        continue;
      }
      if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) return false;
      out->push_back(raw[i + 1] == '1' ? '/' : '~');
      ++i;
    }
    return true;
  }

  bool CompileOperand(const Literal& literal, Operand* operand) {
    operand->type = literal.type;
    switch (literal.type) {
      case LiteralType::kInteger:
        operand->number = Number::Int64(literal.integer);
        return true;
      case LiteralType::kDouble:
        operand->number = Number::Double(literal.number);
        return true;
      case LiteralType::kString:
        operand->text = literal.text;
        operand->text_is_number = internal::ParseDecimalString(literal.text, &operand->number);
        return true;
      case LiteralType::kBoolean:
        operand->boolean = literal.boolean;
        return true;
      case LiteralType::kNull:
        return true;
      case LiteralType::kPlaceholder:
        if (literal.text == "time:now") {
          operand->time = TimeValue::kNow;
        } else if (literal.text == "time:now_epoch_millis") {
          operand->time = TimeValue::kNowEpochMillis;
        } else {
          return Fail(literal.position, "unknown placeholder '" + literal.text +
                                            "' (supported: time:now, time:now_epoch_millis)");
        }
        return true;
    }
    return Fail(literal.position, "unsupported value");
  }

  CompileOptions options_;
  FilterProgram program_;
  Error error_;
};

CompileResult Compile(const Node& root, const CompileOptions& options) {
  return FilterCompiler(options).Run(root);
}

CompileResult ParseAndCompile(std::string_view text, const CompileOptions& options,
                              const ParseLimits& limits) {
  ParseResult parsed = Parse(text, limits);
  if (!parsed.ok) {
    CompileResult result;
    result.error = std::move(parsed.error);
    return result;
  }
  return Compile(parsed.root, options);
}

// ---------------------------------------------------------------------------------------
// Evaluation: nothing below allocates. Values are views into the document or the context.

namespace {

struct Value {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  Number number;
  std::string_view string;
  simdjson::dom::element element;  // kArray, kObject

  static Value String(std::string_view text) {
    Value value;
    value.kind = Kind::kString;
    value.string = text;
    return value;
  }

  // Reads one DOM value. The type switch makes every get_*() succeed; a failure would leave
  // the value null, never undefined.
  static Value From(simdjson::dom::element element) {
    using simdjson::SUCCESS;
    using simdjson::dom::element_type;
    Value value;
    switch (element.type()) {
      case element_type::ARRAY:
        value.kind = Kind::kArray;
        value.element = element;
        break;
      case element_type::OBJECT:
        value.kind = Kind::kObject;
        value.element = element;
        break;
      case element_type::INT64: {
        int64_t i = 0;
        if (element.get_int64().get(i) == SUCCESS) value.SetNumber(Number::Int64(i));
        break;
      }
      case element_type::UINT64: {
        uint64_t u = 0;
        if (element.get_uint64().get(u) == SUCCESS) {
          value.SetNumber(u <= static_cast<uint64_t>(INT64_MAX)
                              ? Number::Int64(static_cast<int64_t>(u))
                              : Number::Uint64(u));
        }
        break;
      }
      case element_type::DOUBLE: {
        double d = 0;
        if (element.get_double().get(d) == SUCCESS) value.SetNumber(Number::Double(d));
        break;
      }
      case element_type::STRING:
        if (element.get_string().get(value.string) == SUCCESS) value.kind = Kind::kString;
        break;
      case element_type::BOOL:
        if (element.get_bool().get(value.boolean) == SUCCESS) value.kind = Kind::kBool;
        break;
      case element_type::NULL_VALUE:
        break;
    }
    return value;
  }

 private:
  void SetNumber(Number n) {
    kind = Kind::kNumber;
    number = n;
  }
};

bool IsEmptyValue(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNull: return true;
    case Value::Kind::kString: return value.string.empty();
    case Value::Kind::kArray: {
      simdjson::dom::array array;
      return value.element.get_array().get(array) != simdjson::SUCCESS || array.size() == 0;
    }
    case Value::Kind::kObject: {
      simdjson::dom::object object;
      return value.element.get_object().get(object) != simdjson::SUCCESS || object.size() == 0;
    }
    case Value::Kind::kBool:
    case Value::Kind::kNumber:
      return false;
  }
  return false;
}

bool IsOrdering(ComparisonOp op) {
  return op == ComparisonOp::kGt || op == ComparisonOp::kGe || op == ComparisonOp::kLt ||
         op == ComparisonOp::kLe;
}

bool Satisfies(ComparisonOp op, Order order) {
  switch (op) {
    case ComparisonOp::kEq: return order == Order::kEqual;
    case ComparisonOp::kNe: return order != Order::kEqual;
    case ComparisonOp::kGt: return order == Order::kGreater;
    case ComparisonOp::kGe: return order == Order::kGreater || order == Order::kEqual;
    case ComparisonOp::kLt: return order == Order::kLess;
    case ComparisonOp::kLe: return order == Order::kLess || order == Order::kEqual;
    default: return false;
  }
}

Order CompareWithNumber(const Value& value, const Number& number) {
  if (value.kind == Value::Kind::kNumber) return internal::CompareNumbers(value.number, number);
  if (value.kind == Value::Kind::kString) {
    Number parsed;
    if (internal::ParseDecimalString(value.string, &parsed)) {
      return internal::CompareNumbers(parsed, number);
    }
  }
  return Order::kUnordered;
}

class Evaluator {
 public:
  Evaluator(const FilterProgram& program, const EvalContext& context)
      : program_(program), context_(context) {}

  bool Evaluate(uint32_t index) {
    const Step& step = program_.steps[index];
    switch (step.kind) {
      case NodeKind::kAnd:
        for (uint32_t k = 0; k < step.count; ++k) {
          if (!Evaluate(program_.children[step.first + k])) return false;
        }
        return true;
      case NodeKind::kOr:
        for (uint32_t k = 0; k < step.count; ++k) {
          if (Evaluate(program_.children[step.first + k])) return true;
        }
        return false;
      case NodeKind::kNot:
        return !Evaluate(program_.children[step.first]);
      case NodeKind::kExists:
        return VisitLeaves(program_.fields[step.field],
                           [](const Value&, bool) { return true; });
      case NodeKind::kEmpty: {
        bool empty = true;  // stays true when nothing is found
        VisitLeaves(program_.fields[step.field], [&](const Value& value, bool through_array) {
          empty = !through_array && IsEmptyValue(value);
          return true;
        });
        return empty;
      }
      case NodeKind::kIn:
        return AnyCandidate(program_.fields[step.field], [&](const Value& value) {
          for (uint32_t k = 0; k < step.count; ++k) {
            if (Compare(value, program_.operands[step.first + k]) == Order::kEqual) return true;
          }
          return false;
        });
      case NodeKind::kComparison:
        return EvaluateComparison(step);
    }
    return false;
  }

 private:
  bool EvaluateComparison(const Step& step) {
    const Field& field = program_.fields[step.field];
    const Operand& operand = program_.operands[step.first];
    switch (step.op) {
      case ComparisonOp::kLike:
      case ComparisonOp::kILike: {
        const LikePattern& pattern = program_.likes[step.like];
        return AnyCandidate(field, [&](const Value& value) {
          return value.kind == Value::Kind::kString && pattern.Matches(value.string);
        });
      }
      case ComparisonOp::kNe:
        return !AnyCandidate(field, [&](const Value& value) {
          return Compare(value, operand) == Order::kEqual;
        });
      default:
        if (IsOrdering(step.op) && operand.type == LiteralType::kNull) return false;
        return AnyCandidate(field, [&](const Value& value) {
          return Satisfies(step.op, Compare(value, operand));
        });
    }
  }

  // How the field value relates to the filter value.
  Order Compare(const Value& value, const Operand& operand) {
    switch (operand.type) {
      case LiteralType::kNull:
        return value.kind == Value::Kind::kNull ? Order::kEqual : Order::kUnordered;
      case LiteralType::kBoolean:
        if (value.kind != Value::Kind::kBool) return Order::kUnordered;
        if (value.boolean == operand.boolean) return Order::kEqual;
        return value.boolean ? Order::kGreater : Order::kLess;
      case LiteralType::kInteger:
      case LiteralType::kDouble:
        return CompareWithNumber(value, operand.number);
      case LiteralType::kString:
        if (value.kind == Value::Kind::kString) {
          const int c = value.string.compare(operand.text);
          return c < 0 ? Order::kLess : (c > 0 ? Order::kGreater : Order::kEqual);
        }
        if (value.kind == Value::Kind::kNumber && operand.text_is_number) {
          return internal::CompareNumbers(value.number, operand.number);
        }
        return Order::kUnordered;
      case LiteralType::kPlaceholder:
        if (operand.time == TimeValue::kNow) {
          Instant instant;
          if (value.kind != Value::Kind::kString ||
              !internal::ParseIsoInstant(value.string, &instant)) {
            return Order::kUnordered;
          }
          return internal::CompareInstants(instant, Now());
        }
        if (operand.time == TimeValue::kNowEpochMillis) {
          const Instant& now = Now();
          return CompareWithNumber(value,
                                   Number::Int64(now.seconds * 1000 + now.nanos / 1'000'000));
        }
        return Order::kUnordered;
    }
    return Order::kUnordered;
  }

  const Instant& Now() {
    if (!now_) {
      now_ = internal::ToInstant(context_.now ? *context_.now
                                              : std::chrono::system_clock::now());
    }
    return *now_;
  }

  // Calls fn(value, through_array) for each value the field's path reaches, until fn
  // returns true; returns whether it did.
  template <typename Fn>
  bool VisitLeaves(const Field& field, Fn&& fn) {
    if (field.from_context) {
      const std::optional<std::string_view>& text =
          context_.placeholders[static_cast<size_t>(field.placeholder)];
      return text ? fn(Value::String(*text), false) : false;
    }
    if (!context_.document) return false;
    const simdjson::dom::element root = *context_.document;
    if (field.derive_namespace) {
      simdjson::dom::object object;
      simdjson::dom::element ignored;
      if (root.get_object().get(object) == simdjson::SUCCESS &&
          object.at_key("_namespace").get(ignored) != simdjson::SUCCESS) {
        std::string_view thing_id;
        if (object.at_key("thingId").get_string().get(thing_id) != simdjson::SUCCESS) {
          return false;
        }
        const size_t colon = thing_id.find(':');
        if (colon == std::string_view::npos) return false;
        return fn(Value::String(thing_id.substr(0, colon)), false);
      }
    }
    const std::string* first = program_.segments.data() + field.first_segment;
    return Walk(root, first, first + field.segment_count, false, 0, fn);
  }

  template <typename Fn>
  bool Walk(simdjson::dom::element current, const std::string* segment,
            const std::string* end, bool through_array, int array_depth, Fn& fn) {
    using simdjson::dom::element_type;
    while (segment != end) {
      const element_type type = current.type();
      if (type == element_type::OBJECT) {
        simdjson::dom::object object;
        if (current.get_object().get(object) != simdjson::SUCCESS ||
            object.at_key(*segment).get(current) != simdjson::SUCCESS) {
          return false;
        }
        ++segment;
      } else if (type == element_type::ARRAY) {
        if (array_depth >= kMaxArrayNesting) return false;
        simdjson::dom::array array;
        if (current.get_array().get(array) != simdjson::SUCCESS) return false;
        for (const simdjson::dom::element child : array) {
          if (Walk(child, segment, end, true, array_depth + 1, fn)) return true;
        }
        return false;
      } else {
        return false;
      }
    }
    return fn(Value::From(current), through_array);
  }

  // Calls fn(value) for each comparable candidate: every value the path reaches, with arrays
  // replaced by their elements (recursively, up to kMaxArrayNesting).
  template <typename Fn>
  bool AnyCandidate(const Field& field, Fn&& fn) {
    return VisitLeaves(field, [&](const Value& value, bool) { return Expand(value, 0, fn); });
  }

  template <typename Fn>
  bool Expand(const Value& value, int depth, Fn& fn) {
    if (value.kind != Value::Kind::kArray) return fn(value);
    if (depth >= kMaxArrayNesting) return false;
    simdjson::dom::array array;
    if (value.element.get_array().get(array) != simdjson::SUCCESS) return false;
    for (const simdjson::dom::element child : array) {
      if (Expand(Value::From(child), depth + 1, fn)) return true;
    }
    return false;
  }

  const FilterProgram& program_;
  const EvalContext& context_;
  std::optional<Instant> now_;
};

}  // namespace

bool Filter::Matches(const EvalContext& context) const noexcept {
  if (program_.steps.empty()) return false;
  return Evaluator(program_, context).Evaluate(program_.root);
}

}  // namespace sb::rql
