// Errors as values for the policy library (STYLE.md): parsing and validation return a
// Result<T> holding either the value or a PolicyError. Only the compile path (control plane)
// produces these; decisions on the hot path return plain enums/bools and never fail.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sb::policy {

// A rejected policy document. `code` is machine-readable (Ditto-style for Ditto policies,
// e.g. "policies:policy.invalid"; "iot:policy.invalid" for IAM-style documents) and
// `message` is a human reason that names the offending field; the server returns both in a
// 400 body.
struct PolicyError {
  std::string code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Result(PolicyError error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Precondition: ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }

  // Precondition: !ok().
  const PolicyError& error() const& { return std::get<1>(state_); }

 private:
  std::variant<T, PolicyError> state_;
};

}  // namespace sb::policy
