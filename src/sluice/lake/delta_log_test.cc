// The Delta log: actions and their JSON, the Spark schema string, and the one winner of
// put-if-absent.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using nlohmann::json;
using testing::Append;
using testing::FilesUnder;
using testing::kParts;
using testing::OrdersSchema;
using testing::TempDir;

TEST(DeltaLog, ActionsRoundTrip) {
  LogEntry e;
  CommitInfoAction ci;
  ci.timestamp = 1790000000123;
  ci.operation = "WRITE";
  ci.operation_parameters = {{"mode", "Append"}};
  ci.operation_metrics = {{"numFiles", "2"}};
  ci.read_version = 4;
  ci.is_blind_append = true;
  e.commit_info = ci;
  e.protocol = ProtocolAction{};
  MetadataAction md;
  md.id = NewUuid();
  md.schema_string = SchemaToDeltaJson(*OrdersSchema());
  md.partition_columns = kParts;
  md.configuration = {{"delta.appendOnly", "false"}};
  md.created_time = 1790000000000;
  e.metadata = md;
  e.txns.push_back({"pipeline-a", 42, 1790000000100});
  e.removes.push_back(RemoveFile{
      "day=2026-11-20/region=eu/old.parquet", 1790000000050, false, {{"day", "2026-11-20"}, {"region", "eu"}}, 999});
  AddFile a;
  a.path = "day=2026-11-20/region=__HIVE_DEFAULT_PARTITION__/part-00000-x y.parquet";
  a.partition_values = {{"day", "2026-11-20"}};
  a.size = 1234;
  a.modification_time = 1790000000001;
  a.data_change = true;
  a.num_records = 17;
  a.stats_json = R"({"numRecords":17,"minValues":{"id":1},"maxValues":{"id":9},"nullCount":{"id":0}})";
  e.adds.push_back(a);

  std::string text = SerializeLogEntry(e, kParts);
  // One JSON object per line, each with exactly one action key.
  std::vector<std::string> keys;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    json j = json::parse(text.substr(pos, nl - pos));
    ASSERT_EQ(j.size(), 1u);
    keys.push_back(j.begin().key());
    if (keys.back() == "add") {
      EXPECT_TRUE(j["add"]["partitionValues"]["region"].is_null());
      EXPECT_EQ(j["add"]["path"], "day=2026-11-20/region=__HIVE_DEFAULT_PARTITION__/part-00000-x%20y.parquet");
      EXPECT_TRUE(j["add"]["stats"].is_string());
    }
    pos = nl + 1;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"commitInfo", "protocol", "metaData", "txn", "remove", "add"}));

  auto back = ParseLogEntry(text, "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->commit_info && back->protocol && back->metadata);
  EXPECT_EQ(back->commit_info->timestamp, ci.timestamp);
  EXPECT_EQ(back->commit_info->operation, "WRITE");
  EXPECT_EQ(back->commit_info->operation_parameters, ci.operation_parameters);
  EXPECT_EQ(back->commit_info->operation_metrics, ci.operation_metrics);
  EXPECT_EQ(back->commit_info->read_version, 4);
  EXPECT_EQ(back->protocol->min_reader_version, 1);
  EXPECT_EQ(back->protocol->min_writer_version, 2);
  EXPECT_EQ(back->metadata->id, md.id);
  EXPECT_EQ(back->metadata->schema_string, md.schema_string);
  EXPECT_EQ(back->metadata->partition_columns, kParts);
  EXPECT_EQ(back->metadata->configuration, md.configuration);
  EXPECT_EQ(back->metadata->created_time, md.created_time);
  ASSERT_EQ(back->txns.size(), 1u);
  EXPECT_EQ(back->txns[0].app_id, "pipeline-a");
  EXPECT_EQ(back->txns[0].version, 42);
  EXPECT_EQ(back->txns[0].last_updated, 1790000000100);
  ASSERT_EQ(back->removes.size(), 1u);
  EXPECT_EQ(back->removes[0].path, e.removes[0].path);
  EXPECT_EQ(back->removes[0].deletion_timestamp, 1790000000050);
  EXPECT_FALSE(back->removes[0].data_change);
  EXPECT_EQ(back->removes[0].size, 999);
  EXPECT_EQ(back->removes[0].partition_values, e.removes[0].partition_values);
  ASSERT_EQ(back->adds.size(), 1u);
  EXPECT_EQ(back->adds[0].path, a.path);
  EXPECT_EQ(back->adds[0].partition_values, a.partition_values);
  EXPECT_EQ(back->adds[0].size, 1234);
  EXPECT_EQ(back->adds[0].modification_time, a.modification_time);
  EXPECT_EQ(back->adds[0].num_records, 17);
  EXPECT_EQ(back->adds[0].stats_json, a.stats_json);

  // Unknown actions and fields are ignored; malformed lines name the file and line.
  auto tolerant = ParseLogEntry(
      "{\"domainMetadata\":{\"domain\":\"x\"}}\n{\"txn\":{\"appId\":\"a\",\"version\":1,\"new\":2}}\n", "f");
  ASSERT_TRUE(tolerant.ok());
  EXPECT_EQ(tolerant->txns.size(), 1u);
  for (const char* escaping : {"/etc/passwd", "../other/x.parquet", "a/../../x", "s3://bucket/x", "file:/x"}) {
    json add = {{"add", {{"path", escaping}, {"size", 1}}}};
    EXPECT_FALSE(ParseLogEntry(add.dump(), "f").ok()) << escaping;
  }
  auto bad = ParseLogEntry("{\"txn\":{}}\n{not json\n", "00.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("00.json:2"), std::string::npos) << bad.status().ToString();
}

TEST(DeltaLog, SchemaIsSparkStructJson) {
  auto schema = std::make_shared<const Schema>(std::vector<Field>{{"b", DataType::Bool(), false},
                                                                  {"i", DataType::Int32(), true},
                                                                  {"l", DataType::Int64(), false},
                                                                  {"d", DataType::Float64(), false},
                                                                  {"m", DataType::Decimal(18, 2), false},
                                                                  {"s", DataType::String(), false},
                                                                  {"x", DataType::Binary(), false},
                                                                  {"dt", DataType::Date(), false},
                                                                  {"ts", DataType::Timestamp(), false},
                                                                  {"data.page", DataType::String(), false}});
  json j = json::parse(SchemaToDeltaJson(*schema));
  EXPECT_EQ(j["type"], "struct");
  std::vector<std::string> types;
  for (const auto& f : j["fields"]) {
    types.push_back(f["type"]);
    EXPECT_TRUE(f["metadata"].is_object());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"boolean", "integer", "long", "double", "decimal(18,2)", "string",
                                             "binary", "date", "timestamp", "string"}));
  EXPECT_EQ(j["fields"][1]["nullable"], false);
  EXPECT_EQ(j["fields"][0]["nullable"], true);
  auto back = SchemaFromDeltaJson(j.dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(**back, *schema);
  auto nested = SchemaFromDeltaJson(
      R"({"type":"struct","fields":[{"name":"a","type":{"type":"array","elementType":"long"},"nullable":true,"metadata":{}}]})");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("'a'"), std::string::npos);
  EXPECT_FALSE(SchemaFromDeltaJson(R"j({"type":"struct","fields":[{"name":"a","type":"decimal(38,2)"}]})j").ok());
}

TEST(DeltaLog, PutIfAbsentHasExactlyOneWinner) {
  TempDir tmp;
  const std::string path = tmp / "00000000000000000001.json";
  constexpr int kWriters = 8;
  std::atomic<int> won{0}, lost{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      Status st = PutIfAbsent(path, "writer " + std::to_string(i) + "\n");
      if (st.ok()) {
        ++won;
      } else if (st.code() == StatusCode::kAlreadyExists) {
        ++lost;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kWriters - 1);
  EXPECT_EQ(failed.load(), 0);
  // No temporary files are left behind.
  EXPECT_EQ(FilesUnder(tmp.path(), false), std::vector<std::string>{"00000000000000000001.json"});
}

}  // namespace
}  // namespace sluice::lake
