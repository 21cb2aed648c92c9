#include "sluice/engine/kernels/sort.h"

#include <gtest/gtest.h>

#include "sluice/expr/expr_test_util.h"

namespace sluice::engine::kernels {
namespace {

using expr::testing::MakeBatch;
using expr::testing::Show;
using expr::testing::ShowRows;

Batch Input() {
  return MakeBatch({{"k", DataType::String()}, {"v", DataType::Float64()}, {"id", DataType::Int32()}},
                   {{Value::String("b"), Value::Float64(1.0), Value::Int32(1)},
                    {Value::Null(DataType::String()), Value::Float64(2.0), Value::Int32(2)},
                    {Value::String("a"), Value::Null(DataType::Float64()), Value::Int32(3)},
                    {Value::String("b"), Value::Float64(std::nan("")), Value::Int32(4)},
                    {Value::String("a"), Value::Float64(5.0), Value::Int32(5)},
                    {Value::String("b"), Value::Float64(1.0), Value::Int32(6)}});
}

TEST(Sorter, MultiKeyWithDirectionsAndNullPlacement) {
  Batch in = Input();
  auto s = Sorter::Make(in.schema(), {{0, false, false}, {1, true, true}}, 2);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Add(in).ok());
  auto out = (*s)->Finish();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 3u);
  EXPECT_EQ(ShowRows(*out),
            (std::vector<std::string>{"'a'|NULL|3", "'a'|5|5", "'b'|nan|4", "'b'|1|1", "'b'|1|6", "NULL|2|2"}));
}

TEST(Sorter, TopNWithOffsetAndOnlyActiveRows) {
  Batch in = Input();
  in.set_selection({0, 2, 4, 5});
  auto s = Sorter::Make(in.schema(), {{2, true, false}});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Add(in).ok());
  EXPECT_EQ(ShowRows(*(*s)->Finish(2, 1)), (std::vector<std::string>{"'a'|5|5", "'a'|NULL|3"}));
  EXPECT_TRUE((*s)->Finish(2, 10)->empty());
}

TEST(Limit, SpansBatches) {
  Limit limit(3, 1);
  Batch in = Input();
  Batch first = limit.Apply(in.Compact());
  EXPECT_EQ(first.active_rows(), 3u);
  EXPECT_EQ(Show(first.column(2)->GetValue(first.ActiveRow(0))), "2");
  EXPECT_TRUE(limit.done());
  EXPECT_EQ(limit.Apply(in).active_rows(), 0u);
}

}  // namespace
}  // namespace sluice::engine::kernels
