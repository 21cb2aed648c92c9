// Delta tables: create, write, commit, scan with statistics, time travel, transaction versions
// and schema evolution.
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using nlohmann::json;
using testing::Append;
using testing::ExpectedRows;
using testing::FilesUnder;
using testing::kParts;
using testing::LogLines;
using testing::NewOrdersTable;
using testing::OrdersBatch;
using testing::OrdersSchema;
using testing::ScanRows;
using testing::TempDir;

TEST(DeltaTable, CreateWritesProtocolMetadataAndCommitInfo) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "bronze/orders");
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
  auto table = NewOrdersTable(tmp / "t");
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
  auto table = NewOrdersTable(tmp / "t");
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
  auto table = NewOrdersTable(tmp / "t", {});
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
  auto table = NewOrdersTable(tmp / "t");
  {
    TableWriter w(table);
    ASSERT_TRUE(w.Write(OrdersBatch(0, 50)).ok());
  }
  EXPECT_TRUE(FilesUnder(table->dir(), true).empty());
}

TEST(DeltaTable, TimeTravelAndHistory) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t");
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
  auto table = NewOrdersTable(tmp / "t");
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

TEST(SchemaEvolution, NewNullableColumnIsAMetadataCommit) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t");
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
  b.AppendRow({Value::Int64(500), Value::String("c"), Value::Decimal(1, 18, 2), Value::Timestamp(0), Value::Date(0),
               Value::String("eu"), Value::String("hello")});
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
  auto table = NewOrdersTable(tmp / "t");
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

}  // namespace
}  // namespace sluice::lake
