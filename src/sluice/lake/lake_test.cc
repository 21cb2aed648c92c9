#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/io/faults.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/checkpoint.h"
#include "sluice/lake/data_files.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"
#include "sluice/lake/partitioning.h"

namespace sluice::lake {
namespace {

using nlohmann::json;
using testing::Append;
using testing::ExpectedRows;
using testing::FilesUnder;
using testing::OrdersBatch;
using testing::OrdersSchema;
using testing::ScanRows;
using testing::TempDir;

const std::vector<std::string> kParts = {"day", "region"};

std::vector<json> LogLines(const std::string& dir, int64_t version) {
  auto buf = io::ReadFile(CommitFilePath(dir, version), 0);
  EXPECT_TRUE(buf.ok()) << buf.status().ToString();
  std::vector<json> out;
  std::string text(buf->view());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return out;
}

std::shared_ptr<DeltaTable> NewTable(const std::string& dir, std::vector<std::string> parts = kParts) {
  return testing::NewOrdersTable(dir, std::move(parts));
}

// ----------------------------------------------------------------------------- names and paths

TEST(TableName, AcceptsIdentifiersOnly) {
  auto n = ParseTableName("bronze.orders");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->layer, "bronze");
  EXPECT_EQ(n->name, "orders");
  EXPECT_EQ(n->ToString(), "bronze.orders");
  EXPECT_TRUE(ParseTableName("_x._y9").ok());
  EXPECT_TRUE(ParseTableName("a." + std::string(63, 'b')).ok());
  for (const char* bad : {"orders", "bronze.", ".orders", "Bronze.orders", "bronze.or-ders", "a.b.c", "a..b",
                          "../x.y", "/abs.t", "a/b.c", "a.b/c", "9a.b", "a. b", ""}) {
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

// ----------------------------------------------------------------------------- the log

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
  e.removes.push_back(RemoveFile{"day=2026-11-20/region=eu/old.parquet", 1790000000050, false,
                                 {{"day", "2026-11-20"}, {"region", "eu"}}, 999});
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
  auto tolerant = ParseLogEntry("{\"domainMetadata\":{\"domain\":\"x\"}}\n{\"txn\":{\"appId\":\"a\",\"version\":1,\"new\":2}}\n", "f");
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
  auto schema = std::make_shared<const Schema>(std::vector<Field>{
      {"b", DataType::Bool(), false},      {"i", DataType::Int32(), true},  {"l", DataType::Int64(), false},
      {"d", DataType::Float64(), false},   {"m", DataType::Decimal(18, 2), false},
      {"s", DataType::String(), false},    {"x", DataType::Binary(), false}, {"dt", DataType::Date(), false},
      {"ts", DataType::Timestamp(), false}, {"data.page", DataType::String(), false}});
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

// ----------------------------------------------------------------------------- tables

TEST(DeltaTable, CreateWritesProtocolMetadataAndCommitInfo) {
  TempDir tmp;
  auto table = NewTable(tmp / "bronze/orders");
  auto lines = LogLines(table->dir(), 0);
  std::map<std::string, json> actions;
  for (const auto& l : lines) actions[l.begin().key()] = l.begin().value();
  ASSERT_TRUE(actions.count("protocol") && actions.count("metaData") && actions.count("commitInfo"));
  EXPECT_EQ(actions["protocol"]["minReaderVersion"], 1);
  EXPECT_EQ(actions["protocol"]["minWriterVersion"], 2);
  const auto& md = actions["metaData"];
  EXPECT_EQ(md["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(md["format"]["provider"], "parquet");
  EXPECT_EQ(md["partitionColumns"], json(kParts));
  EXPECT_TRUE(md["createdTime"].is_number_integer());
  json schema = json::parse(md["schemaString"].get<std::string>());
  EXPECT_EQ(schema["fields"][0]["name"], "id");
  EXPECT_EQ(schema["fields"][0]["type"], "long");
  EXPECT_EQ(schema["fields"][0]["nullable"], false);
  EXPECT_EQ(schema["fields"][2]["type"], "decimal(18,2)");
  EXPECT_EQ(actions["commitInfo"]["operation"], "CREATE TABLE");

  auto snap = table->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->version, 0);
  EXPECT_EQ(*snap->schema, *OrdersSchema());
  EXPECT_EQ(snap->partition_columns, kParts);
  EXPECT_TRUE(snap->files.empty());
  EXPECT_EQ(snap->table_id, md["id"]);

  EXPECT_EQ(DeltaTable::Open(tmp / "nothing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DeltaTable::OpenOrCreate(tmp / "bad", OrdersSchema(), {"nope"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DeltaTable, WriteCommitScanWithStats) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  auto v = Append(table, 0, 300);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1);
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 300));

  auto snap = table->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->files.size(), 9u);  // 3 days x 3 regions (one NULL)
  int64_t rows = 0;
  for (const auto& f : snap->files) {
    rows += f.num_records;
    EXPECT_NE(f.path.find("/part-"), std::string::npos);
    EXPECT_EQ(f.path.rfind("day=2026-11-2", 0), 0u) << f.path;
    json stats = json::parse(f.stats_json);
    EXPECT_EQ(stats["numRecords"], f.num_records);
    EXPECT_TRUE(stats["minValues"]["id"].is_number_integer()) << f.stats_json;
    EXPECT_LE(stats["minValues"]["id"].get<int64_t>(), stats["maxValues"]["id"].get<int64_t>());
    EXPECT_TRUE(stats["nullCount"].contains("customer"));
    EXPECT_FALSE(stats["minValues"].contains("day"));  // partition columns are not in the files
  }
  EXPECT_EQ(rows, 300);
  // Files named part-<5 digits>-<uuid>.parquet.
  std::string name = snap->files[0].path.substr(snap->files[0].path.rfind('/') + 1);
  EXPECT_EQ(name.size(), std::string("part-00000-").size() + 36 + std::string(".parquet").size()) << name;

  // Projection, partition-only projection and limit.
  ScanOptions proj;
  proj.columns = {"region", "id"};
  auto p = ScanRows(*table, proj);
  ASSERT_EQ(p.size(), 300u);
  EXPECT_EQ(std::count_if(p.begin(), p.end(), [](const std::string& r) { return r.rfind("NULL|", 0) == 0; }), 99);
  ScanOptions only_part;
  only_part.columns = {"day"};
  EXPECT_EQ(ScanRows(*table, only_part).size(), 300u);
  ScanOptions limited;
  limited.limit = 7;
  EXPECT_EQ(ScanRows(*table, limited).size(), 7u);
  ScanOptions unknown;
  unknown.columns = {"amout"};
  Status st = Scan(*table, unknown, [](Batch) { return Status::OK(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("amount"), std::string::npos) << st.ToString();  // did you mean
}

TEST(DeltaTable, WriterChecksBatchColumns) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  TableWriter w(table);
  auto wrong = std::make_shared<const Schema>(std::vector<Field>{{"id", DataType::String(), true}});
  BatchBuilder b(wrong);
  b.AppendRow({Value::String("x")});
  Status st = w.Write(b.Finish());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'id'"), std::string::npos) << st.ToString();
  // A batch with a subset of the nullable columns is fine: the rest are NULL.
  auto subset = std::make_shared<const Schema>(
      std::vector<Field>{{"id", DataType::Int64(), true}, {"day", DataType::Date(), false}});
  BatchBuilder s(subset);
  s.AppendRow({Value::Int64(1), Value::Date(0)});
  ASSERT_TRUE(w.Write(s.Finish()).ok());
  auto adds = w.Finish();
  ASSERT_TRUE(adds.ok()) << adds.status().ToString();
  CommitRequest req;
  req.adds = *adds;
  ASSERT_TRUE(table->Commit(req).ok());
  EXPECT_EQ(ScanRows(*table), (std::vector<std::string>{"1|NULL|NULL|NULL|1970-01-01|NULL"}));
}

TEST(DeltaTable, RollsFilesAtTargetSize) {
  TempDir tmp;
  auto table = NewTable(tmp / "t", {});
  TableWriterOptions opts;
  opts.target_file_bytes = 1;  // every write fills a file
  TableWriter w(table, opts);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.Write(OrdersBatch(i * 100, i * 100 + 100)).ok());
  auto adds = w.Finish();
  ASSERT_TRUE(adds.ok()) << adds.status().ToString();
  EXPECT_GE(adds->size(), 2u);
  std::set<std::string> names;
  for (const auto& a : *adds) names.insert(a.path.substr(0, 10));  // part-NNNNN
  EXPECT_EQ(names.size(), adds->size());
  CommitRequest req;
  req.adds = *adds;
  ASSERT_TRUE(table->Commit(req).ok());
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 300));
}

TEST(DeltaTable, UnfinishedWriterLeavesNoFiles) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  {
    TableWriter w(table);
    ASSERT_TRUE(w.Write(OrdersBatch(0, 50)).ok());
  }
  EXPECT_TRUE(FilesUnder(table->dir(), true).empty());
}

TEST(DeltaTable, TimeTravelAndHistory) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  ASSERT_TRUE(Append(table, 0, 10).ok());
  ASSERT_TRUE(Append(table, 10, 25).ok());
  ASSERT_TRUE(Append(table, 25, 30).ok());
  for (int64_t v = 0; v <= 3; ++v) {
    ScanOptions o;
    o.version = v;
    int64_t upto = v == 0 ? 0 : v == 1 ? 10 : v == 2 ? 25 : 30;
    EXPECT_EQ(ScanRows(*table, o), ExpectedRows(0, upto)) << "version " << v;
  }
  auto out = table->GetSnapshot(7);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("0..3"), std::string::npos) << out.status().ToString();
  EXPECT_FALSE(table->GetSnapshot(-1).ok());

  // Incremental reads: what was added after a version.
  ScanOptions inc;
  inc.since_version = 1;
  EXPECT_EQ(ScanRows(*table, inc), ExpectedRows(10, 30));
  inc.since_version = 3;
  EXPECT_TRUE(ScanRows(*table, inc).empty());

  auto history = table->History();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].operation, "CREATE TABLE");
  EXPECT_EQ((*history)[2].version, 2);
  EXPECT_EQ((*history)[2].operation, "WRITE");
  EXPECT_EQ((*history)[2].num_output_rows, 15);
  EXPECT_GT((*history)[2].num_added_files, 0);
  EXPECT_GT((*history)[2].timestamp, 0);

  // Another instance (another process) sees the same versions.
  auto other = DeltaTable::Open(table->dir());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->GetSnapshot()->version, 3);
  ASSERT_TRUE(Append(*other, 30, 31).ok());
  EXPECT_EQ(table->GetSnapshot()->version, 4);  // the first instance catches up
}

TEST(DeltaTable, TxnAppVersions) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  ASSERT_TRUE(Append(table, 0, 5, std::make_pair(std::string("orders-sink"), int64_t{1})).ok());
  ASSERT_TRUE(Append(table, 5, 10, std::make_pair(std::string("other"), int64_t{7})).ok());
  ASSERT_TRUE(Append(table, 10, 15, std::make_pair(std::string("orders-sink"), int64_t{2})).ok());
  auto snap = table->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->app_versions, (std::map<std::string, int64_t>{{"orders-sink", 2}, {"other", 7}}));
  EXPECT_EQ(table->GetSnapshot(1)->app_versions, (std::map<std::string, int64_t>{{"orders-sink", 1}}));
  auto reopened = DeltaTable::Open(table->dir());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->GetSnapshot()->app_versions.at("orders-sink"), 2);
  bool has_txn = false;
  for (const auto& l : LogLines(table->dir(), 3)) {
    if (l.contains("txn")) {
      has_txn = true;
      EXPECT_EQ(l["txn"]["appId"], "orders-sink");
      EXPECT_EQ(l["txn"]["version"], 2);
      EXPECT_TRUE(l["txn"]["lastUpdated"].is_number_integer());
    }
  }
  EXPECT_TRUE(has_txn);
}

// ----------------------------------------------------------------------------- conflicts

// Runs `interloper` once, inside the next commit of this process, after that commit has read
// its version and before it claims the next one: a concurrent writer winning the race.
class Interloper {
 public:
  explicit Interloper(std::function<void()> f) {
    SetPutIfAbsentHookForTesting([this, f](const std::string& path) {
      if (path.find("_delta_log/") == std::string::npos || fired_) return;
      fired_ = true;
      f();
    });
  }
  ~Interloper() { SetPutIfAbsentHookForTesting(nullptr); }

 private:
  bool fired_ = false;
};

TEST(Conflicts, BlindAppendRetriesOnTop) {
  TempDir tmp;
  auto a = NewTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  ASSERT_TRUE(Append(a, 0, 10).ok());
  int64_t b_version = -1;
  {
    Interloper race([&] { b_version = *Append(b, 100, 110); });
    auto v = Append(a, 10, 20);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(b_version, 2);
    EXPECT_EQ(*v, 3);  // lost version 2, retried on top
  }
  auto rows = ScanRows(*a);
  auto expected = ExpectedRows(0, 20);
  auto more = ExpectedRows(100, 110);
  expected.insert(expected.end(), more.begin(), more.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(rows, expected);
}

TEST(Conflicts, RemovingCommitIsAborted) {
  TempDir tmp;
  auto a = NewTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  ASSERT_TRUE(Append(a, 0, 10).ok());
  auto snap = *a->GetSnapshot();
  CommitRequest req;
  req.operation = "DELETE";
  RemoveFile remove;
  remove.path = snap.files[0].path;
  req.removes.push_back(remove);
  Interloper race([&] { ASSERT_TRUE(Append(b, 100, 110).ok()); });
  auto v = a->Commit(req);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("removes files"), std::string::npos) << v.status().ToString();
  EXPECT_EQ(a->GetSnapshot()->version, 2);
  auto now = *a->GetSnapshot();
  EXPECT_EQ(now.files.size(), b->GetSnapshot()->files.size());
  EXPECT_TRUE(std::count_if(now.files.begin(), now.files.end(),
                            [&](const AddFile& f) { return f.path == snap.files[0].path; }));  // not removed
}

TEST(Conflicts, AppendAfterConcurrentSchemaChangeIsAborted) {
  TempDir tmp;
  auto a = NewTable(tmp / "t");
  std::vector<Field> wider = OrdersSchema()->fields();
  wider.push_back({"note", DataType::String(), false});
  auto wider_schema = std::make_shared<const Schema>(wider);
  Interloper race([&] { ASSERT_TRUE(DeltaTable::OpenOrCreate(a->dir(), wider_schema, kParts).ok()); });
  auto v = Append(a, 0, 10);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("metadata"), std::string::npos) << v.status().ToString();
}

TEST(Conflicts, SameAppIdIsAborted) {
  TempDir tmp;
  auto a = NewTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  Interloper race([&] { ASSERT_TRUE(Append(b, 0, 5, std::make_pair(std::string("sink"), int64_t{3})).ok()); });
  auto v = Append(a, 0, 5, std::make_pair(std::string("sink"), int64_t{3}));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("sink"), std::string::npos) << v.status().ToString();
  EXPECT_EQ(ScanRows(*a), ExpectedRows(0, 5));  // once, not twice
}

TEST(Conflicts, ConcurrentWritersLoseNothing) {
  TempDir tmp;
  auto table = NewTable(tmp / "t", {});
  constexpr int kWriters = 3, kCommits = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto mine = DeltaTable::Open(table->dir());  // its own instance, like another process
      if (!mine.ok()) {
        ++failures;
        return;
      }
      for (int c = 0; c < kCommits; ++c) {
        int64_t base = (w * kCommits + c) * 10;
        auto v = Append(*mine, base, base + 10);
        if (!v.ok()) {
          ++failures;
          ADD_FAILURE() << v.status().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(table->GetSnapshot()->version, kWriters * kCommits);
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, kWriters * kCommits * 10));
}

// ----------------------------------------------------------------------------- checkpoints

void ExpectSameState(const TableState& a, const TableState& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.protocol.min_reader_version, b.protocol.min_reader_version);
  EXPECT_EQ(a.protocol.min_writer_version, b.protocol.min_writer_version);
  EXPECT_EQ(a.metadata.id, b.metadata.id);
  EXPECT_EQ(a.metadata.schema_string, b.metadata.schema_string);
  EXPECT_EQ(a.metadata.partition_columns, b.metadata.partition_columns);
  EXPECT_EQ(a.metadata.created_time, b.metadata.created_time);
  ASSERT_EQ(a.files.size(), b.files.size());
  for (const auto& [path, f] : a.files) {
    auto it = b.files.find(path);
    ASSERT_NE(it, b.files.end()) << path;
    EXPECT_EQ(f.partition_values, it->second.partition_values) << path;
    EXPECT_EQ(f.size, it->second.size);
    EXPECT_EQ(f.modification_time, it->second.modification_time);
    EXPECT_EQ(f.stats_json, it->second.stats_json);
    EXPECT_EQ(f.num_records, it->second.num_records);
  }
  ASSERT_EQ(a.tombstones.size(), b.tombstones.size());
  for (const auto& [path, r] : a.tombstones) {
    ASSERT_TRUE(b.tombstones.count(path)) << path;
    EXPECT_EQ(r.deletion_timestamp, b.tombstones.at(path).deletion_timestamp);
  }
  ASSERT_EQ(a.txns.size(), b.txns.size());
  for (const auto& [app, t] : a.txns) EXPECT_EQ(t.version, b.txns.at(app).version);
}

TEST(Checkpoints, EveryTenthVersionAndReplayEqualsJson) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(Append(table, i * 10, i * 10 + 10, std::make_pair(std::string("app"), int64_t{i})).ok());
  }
  ASSERT_TRUE(Optimize(*table, 64 << 20).ok());  // version 10: removes in the checkpoint too
  EXPECT_EQ(table->GetSnapshot()->version, 10);
  struct stat st;
  ASSERT_EQ(::stat(CheckpointFilePath(table->dir(), 10).c_str(), &st), 0) << "no checkpoint at version 10";
  EXPECT_NE(::stat(CheckpointFilePath(table->dir(), 9).c_str(), &st), 0);
  auto last = ReadLastCheckpoint(table->dir());
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->version, 10);
  auto json_state = ReplayJsonOnly(table->dir(), 10);
  ASSERT_TRUE(json_state.ok()) << json_state.status().ToString();
  EXPECT_EQ((*last)->size, static_cast<int64_t>(2 + json_state->files.size() + json_state->tombstones.size() +
                                                 json_state->txns.size()));
  auto cp_state = ReadCheckpoint(table->dir(), 10);
  ASSERT_TRUE(cp_state.ok()) << cp_state.status().ToString();
  ExpectSameState(*cp_state, *json_state);

  ASSERT_TRUE(Append(table, 1000, 1010).ok());
  // Replay from the checkpoint must not need the JSON commits before it.
  for (int64_t v = 0; v <= 10; ++v) ::rename(CommitFilePath(table->dir(), v).c_str(), (tmp / std::to_string(v)).c_str());
  auto replayed = ReplayLog(table->dir());
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  for (int64_t v = 0; v <= 10; ++v) ::rename((tmp / std::to_string(v)).c_str(), CommitFilePath(table->dir(), v).c_str());
  ExpectSameState(*replayed, *ReplayJsonOnly(table->dir(), 11));
  auto fresh = DeltaTable::Open(table->dir());
  ASSERT_TRUE(fresh.ok());
  auto expected = ExpectedRows(0, 90);
  auto more = ExpectedRows(1000, 1010);
  expected.insert(expected.end(), more.begin(), more.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ScanRows(**fresh), expected);
}

// A checkpoint that cannot be written (EIO on its write, fsync or rename, a full disk; or on
// _last_checkpoint) does not fail the commit it follows, leaves no partial or temporary file, and
// the table reads the same.
TEST(Checkpoints, AFailedCheckpointLeavesTheCommitAndNoPartialFile) {
  struct Case {
    const char* what;
    io::FaultPlan plan;
    const char* under;  // the prefix, under _delta_log
  };
  const Case cases[] = {
      {"write", {.fail_write = 1}, ".00000000000000000010.checkpoint.parquet"},
      {"fsync", {.fail_fsync = 1}, ".00000000000000000010.checkpoint.parquet"},
      {"full disk", {.disk_bytes = 100}, ".00000000000000000010.checkpoint.parquet"},
      {"rename", {.fail_rename = 1}, "00000000000000000010.checkpoint.parquet"},
      {"_last_checkpoint", {.fail_write = 1}, "_last_checkpoint"},
  };
  for (Case c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    auto table = NewTable(tmp / "t", {});
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(Append(table, i * 10, i * 10 + 10).ok());
    {
      c.plan.path_prefix = table->dir() + "/_delta_log/" + c.under;
      io::ScopedFaults faults(c.plan);
      auto v = Append(table, 90, 100);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(*v, 10);
      EXPECT_EQ(faults.injected(), 1);
    }
    for (const auto& f : FilesUnder(table->dir() + "/_delta_log", false)) {
      EXPECT_EQ(f.find(".tmp"), std::string::npos) << "left behind: " << f;
    }
    struct stat st;
    if (::stat(CheckpointFilePath(table->dir(), 10).c_str(), &st) == 0) {
      EXPECT_TRUE(ReadCheckpoint(table->dir(), 10).ok()) << "a checkpoint in place is whole";
    }
    ASSERT_TRUE(Append(table, 100, 110).ok());
    auto fresh = DeltaTable::Open(table->dir());
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    EXPECT_EQ(ScanRows(**fresh), ExpectedRows(0, 110));
  }
}

// ----------------------------------------------------------------------------- schema evolution

TEST(SchemaEvolution, NewNullableColumnIsAMetadataCommit) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  ASSERT_TRUE(Append(table, 0, 20).ok());
  std::vector<Field> wider = OrdersSchema()->fields();
  wider.push_back({"note", DataType::String(), false});
  auto wider_schema = std::make_shared<const Schema>(wider);
  auto evolved = DeltaTable::OpenOrCreate(table->dir(), wider_schema, kParts);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  auto snap = (*evolved)->GetSnapshot();
  EXPECT_EQ(snap->version, 2);
  EXPECT_EQ(*snap->schema, *wider_schema);
  bool has_metadata = false;
  for (const auto& l : LogLines(table->dir(), 2)) {
    if (l.contains("metaData")) {
      has_metadata = true;
      EXPECT_EQ(l["metaData"]["id"], snap->table_id);  // same table
    }
  }
  EXPECT_TRUE(has_metadata);
  // Opening again with the same schema (or the old one) changes nothing.
  ASSERT_TRUE(DeltaTable::OpenOrCreate(table->dir(), wider_schema, kParts).ok());
  ASSERT_TRUE(DeltaTable::OpenOrCreate(table->dir(), OrdersSchema(), kParts).ok());
  EXPECT_EQ((*evolved)->GetSnapshot()->version, 2);
  // Old files read the new column as NULL; new files carry it.
  TableWriter w(*evolved);
  BatchBuilder b(wider_schema);
  b.AppendRow({Value::Int64(500), Value::String("c"), Value::Decimal(1, 18, 2), Value::Timestamp(0),
               Value::Date(0), Value::String("eu"), Value::String("hello")});
  ASSERT_TRUE(w.Write(b.Finish()).ok());
  CommitRequest req;
  req.adds = *w.Finish();
  ASSERT_TRUE((*evolved)->Commit(req).ok());
  auto rows = ScanRows(**evolved);
  ASSERT_EQ(rows.size(), 21u);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [](const std::string& r) { return r.ends_with("|NULL"); }), 20);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [](const std::string& r) { return r.ends_with("|hello"); }), 1);
}

TEST(SchemaEvolution, IncompatibleChangesAreRefused) {
  TempDir tmp;
  auto table = NewTable(tmp / "t");
  std::vector<Field> changed = OrdersSchema()->fields();
  changed[2].type = DataType::String();  // amount: decimal(18,2) -> string
  auto r = DeltaTable::OpenOrCreate(table->dir(), std::make_shared<const Schema>(changed), kParts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'amount'"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("decimal(18,2)"), std::string::npos);
  EXPECT_NE(r.status().message().find("string"), std::string::npos);

  std::vector<Field> required = OrdersSchema()->fields();
  required.push_back({"must", DataType::Int64(), true});
  r = DeltaTable::OpenOrCreate(table->dir(), std::make_shared<const Schema>(required), kParts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'must'"), std::string::npos) << r.status().ToString();

  r = DeltaTable::OpenOrCreate(table->dir(), OrdersSchema(), {"day"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("partitioned"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(table->GetSnapshot()->version, 0);
}

// ----------------------------------------------------------------------------- optimize, vacuum

TEST(Optimize, CompactsSmallFilesAndKeepsEveryRow) {
  TempDir tmp;
  auto table = NewTable(tmp / "t", {"day"});
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Append(table, i * 50, i * 50 + 50).ok());
  auto before = *table->GetSnapshot();
  EXPECT_EQ(before.files.size(), 18u);
  auto rows_before = ScanRows(*table);
  ASSERT_EQ(rows_before, ExpectedRows(0, 300));

  auto result = Optimize(*table, 64 << 20);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->files_removed, 18);
  EXPECT_EQ(result->files_added, 3);  // one per day
  EXPECT_EQ(result->version, 7);
  auto after = *table->GetSnapshot();
  EXPECT_EQ(after.files.size(), 3u);
  for (const auto& f : after.files) EXPECT_FALSE(f.data_change);
  EXPECT_EQ(ScanRows(*table), rows_before);
  // Removes are dataChange=false and the commit says OPTIMIZE.
  int removes = 0;
  for (const auto& l : LogLines(table->dir(), 7)) {
    if (l.contains("remove")) {
      ++removes;
      EXPECT_EQ(l["remove"]["dataChange"], false);
    }
    if (l.contains("commitInfo")) {
      EXPECT_EQ(l["commitInfo"]["operation"], "OPTIMIZE");
    }
  }
  EXPECT_EQ(removes, 18);
  // Compaction output is not new data for incremental readers; the old version still reads.
  ScanOptions inc;
  inc.since_version = 6;
  EXPECT_TRUE(ScanRows(*table, inc).empty());
  ScanOptions old;
  old.version = 6;
  EXPECT_EQ(ScanRows(*table, old), rows_before);
  // Nothing left to do.
  auto again = Optimize(*table, 64 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_removed, 0);
  EXPECT_EQ(table->GetSnapshot()->version, 7);
}

TEST(Vacuum, DeletesOrphansAndExpiredFilesNeverLiveOnes) {
  TempDir tmp;
  auto table = NewTable(tmp / "t", {"day"});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Append(table, i * 10, i * 10 + 10).ok());
  ASSERT_TRUE(Optimize(*table, 64 << 20).ok());
  // An orphan of a write that was never committed, and a stray file.
  TableWriter w(table);
  ASSERT_TRUE(w.Write(OrdersBatch(900, 910)).ok());
  auto orphans = w.Finish();
  ASSERT_TRUE(orphans.ok());
  { std::ofstream(table->dir() + "/day=2026-11-20/stray.bin") << "x"; }
  auto log_before = FilesUnder(table->dir() + "/_delta_log", false);
  auto snap = *table->GetSnapshot();
  std::set<std::string> live;
  for (const auto& f : snap.files) live.insert(f.path);

  // A week of retention keeps the recent tombstones and the young orphans.
  auto kept = Vacuum(*table, 7 * kMicrosPerDay, /*dry_run=*/true);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(kept->deleted.empty());

  auto dry = Vacuum(*table, 0, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->deleted.size(), 9 + orphans->size() + 1);  // 9 compacted away, orphans, stray
  for (const auto& d : dry->deleted) EXPECT_FALSE(live.count(d)) << d;
  for (const auto& o : *orphans) EXPECT_TRUE(std::count(dry->deleted.begin(), dry->deleted.end(), o.path)) << o.path;
  EXPECT_EQ(FilesUnder(table->dir(), true).size(), live.size() + dry->deleted.size());  // dry run deleted nothing

  auto done = Vacuum(*table, 0, /*dry_run=*/false);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->deleted, dry->deleted);
  auto remaining = FilesUnder(table->dir(), true);
  EXPECT_EQ(std::set<std::string>(remaining.begin(), remaining.end()), live);
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 30));
  // The log lost nothing (one more commit records the vacuum).
  auto log_after = FilesUnder(table->dir() + "/_delta_log", false);
  for (const auto& f : log_before) EXPECT_TRUE(std::count(log_after.begin(), log_after.end(), f)) << f;
  EXPECT_EQ(table->History()->back().operation, "VACUUM END");
}

TEST(ListTables, FindsLayerAndName) {
  TempDir tmp;
  NewTable(tmp / "bronze/orders");
  NewTable(tmp / "gold/revenue", {});
  ASSERT_TRUE(io::MakeDirs(tmp / "silver/not_a_table").ok());
  ASSERT_TRUE(io::MakeDirs(tmp / "Bad/x/_delta_log").ok());
  auto tables = ListTables(tmp.path());
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"bronze.orders", "gold.revenue"}));
  EXPECT_TRUE(ListTables(tmp / "missing")->empty());
}

}  // namespace
}  // namespace sluice::lake
