#include "sluice/engine/ops/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sluice/base/hash.h"

namespace sluice::engine::ops {
namespace {

TEST(HyperLogLog, EmptyIsZeroAndSmallCountsAreExact) {
  HyperLogLog h;
  EXPECT_EQ(h.Estimate(), 0.0);
  for (uint64_t i = 0; i < 100; ++i) {
    h.Add(HashInt(i));
    h.Add(HashInt(i));  // repeats do not count
  }
  EXPECT_EQ(std::llround(h.Estimate()), 100);
  EXPECT_FALSE(h.is_dense());
}

TEST(HyperLogLog, ErrorStaysWithinFourStandardErrorsAcrossTheRange) {
  const double se = 1.04 / std::sqrt(double{HyperLogLog::kRegisters});
  for (uint64_t n : {1000ull, 10000ull, 40000ull, 100000ull, 1000000ull}) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) h.Add(HashInt(i * 7919 + n));
    double rel = std::abs(h.Estimate() - double(n)) / double(n);
    EXPECT_LT(rel, 4 * se) << "n=" << n << " estimate=" << h.Estimate();
  }
}

TEST(HyperLogLog, SparseAndDenseAgreeAndMergeIsUnion) {
  HyperLogLog a, b, dense;
  for (uint64_t i = 0; i < 1500; ++i) a.Add(Hash64(std::to_string(i)));
  for (uint64_t i = 1000; i < 3000; ++i) b.Add(Hash64(std::to_string(i)));
  for (uint64_t i = 0; i < 3000; ++i) dense.Add(Hash64(std::to_string(i)));
  HyperLogLog merged = a;
  merged.Merge(b);
  EXPECT_TRUE(dense.is_dense());
  EXPECT_DOUBLE_EQ(merged.Estimate(), dense.Estimate());
  EXPECT_NEAR(dense.Estimate(), 3000, 3000 * 0.04);
}

}  // namespace
}  // namespace sluice::engine::ops
