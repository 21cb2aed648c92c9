#include "sluice/engine/kernels/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sluice/base/hash.h"
#include "sluice/engine/kernels/snapshot_codec.h"

namespace sluice::engine::kernels {
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

std::string SaveSketch(const HyperLogLog& h) {
  std::string out;
  SnapshotWriter w(out, "TEST", 1);
  h.Save(w);
  w.Finish();
  return out;
}

TEST(HyperLogLog, SaveLoadKeepsTheRegistersInEitherForm) {
  // Empty, sparse, sparse with an unmerged tail, just past the sparse limit, dense.
  for (uint64_t n : {0ull, 10ull, 300ull, 2300ull, 20000ull}) {
    SCOPED_TRACE(n);
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) h.Add(HashInt(i));
    const std::string saved = SaveSketch(h);
    auto r = OpenSnapshot(saved, "TEST", 1, "sketch");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    HyperLogLog loaded;
    loaded.Add(HashInt(999999999));  // replaced by Load
    ASSERT_TRUE(loaded.Load(*r).ok());
    ASSERT_TRUE(r->ExpectEnd().ok());
    EXPECT_EQ(loaded.Estimate(), h.Estimate());
    EXPECT_EQ(SaveSketch(loaded), saved);
    for (uint64_t i = n; i < n + 3000; ++i) {
      h.Add(HashInt(i));
      loaded.Add(HashInt(i));
    }
    EXPECT_EQ(loaded.Estimate(), h.Estimate());
    EXPECT_EQ(SaveSketch(loaded), SaveSketch(h));
  }
}

}  // namespace
}  // namespace sluice::engine::kernels
