// Two kinds of checks (after Velox):
//   SLUICE_CHECK(cond) << "..."   — an invariant of our own code. Failing it is a Sluice bug:
//                                    it logs file:line and aborts (a 5xx at the API edge).
//   SLUICE_USER_CHECK(cond, fmt, args...) — a condition on user input. Failing it returns
//                                    Status::InvalidArgument from the enclosing function, so the
//                                    caller turns it into exit code 2, a 4xx or a dead letter.
#pragma once

#include <sstream>

namespace sluice::internal {

// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Makes `cond ? (void)0 : Voidify() & CheckFailure(...) << x` well-typed.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace sluice::internal

#define SLUICE_CHECK(cond)                  \
  (cond) ? (void)0                          \
         : ::sluice::internal::Voidify() &  \
               ::sluice::internal::CheckFailure(__FILE__, __LINE__, #cond)

#define SLUICE_USER_CHECK(cond, ...)                          \
  do {                                                        \
    if (!(cond)) return ::sluice::Status::InvalidArgument(__VA_ARGS__); \
  } while (0)
