#include "sluice/engine/kernels/hash_join_table.h"

#include <gtest/gtest.h>

#include "sluice/expr/expr_test_util.h"

namespace sluice::engine::kernels {
namespace {

using expr::testing::MakeBatch;
using expr::testing::Show;

std::vector<std::string> Rows(const Batch& b) { return expr::testing::ShowRows({b}); }

// dim_customer(customer_id int64, region string, segment string)
Batch Customers() {
  return MakeBatch({{"customer_id", DataType::Int64()}, {"region", DataType::String()}, {"segment", DataType::String()}},
                   {{Value::Int64(1), Value::String("eu"), Value::String("retail")},
                    {Value::Int64(2), Value::String("us"), Value::String("b2b")},
                    {Value::Null(DataType::Int64()), Value::String("xx"), Value::String("ghost")},
                    {Value::Int64(1), Value::String("eu"), Value::String("vip")}});
}

Batch Orders() {
  return MakeBatch({{"order_id", DataType::String()}, {"customer_id", DataType::Int32()}},
                   {{Value::String("o1"), Value::Int32(1)},
                    {Value::String("o2"), Value::Int32(3)},
                    {Value::String("o3"), Value::Null(DataType::Int32())},
                    {Value::String("o4"), Value::Int32(2)}});
}

std::unique_ptr<HashJoinTable> Build(DuplicateKeys dup = DuplicateKeys::kLastWins) {
  Batch dim = Customers();
  auto t = HashJoinTable::Make({dim.schema(), {0}, {2}, {}, dup});
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->Add(dim).ok());
  return std::move(t).value();
}

TEST(HashJoinTable, LookupTakesTheLastRowAndKeepsTheProbeBatch) {
  auto t = Build();
  EXPECT_EQ(t->num_rows(), 3u);  // the NULL key is not indexed
  EXPECT_EQ(t->duplicate_rows(), 1u);
  Batch orders = Orders();
  orders.set_selection({0, 1, 2});
  auto out = t->LookupColumns(orders, {1});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->num_rows(), 4u);
  EXPECT_TRUE(out->has_selection());
  EXPECT_EQ(out->schema()->names(), (std::vector<std::string>{"order_id", "customer_id", "segment"}));
  EXPECT_FALSE(out->schema()->field(2).required);
  EXPECT_EQ(Rows(*out), (std::vector<std::string>{"'o1'|1|'vip'", "'o2'|3|NULL", "'o3'|NULL|NULL"}));
}

TEST(HashJoinTable, InnerAndLeftJoinReturnEveryMatch) {
  auto t = Build();
  auto inner = t->Join(Orders(), {1}, JoinType::kInner);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(Rows(*inner), (std::vector<std::string>{"'o1'|1|'retail'", "'o1'|1|'vip'", "'o4'|2|'b2b'"}));
  auto left = t->Join(Orders(), {1}, JoinType::kLeft);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(Rows(*left), (std::vector<std::string>{"'o1'|1|'retail'", "'o1'|1|'vip'", "'o2'|3|NULL",
                                                   "'o3'|NULL|NULL", "'o4'|2|'b2b'"}));
}

TEST(HashJoinTable, DuplicateKeysCanBeRefused) {
  Batch dim = Customers();
  auto t = HashJoinTable::Make({dim.schema(), {0}, {2}, {}, DuplicateKeys::kError});
  ASSERT_TRUE(t.ok());
  Status st = (*t)->Add(dim);
  EXPECT_EQ(st.code(), StatusCode::kDataError);
  EXPECT_NE(st.message().find("duplicate join key"), std::string::npos);
}

TEST(HashJoinTable, CompoundKeysOfSeveralTypes) {
  std::vector<Field> f = {{"d", DataType::Date()}, {"amt", DataType::Decimal(10, 2)}, {"s", DataType::String()},
                          {"ts", DataType::Timestamp()}, {"out", DataType::String()}};
  Batch build = MakeBatch(f, {{Value::Date(10), Value::Decimal(150, 10, 2), Value::String("a"), Value::Timestamp(5),
                               Value::String("hit1")},
                              {Value::Date(10), Value::Decimal(150, 10, 2), Value::String("b"), Value::Timestamp(5),
                               Value::String("hit2")}});
  auto t = HashJoinTable::Make({build.schema(), {0, 1, 2, 3}, {4}, {"label"}});
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Add(build).ok());
  std::vector<Field> pf = {{"d", DataType::Date()}, {"amt", DataType::Decimal(18, 2)}, {"s", DataType::String()},
                           {"ts", DataType::Timestamp()}};
  Batch probe = MakeBatch(pf, {{Value::Date(10), Value::Decimal(150, 18, 2), Value::String("b"), Value::Timestamp(5)},
                               {Value::Date(10), Value::Decimal(151, 18, 2), Value::String("b"), Value::Timestamp(5)}});
  auto out = (*t)->Join(probe, {0, 1, 2, 3}, JoinType::kLeft);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Rows(*out), (std::vector<std::string>{"1970-01-11|1.50|'b'|1970-01-01T00:00:00.000005Z|'hit2'",
                                                  "1970-01-11|1.51|'b'|1970-01-01T00:00:00.000005Z|NULL"}));
}

TEST(HashJoinTable, RefusesIncomparableKeysAndNameCollisions) {
  auto t = Build();
  Batch probe = MakeBatch({{"customer_id", DataType::String()}, {"segment", DataType::String()}}, {});
  auto bad_type = t->Join(probe, {0}, JoinType::kInner);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("cannot be compared"), std::string::npos);
  Batch probe2 = MakeBatch({{"customer_id", DataType::Int64()}, {"segment", DataType::String()}}, {});
  auto collide = t->Join(probe2, {0}, JoinType::kInner);
  ASSERT_FALSE(collide.ok());
  EXPECT_NE(collide.status().message().find("'segment' already exists"), std::string::npos);
}

}  // namespace
}  // namespace sluice::engine::kernels
