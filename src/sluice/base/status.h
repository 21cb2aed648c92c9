// Status and Result<T>: how errors cross module boundaries in Sluice (no exceptions do).
//
// A Status is OK or carries a code and a message. Codes split into two families that callers
// treat differently (see check.h):
//   - user errors (kInvalidArgument, kNotFound, kAlreadyExists, kDataError, kFailedPrecondition):
//     bad specs, bad requests, bad records. They become exit code 2, a 4xx, or a dead letter.
//   - system errors (kIoError, kInternal, kUnavailable, kAborted): the environment or our own bug.
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "sluice/base/check.h"

namespace sluice {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // user input is wrong (spec, flag, request)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a create collided
  kFailedPrecondition,  // the operation is not allowed in the current state
  kDataError,           // a record or file is malformed
  kIoError,             // the file system or network failed
  kUnavailable,         // a dependency is down; retrying may help
  kAborted,             // a conflict (e.g. a concurrent commit); retrying may help
  kInternal,            // a bug in Sluice
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }
  template <typename... Args>
  static Status InvalidArgument(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status NotFound(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status AlreadyExists(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kAlreadyExists, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status FailedPrecondition(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status DataError(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kDataError, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status IoError(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kIoError, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  static Status Internal(fmt::format_string<Args...> f, Args&&... args) {
    return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
  }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& message() const;
  // True for the user-error family (see the file comment).
  bool IsUserError() const;
  // "InvalidArgument: message", or "OK".
  std::string ToString() const;
  // A copy with `prefix: ` in front of the message; OK stays OK.
  Status WithContext(std::string_view prefix) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

// Result<T> holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    SLUICE_CHECK(!std::get<Status>(v_).ok()) << "Result constructed from an OK status";
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    SLUICE_CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  const T& value() const& {
    SLUICE_CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  T&& value() && {
    SLUICE_CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sluice

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define SLUICE_RETURN_IF_ERROR(expr)                \
  do {                                              \
    ::sluice::Status _sluice_st = (expr);           \
    if (!_sluice_st.ok()) return _sluice_st;        \
  } while (0)

// `SLUICE_ASSIGN_OR_RETURN(auto x, F());` declares x from a Result or returns its error.
#define SLUICE_ASSIGN_OR_RETURN(lhs, rexpr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_sluice_r_, __LINE__), lhs, rexpr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
