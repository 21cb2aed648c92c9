// Table names and Hive-style partition values: parsing, escaping, and their round trip through
// a table.
#include <set>

#include <gtest/gtest.h>

#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"
#include "sluice/lake/partitioning.h"

namespace sluice::lake {
namespace {

using testing::FilesUnder;
using testing::LogLines;
using testing::ScanRows;
using testing::TempDir;

TEST(TableName, AcceptsIdentifiersOnly) {
  auto n = ParseTableName("bronze.orders");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->layer, "bronze");
  EXPECT_EQ(n->name, "orders");
  EXPECT_EQ(n->ToString(), "bronze.orders");
  EXPECT_TRUE(ParseTableName("_x._y9").ok());
  EXPECT_TRUE(ParseTableName("a." + std::string(63, 'b')).ok());
  for (const char* bad : {"orders", "bronze.", ".orders", "Bronze.orders", "bronze.or-ders", "a.b.c", "a..b", "../x.y",
                          "/abs.t", "a/b.c", "a.b/c", "9a.b", "a. b", ""}) {
    auto r = ParseTableName(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(ParseTableName("a." + std::string(64, 'b')).ok());
  EXPECT_EQ(TableDir("/lake", *n), "/lake/bronze/orders");
}

TEST(Partitioning, EscapesLikeHive) {
  EXPECT_EQ(EscapePartitionValue("2026-11-21"), "2026-11-21");
  EXPECT_EQ(EscapePartitionValue("a=b/c%d"), "a%3Db%2Fc%25d");
  EXPECT_EQ(EscapePartitionValue("x:y?z#\"'*\\{[]^"), "x%3Ay%3Fz%23%22%27%2A%5C%7B%5B%5D%5E");
  EXPECT_EQ(EscapePartitionValue("sp ace"), "sp ace");
  EXPECT_EQ(EscapePartitionValue(std::string("\x01\x7f", 2)), "%01%7F");
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(UnescapePartitionValue(EscapePartitionValue(all)), all);
  EXPECT_EQ(UnescapePartitionValue("100%"), "100%");  // malformed escapes stay
  EXPECT_EQ(PartitionDirectory({"day", "region"}, {std::string("2026-11-21"), std::nullopt}),
            "day=2026-11-21/region=__HIVE_DEFAULT_PARTITION__");
  EXPECT_EQ(EncodeLogPath("p=a%3Db c/part-00000-x.parquet"), "p=a%253Db%20c/part-00000-x.parquet");
  auto d = DecodeLogPath("p=a%253Db%20c/part-00000-x.parquet");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "p=a%3Db c/part-00000-x.parquet");
  EXPECT_FALSE(DecodeLogPath("bad%2").ok());
}

TEST(Partitioning, ValueTextRoundTrips) {
  struct Case {
    Value v;
    std::string text;
  };
  std::vector<Case> cases = {
      {Value::Bool(true), "true"},
      {Value::Int32(-7), "-7"},
      {Value::Int64(1234567890123), "1234567890123"},
      {Value::Float64(1.5), "1.5"},
      {Value::Decimal(-1205, 18, 2), "-12.05"},
      {Value::String("a=b"), "a=b"},
      {Value::Date(*ParseDate("2026-11-21")), "2026-11-21"},
      {Value::Timestamp(*ParseTimestamp("2026-11-21T10:15:30.123456Z")), "2026-11-21T10:15:30.123456Z"},
  };
  for (const auto& c : cases) {
    auto col = MakeConstantColumn(c.v, 1);
    auto text = FormatPartitionValue(*col, 0);
    ASSERT_TRUE(text.ok());
    ASSERT_TRUE(text->has_value());
    EXPECT_EQ(**text, c.text);
    auto back = ParsePartitionValue(*text, c.v.type());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, c.v) << c.text;
  }
  // The other timestamp form of the protocol.
  auto ts = ParsePartitionValue(std::string("2026-11-21 10:15:30"), DataType::Timestamp());
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->int_value(), *ParseTimestamp("2026-11-21T10:15:30Z"));
  // NULL and "" are both NULL.
  auto empty = FormatPartitionValue(*MakeConstantColumn(Value::String(""), 1), 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  EXPECT_TRUE(ParsePartitionValue(std::nullopt, DataType::Int64())->is_null());
  EXPECT_FALSE(ParsePartitionValue(std::string("x1"), DataType::Int64()).ok());
  EXPECT_FALSE(FormatPartitionValue(*MakeConstantColumn(Value::Binary("x"), 1), 0).ok());
}

TEST(Partitioning, EscapedValuesRoundTripThroughATable) {
  TempDir tmp;
  auto schema = std::make_shared<const Schema>(
      std::vector<Field>{{"k", DataType::String(), false}, {"v", DataType::Int64(), false}});
  auto table = DeltaTable::OpenOrCreate(tmp / "t", schema, {"k"});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::vector<std::optional<std::string>> keys = {"a=b/c", "100%", "x y", "é:?", std::nullopt, "plain"};
  BatchBuilder b(schema);
  for (size_t i = 0; i < keys.size(); ++i) {
    b.AppendRow({keys[i] ? Value::String(*keys[i]) : Value::Null(DataType::String()), Value::Int64(int64_t(i))});
  }
  TableWriter w(*table);
  ASSERT_TRUE(w.Write(b.Finish()).ok());
  auto adds = w.Finish();
  ASSERT_TRUE(adds.ok()) << adds.status().ToString();
  ASSERT_EQ(adds->size(), keys.size());
  CommitRequest req;
  req.adds = *adds;
  ASSERT_TRUE((*table)->Commit(req).ok());

  // On disk: escaped directories, the NULL one as Hive's default partition.
  auto files = FilesUnder((*table)->dir(), true);
  std::set<std::string> dirs;
  for (const auto& f : files) dirs.insert(f.substr(0, f.find('/')));
  EXPECT_EQ(dirs, (std::set<std::string>{"k=a%3Db%2Fc", "k=100%25", "k=x y", "k=é%3A%3F",
                                         "k=__HIVE_DEFAULT_PARTITION__", "k=plain"}));
  // In the log: URI-encoded paths, raw values, JSON null for NULL.
  int nulls = 0;
  for (const auto& line : LogLines((*table)->dir(), 1)) {
    if (!line.contains("add")) continue;
    const auto& add = line["add"];
    ASSERT_TRUE(add["partitionValues"].contains("k"));
    if (add["partitionValues"]["k"].is_null()) {
      ++nulls;
      EXPECT_EQ(add["path"].get<std::string>().rfind("k=__HIVE_DEFAULT_PARTITION__/", 0), 0u);
    } else if (add["partitionValues"]["k"] == "a=b/c") {
      EXPECT_EQ(add["path"].get<std::string>().rfind("k=a%253Db%252Fc/part-", 0), 0u) << add["path"];
    }
  }
  EXPECT_EQ(nulls, 1);
  // Back through a scan.
  auto rows = ScanRows(**table);
  std::vector<std::string> expected;
  for (size_t i = 0; i < keys.size(); ++i) expected.push_back((keys[i] ? *keys[i] : "NULL") + "|" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(rows, expected);
}

}  // namespace
}  // namespace sluice::lake
