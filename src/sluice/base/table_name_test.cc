#include "sluice/base/table_name.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(TableName, ParsesLayerDotTable) {
  auto n = TableName::Parse("bronze.orders");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->schema_or_layer, "bronze");
  EXPECT_EQ(n->name, "orders");
  EXPECT_EQ(n->ToString(), "bronze.orders");
  EXPECT_TRUE(TableName::Parse("_x._y9").ok());
  EXPECT_TRUE(TableName::Parse("a." + std::string(63, 'b')).ok());
  EXPECT_FALSE(TableName::Parse("a." + std::string(64, 'b')).ok());
}

TEST(TableName, RefusalsStateTheRule) {
  for (const char* bad : {"orders", "bronze.", ".orders", "Bronze.orders", "bronze.or-ders", "a.b.c", "a..b", "../x.y",
                          "/abs.t", "a/b.c", "a.b/c", "9a.b", "a. b", ""}) {
    auto r = TableName::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().message(), "invalid table name '" + std::string(bad) +
                                        "': expected <layer>.<table>, each matching ^[a-z_][a-z0-9_]{0,62}$ "
                                        "(e.g. bronze.orders)");
  }
}

TEST(TableName, SplitsAtTheFirstDotWithoutChecking) {
  auto s = TableName::Split("Silver.fact;orders.x");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->schema_or_layer, "Silver");
  EXPECT_EQ(s->name, "fact;orders.x");
  EXPECT_FALSE(TableName::Split("orders").has_value());
  auto empty = TableName::Split(".");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->ToString(), ".");
}

}  // namespace
}  // namespace sluice
