#include "sluice/engine/exec/background_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace sluice::engine {
namespace {

Batch OneRow(int64_t v) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"v", DataType::Int64()}});
  BatchBuilder b(schema);
  b.AppendRow({Value::Int64(v)});
  return b.Finish();
}

TEST(BackgroundWriter, WritesEveryBatchInOrder) {
  std::vector<int64_t> seen;  // only touched by the writer thread until Finish() returns
  BackgroundWriter w([&](const Batch& b) {
    seen.push_back(b.column(0)->Get<int64_t>(0));
    return Status::OK();
  }, 2);
  for (int64_t i = 0; i < 1000; ++i) ASSERT_TRUE(w.Submit(OneRow(i)).ok());
  ASSERT_TRUE(w.Finish().ok());
  ASSERT_EQ(seen.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
}

TEST(BackgroundWriter, FirstErrorStopsWritingAndIsReported) {
  std::atomic<int> writes{0};
  BackgroundWriter w([&](const Batch& b) {
    ++writes;
    if (b.column(0)->Get<int64_t>(0) == 5) return Status::IoError("disk full");
    return Status::OK();
  }, 1);
  Status st;
  for (int64_t i = 0; i < 100 && st.ok(); ++i) st = w.Submit(OneRow(i));
  Status fin = w.Finish();
  EXPECT_EQ(fin.code(), StatusCode::kIoError);
  EXPECT_EQ(fin.message(), "disk full");
  EXPECT_EQ(writes.load(), 6);  // nothing is written after the failed batch
  EXPECT_FALSE(w.Submit(OneRow(1)).ok());
}

}  // namespace
}  // namespace sluice::engine
