// Unit tests that need no server: names, type maps, the COPY encoding, and a SQLite smoke test.
// The full behaviour suite runs against SQLite and a real PostgreSQL in
// tests/integration/warehouse_test.cc.
#include "sluice/connectors/warehouse/warehouse.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "sluice/connectors/warehouse/pg_copy.h"
#include "sluice/connectors/warehouse/sql_types.h"

namespace sluice::warehouse {
namespace {

TEST(Identifiers, OnlyLowercaseSnakeCaseUpTo63) {
  EXPECT_TRUE(ValidateIdentifier("fact_orders", "table name").ok());
  EXPECT_TRUE(ValidateIdentifier("_x9", "table name").ok());
  EXPECT_TRUE(ValidateIdentifier(std::string(63, 'a'), "table name").ok());
  for (const std::string& bad : std::vector<std::string>{"", "9lives", "Orders", "a-b", "a b", "x\"; DROP TABLE y; --", "a.b", std::string(64, 'a'),
                          "caf\xc3\xa9"}) {
    Status st = ValidateIdentifier(bad, "table name");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ValidateIdentifier("Bad", "column name").message().find("invalid column name 'Bad'"), std::string::npos);
  auto t = ParseTableName("silver.fact_orders");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->schema, "silver");
  EXPECT_FALSE(ParseTableName("fact_orders").ok());
  EXPECT_FALSE(ParseTableName("silver.fact;orders").ok());
}

TEST(SqlTypes, RoundTrip) {
  for (DataType t : {DataType::Bool(), DataType::Int32(), DataType::Int64(), DataType::Float64(),
                     DataType::Decimal(18, 2), DataType::Decimal(9, 0), DataType::String(), DataType::Binary(),
                     DataType::Date(), DataType::Timestamp()}) {
    EXPECT_EQ(SqliteTypeFromDecl(SqliteTypeName(t)), t) << t.ToString();
    EXPECT_EQ(PostgresTypeFromName(PostgresTypeName(t)), t) << t.ToString();
  }
}

std::string Hex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

TEST(PgCopy, NumericEncoding) {
  auto enc = [](int64_t v, int s) {
    std::string out;
    AppendPgNumeric(out, v, s);
    return Hex(out);
  };
  // len | ndigits | weight | sign | dscale | digits
  EXPECT_EQ(enc(0, 2), "00000008" "0000" "0000" "0000" "0002");
  EXPECT_EQ(enc(1234567, 2), "0000000e" "0003" "0001" "0000" "0002" "0001" "0929" "1a2c");  // 1|2345|.6700
  EXPECT_EQ(enc(-5, 2), "0000000a" "0001" "ffff" "4000" "0002" "01f4");             // -0.05 = 0.0500
  EXPECT_EQ(enc(100000000, 0), "0000000a" "0001" "0002" "0000" "0000" "0001");      // 1|0000|0000
  EXPECT_EQ(enc(1, 18), "0000000a" "0001" "fffb" "0000" "0012" "0064");              // 1e-18
}

class SqliteSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice-wh-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto wh = Warehouse::Open("sqlite:" + (dir_ / "warehouse.db").string());
    ASSERT_TRUE(wh.ok()) << wh.status().ToString();
    wh_ = std::move(wh).value();
  }
  void TearDown() override {
    wh_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Warehouse> wh_;
};

TEST_F(SqliteSmoke, AppendCommitQueryAndReplay) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()},
                                                            {"amount", DataType::Decimal(18, 2)},
                                                            {"day", DataType::Date()},
                                                            {"ts", DataType::Timestamp()},
                                                            {"note", DataType::String()}});
  ASSERT_TRUE(wh_->EnsureTable("silver", "facts", *schema, {}, WriteMode::kAppend).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "warehouse.silver.db"));
  BatchBuilder b(schema);
  b.AppendRow({Value::Int64(1), Value::Decimal(1050, 18, 2), Value::Date(20000), Value::Timestamp(1'700'000'000'123'456),
               Value::String("x")});
  b.AppendRow({Value::Int64(2), Value::Null(DataType::Decimal(18, 2)), Value::Null(DataType::Date()),
               Value::Null(DataType::Timestamp()), Value::Null(DataType::String())});
  CommitBatch c{"p", "s", 1, "{\"o\":1}", 0, {{"silver", "facts", WriteMode::kAppend, {}, {b.Finish()}}}};
  auto r = wh_->Commit(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->already_committed);
  EXPECT_EQ(r->rows_written, 2);
  auto again = wh_->Commit(c);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_committed);
  auto rows = wh_->Query("SELECT id, amount, day, ts, note FROM silver.facts WHERE id >= $1 ORDER BY id", {Value::Int64(1)});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const Batch& out = rows->front();
  EXPECT_EQ(*out.schema(), *schema);
  ASSERT_EQ(out.num_rows(), 2u);
  EXPECT_EQ(out.column(1)->GetValue(0).ToString(), "10.50");
  EXPECT_EQ(out.column(2)->GetValue(0), Value::Date(20000));
  EXPECT_EQ(out.column(3)->GetValue(0), Value::Timestamp(1'700'000'000'123'456));
  EXPECT_TRUE(out.column(4)->IsNull(1));
  auto last = wh_->LastCommittedEpoch("p", "s");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->epoch, 1);
  EXPECT_EQ((*last)->offsets, "{\"o\":1}");
}

TEST_F(SqliteSmoke, BadNamesRunNoStatement) {
  Schema schema({{"id", DataType::Int64()}});
  int64_t before = wh_->stats().statements;
  EXPECT_EQ(wh_->EnsureTable("silver", "x\"; drop table y; --", schema, {}, WriteMode::kAppend).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(wh_->EnsureTable("main", "x", schema, {}, WriteMode::kAppend).code(), StatusCode::kInvalidArgument);
  Schema bad_col({{"Id", DataType::Int64()}});
  EXPECT_EQ(wh_->EnsureTable("silver", "x", bad_col, {}, WriteMode::kAppend).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wh_->stats().statements, before);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "warehouse.silver.db"));
}

}  // namespace
}  // namespace sluice::warehouse
