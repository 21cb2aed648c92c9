#include "sluice/catalog/catalog.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/lake/delta_table.h"

namespace sluice::catalog {
namespace {

namespace fs = std::filesystem;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("catalog_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CatalogTest, ReadsTheSchemaOfALakeTable) {
  auto schema = std::make_shared<Schema>(
      std::vector<Field>{{"id", DataType::Int64(), true}, {"name", DataType::String()}, {"day", DataType::Date()}});
  const std::string table = (dir_ / "lake" / "bronze" / "t").string();
  ASSERT_TRUE(lake::DeltaTable::OpenOrCreate(table, schema, {"day"}).ok());
  auto found = LakeTableSchema(table);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ((*found)->names(), schema->names());
  EXPECT_EQ((*found)->field(0).type, DataType::Int64());
}

TEST_F(CatalogTest, AMissingLakeTableIsNotFound) {
  auto found = LakeTableSchema((dir_ / "lake" / "bronze" / "none").string());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound) << found.status().ToString();
}

TEST_F(CatalogTest, ReadsTheColumnsOfAWarehouseTable) {
  const std::string url = "sqlite:" + (dir_ / "warehouse.db").string();
  auto wh = warehouse::Warehouse::Open(url);
  ASSERT_TRUE(wh.ok()) << wh.status().ToString();
  Schema columns({{"customer_id", DataType::Int64(), true}, {"segment", DataType::String()}});
  ASSERT_TRUE((*wh)->EnsureTable("silver", "dim_customer", columns, {}, warehouse::WriteMode::kAppend).ok());
  auto found = WarehouseTableSchema(url, "silver.dim_customer");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ((*found)->names(), (std::vector<std::string>{"customer_id", "segment"}));
  auto missing = WarehouseTableSchema(url, "silver.none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_FALSE(WarehouseTableSchema(url, "no_dot").ok());
}

}  // namespace
}  // namespace sluice::catalog
