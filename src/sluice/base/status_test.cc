#include "sluice/base/status.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Result<int> Half(int x) {
  SLUICE_USER_CHECK(x % 2 == 0, "{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  SLUICE_ASSIGN_OR_RETURN(int h, Half(x));
  SLUICE_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::InvalidArgument("bad {}", 42);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "bad 42");
  EXPECT_TRUE(s.IsUserError());
  EXPECT_FALSE(Status::IoError("disk").IsUserError());
  EXPECT_EQ(s.WithContext("spec.yaml:3").message(), "spec.yaml:3: bad 42");
  EXPECT_EQ(s.ToString(), "InvalidArgument: bad 42");
}

TEST(Result, PropagatesThroughMacros) {
  auto ok = Quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto err = Quarter(6);  // 6/2 = 3 is odd
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().message(), "3 is odd");
}

TEST(Check, FailureAborts) {
  EXPECT_DEATH({ SLUICE_CHECK(1 + 1 == 3) << "math"; }, "CHECK failed.*math");
}

}  // namespace
}  // namespace sluice
