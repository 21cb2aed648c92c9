#include "sluice/base/table_name.h"

#include <set>

#include <gtest/gtest.h>

#include "sluice/base/strings.h"

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

namespace sluice {
namespace {

TEST(TableName, AThreePartNameNamesATableOfAnotherNamespace) {
  auto other = TableName::ParseQualified("other-ns.bronze.orders");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->ns, "other-ns");
  EXPECT_EQ(other->ToString(), "bronze.orders");
  EXPECT_EQ(other->Written(), "other-ns.bronze.orders");
  EXPECT_EQ(other->NamespaceFor("team"), "other-ns");
  auto own = TableName::ParseQualified("bronze.orders");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->ns, "");
  EXPECT_EQ(own->Written(), "bronze.orders");
  EXPECT_EQ(own->NamespaceFor("team"), "team");
  for (const char* bad : {"Other.bronze.orders", "a.b.c.d", "../x.bronze.t", ".bronze.t", "ns.bronze.", "ns..t",
                          "-ns.bronze.t", "ns.Bronze.t", "orders", ""}) {
    auto r = TableName::ParseQualified(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("<namespace>.<layer>.<table>"), std::string::npos) << r.status().message();
  }
  // Parse keeps its two-part rule.
  EXPECT_FALSE(TableName::Parse("other.bronze.orders").ok());
}

TEST(TableName, LineageNamesAreTheTableInDefaultAndNamespacedElsewhere) {
  EXPECT_EQ(NamespacedTableName("default", "bronze.items"), "bronze.items");
  EXPECT_EQ(NamespacedTableName("", "bronze.items"), "bronze.items");
  EXPECT_EQ(NamespacedTableName("team", "bronze.items"), "team.bronze.items");
  EXPECT_EQ(NamespaceOfTableName("team.bronze.items"), "team");
  EXPECT_EQ(NamespaceOfTableName("bronze.items"), "default");
  EXPECT_EQ(NamespaceOfTableName(NamespacedTableName("x-1", "gold.notes")), "x-1");
}

TEST(TableName, ASharedWarehouseNamesEachNamespacesSchemasApart) {
  EXPECT_EQ(*SharedWarehouseSchema("default", "gold"), "gold");
  EXPECT_EQ(*SharedWarehouseSchema("team", "gold"), "team__gold");
  EXPECT_EQ(*SharedWarehouseSchema("web-eu", "gold"), "web_2deu__gold");
  EXPECT_EQ(*SharedWarehouseSchema("my_team", "gold"), "my_5fteam__gold");
  EXPECT_EQ(*SharedWarehouseSchema("9lives", "gold"), "_9lives__gold");
  // Pairs that a plain ns + "__" + schema would merge stay apart (and schemas with "__" are refused).
  EXPECT_NE(*SharedWarehouseSchema("a_", "b"), *SharedWarehouseSchema("a", "_b"));
  EXPECT_NE(*SharedWarehouseSchema("a__b", "c"), *SharedWarehouseSchema("a", "b_c"));
  EXPECT_FALSE(SharedWarehouseSchema("a", "b__c").ok());
  EXPECT_FALSE(SharedWarehouseSchema("default", "team__gold").ok()) << "default may not take a namespace's name";
  // Every result is an identifier, and distinct pairs give distinct names.
  std::set<std::string> seen;
  size_t pairs = 0;
  for (const char* ns : {"default", "a", "a_", "a-", "a_b", "a-b", "a__b", "a5f", "a_5f", "0a", "_0a", "a_2d", "b"}) {
    if (!IsNamespaceName(ns)) continue;
    for (const char* schema : {"b", "_b", "b_", "gold", "a_b", "f5f_b", "_2d"}) {
      auto r = SharedWarehouseSchema(ns, schema);
      ASSERT_TRUE(r.ok()) << ns << " " << schema;
      EXPECT_TRUE(IsIdentifier(*r)) << *r;
      seen.insert(*r);
      ++pairs;
    }
  }
  EXPECT_EQ(seen.size(), pairs);
  auto long_name = SharedWarehouseSchema(std::string(40, 'n'), std::string(30, 's'));
  ASSERT_FALSE(long_name.ok());
  EXPECT_NE(long_name.status().message().find("longer than its 63 bytes"), std::string::npos);
}

}  // namespace
}  // namespace sluice
