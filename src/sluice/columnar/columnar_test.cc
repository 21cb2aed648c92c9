#include <gtest/gtest.h>

#include "sluice/columnar/batch.h"

namespace sluice {
namespace {

TEST(Column, FixedWidthWithNulls) {
  Column c(DataType::Int64());
  for (int i = 0; i < 200; ++i) {
    if (i % 7 == 0) c.AppendNull();
    else c.Append<int64_t>(i);
  }
  EXPECT_EQ(c.size(), 200u);
  EXPECT_EQ(c.null_count(), 29u);
  EXPECT_TRUE(c.IsNull(0));
  EXPECT_TRUE(c.IsNull(196));
  EXPECT_FALSE(c.IsNull(195));
  EXPECT_EQ(c.Get<int64_t>(195), 195);
}

TEST(Column, StringsAndGather) {
  Column c(DataType::String());
  c.AppendString("a");
  c.AppendNull();
  c.AppendString("");
  c.AppendString("héllo");
  uint32_t idx[] = {3, 1, 0};
  auto g = c.Gather(idx, 3);
  EXPECT_EQ(g->GetString(0), "héllo");
  EXPECT_TRUE(g->IsNull(1));
  EXPECT_EQ(g->GetString(2), "a");
  EXPECT_EQ(g->null_count(), 1u);
  EXPECT_FALSE(c.IsNull(2));
  EXPECT_EQ(c.GetString(2), "");
}

TEST(Column, MergeNullsCounts) {
  Column a(DataType::Int32()), b(DataType::Int32());
  for (int i = 0; i < 100; ++i) {
    a.Append<int32_t>(i);
    if (i % 10 == 0) b.AppendNull();
    else b.Append<int32_t>(i);
  }
  a.MergeNulls(b);
  EXPECT_EQ(a.null_count(), 10u);
  EXPECT_TRUE(a.IsNull(90));
  EXPECT_FALSE(a.IsNull(91));
}

TEST(Batch, SelectionAndCompact) {
  auto schema = std::make_shared<Schema>(
      std::vector<Field>{{"id", DataType::Int64()}, {"name", DataType::String()}});
  BatchBuilder bb(schema);
  for (int i = 0; i < 10; ++i) {
    bb.AppendRow({Value::Int64(i), Value::String("n" + std::to_string(i))}, 100 + i);
  }
  Batch b = bb.Finish(std::make_shared<BatchOrigin>(BatchOrigin{"src", "f.json"}));
  b.set_selection({1, 5, 9});
  EXPECT_EQ(b.active_rows(), 3u);
  Batch c = b.Compact();
  EXPECT_EQ(c.num_rows(), 3u);
  EXPECT_FALSE(c.has_selection());
  EXPECT_EQ(c.column(1)->GetString(1), "n5");
  EXPECT_EQ(c.RowOffset(2), 109);
  EXPECT_EQ(c.origin()->location, "f.json");
}

TEST(BatchBuilder, AbandonRowRollsBack) {
  auto schema = std::make_shared<Schema>(
      std::vector<Field>{{"a", DataType::Int64()}, {"b", DataType::String()}});
  BatchBuilder bb(schema);
  bb.AppendRow({Value::Int64(1), Value::String("x")});
  bb.column(0).Append<int64_t>(2);  // half a row
  bb.AbandonRow();
  bb.AppendRow({Value::Int64(3), Value::String("y")});
  Batch b = bb.Finish();
  ASSERT_EQ(b.num_rows(), 2u);
  EXPECT_EQ(b.column(0)->Get<int64_t>(1), 3);
  EXPECT_EQ(b.column(1)->GetString(1), "y");
}

TEST(Column, ConstantColumnsIncludingTypedNulls) {
  auto s = MakeConstantColumn(Value::String("ab"), 3);
  EXPECT_EQ(s->size(), 3u);
  EXPECT_EQ(s->GetString(2), "ab");
  auto n = MakeConstantColumn(Value::Null(DataType::String()), 4);
  EXPECT_EQ(n->size(), 4u);
  EXPECT_EQ(n->null_count(), 4u);
  EXPECT_EQ(n->type().id, TypeId::kString);
  auto u = MakeConstantColumn(Value(), 2);  // untyped NULL
  EXPECT_EQ(u->null_count(), 2u);
}

}  // namespace
}  // namespace sluice
