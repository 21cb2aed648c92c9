// Lake tables read by another engine: DuckDB reads the Parquet files of a partitioned table with
// Hive partitioning and must see exactly the rows our Scan returns; the per-file statistics in
// the Delta log must agree with DuckDB's own count/min/max of each file; and every action of the
// _delta_log carries the fields the Delta protocol requires.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "../e2e/process.h"
#include "sluice/lake/delta_table.h"
#include "sluice/types/temporal.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

const std::string kSrc = SLUICE_SOURCE_DIR;

json DuckDb(const std::string& sql) {
  auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql});
  EXPECT_EQ(r.exit_code, 0) << "DuckDB oracle failed (run `make deps` to install it): " << r.err << "\nSQL: " << sql;
  if (r.exit_code != 0) return json::array();
  return json::parse(r.out);
}

SchemaPtr Schema6() {
  return std::make_shared<const Schema>(std::vector<Field>{
      {"id", DataType::Int64(), true},
      {"customer", DataType::String(), false},
      {"amount", DataType::Decimal(18, 2), false},
      {"ts", DataType::Timestamp(), false},
      {"day", DataType::Date(), false},
      {"region", DataType::String(), false},
  });
}

Batch Rows(int64_t from, int64_t to) {
  BatchBuilder b(Schema6());
  for (int64_t i = from; i < to; ++i) {
    int64_t r = (i / 7) % 4;
    b.AppendRow({Value::Int64(i), i % 9 == 0 ? Value::Null(DataType::String()) : Value::String("cust-" + std::to_string(i % 13)),
                 i % 11 == 0 ? Value::Null(DataType::Decimal(18, 2)) : Value::Decimal(i * 37 - 500, 18, 2),
                 Value::Timestamp(*ParseTimestamp("2026-11-20T00:00:00Z") + i * 7'654'321),
                 Value::Date(*ParseDate("2026-11-20") + static_cast<int32_t>(i % 3)),
                 r == 0 ? Value::String("eu") : r == 1 ? Value::String("us west") : r == 2 ? Value::String("a=b/c")
                                                                                     : Value::Null(DataType::String())});
  }
  return b.Finish();
}

class LakeDuckDb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_ / "lake/bronze/orders";
    auto t = lake::DeltaTable::OpenOrCreate(dir_, Schema6(), {"day", "region"});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = *t;
    for (int c = 0; c < 2; ++c) {
      lake::TableWriter w(table_);
      ASSERT_TRUE(w.Write(Rows(c * 500, c * 500 + 500)).ok());
      auto adds = w.Finish();
      ASSERT_TRUE(adds.ok()) << adds.status().ToString();
      lake::CommitRequest req;
      req.adds = *adds;
      req.txn = std::make_pair(std::string("duckdb-test"), int64_t{c});
      ASSERT_TRUE(table_->Commit(req).ok());
    }
  }

  TempDir tmp_;
  std::string dir_;
  std::shared_ptr<lake::DeltaTable> table_;
};

TEST_F(LakeDuckDb, DuckDbReadsTheSameRowsWithHivePartitioning) {
  // Ours: id -> the other columns as DuckDB will print them.
  std::map<int64_t, json> ours;
  Status st = lake::Scan(*table_, {}, [&](Batch b) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      json row;
      auto cell = [&](size_t c) { return b.column(c)->GetValue(r); };
      row["customer"] = cell(1).is_null() ? json(nullptr) : json(cell(1).string_value());
      row["amount"] = cell(2).is_null() ? json(nullptr) : json(cell(2).ToString());
      row["ts_us"] = std::to_string(cell(3).int_value());
      row["day"] = FormatDate(static_cast<int32_t>(cell(4).int_value()));
      row["region"] = cell(5).is_null() ? json(nullptr) : json(cell(5).string_value());
      ours[cell(0).int_value()] = row;
    }
    return Status::OK();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(ours.size(), 1000u);

  json theirs = DuckDb("SELECT id, customer, amount::VARCHAR AS amount, epoch_us(ts)::VARCHAR AS ts_us, "
                       "day::VARCHAR AS day, region FROM read_parquet('" + dir_ +
                       "/**/*.parquet', hive_partitioning = true) ORDER BY id");
  ASSERT_EQ(theirs.size(), 1000u);
  int mismatches = 0;
  for (const auto& row : theirs) {
    int64_t id = std::stoll(row["id"].get<std::string>());
    json mine = ours[id];
    json other = row;
    other.erase("id");
    if (mine != other && ++mismatches <= 5) ADD_FAILURE() << "id " << id << ": ours " << mine << ", DuckDB " << other;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_F(LakeDuckDb, LogStatsAgreeWithDuckDbPerFile) {
  json per_file = DuckDb("SELECT filename, count(*)::BIGINT AS n, min(id) AS lo, max(id) AS hi, "
                         "count(*) - count(customer) AS customer_nulls FROM read_parquet('" +
                         dir_ + "/**/*.parquet', filename = true) GROUP BY ALL");
  std::map<std::string, json> by_file;
  for (const auto& r : per_file) by_file[r["filename"].get<std::string>()] = r;
  auto snap = table_->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(by_file.size(), snap->files.size());
  for (const auto& f : snap->files) {
    auto it = by_file.find(dir_ + "/" + f.path);
    ASSERT_NE(it, by_file.end()) << f.path;
    json stats = json::parse(f.stats_json);
    EXPECT_EQ(std::to_string(stats["numRecords"].get<int64_t>()), it->second["n"].get<std::string>()) << f.path;
    EXPECT_EQ(std::to_string(stats["minValues"]["id"].get<int64_t>()), it->second["lo"].get<std::string>());
    EXPECT_EQ(std::to_string(stats["maxValues"]["id"].get<int64_t>()), it->second["hi"].get<std::string>());
    EXPECT_EQ(std::to_string(stats["nullCount"]["customer"].get<int64_t>()),
              it->second["customer_nulls"].get<std::string>());
  }
}

// Percent-decoding of a log path (RFC 2396).
std::string UriDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST_F(LakeDuckDb, DeltaLogFollowsTheProtocol) {
  const std::vector<std::string> kKnown = {"commitInfo", "protocol", "metaData", "txn", "add", "remove"};
  std::vector<std::string> partition_columns;
  int adds = 0;
  for (int64_t v = 0; v <= 2; ++v) {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(v));
    std::string text = ReadFile(dir_ + "/_delta_log/" + name);
    ASSERT_FALSE(text.empty()) << name;
    ASSERT_EQ(text.back(), '\n');
    size_t pos = 0;
    std::map<std::string, int> counts;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      json line = json::parse(text.substr(pos, nl - pos));  // one JSON object per line
      pos = nl + 1;
      ASSERT_TRUE(line.is_object());
      ASSERT_EQ(line.size(), 1u) << line;
      std::string kind = line.begin().key();
      ASSERT_NE(std::find(kKnown.begin(), kKnown.end(), kind), kKnown.end()) << kind;
      ++counts[kind];
      const json& a = line.begin().value();
      if (kind == "protocol") {
        EXPECT_EQ(a["minReaderVersion"], 1);
        EXPECT_EQ(a["minWriterVersion"], 2);
      } else if (kind == "metaData") {
        EXPECT_TRUE(a["id"].is_string());
        EXPECT_EQ(a["format"]["provider"], "parquet");
        EXPECT_TRUE(a["format"]["options"].is_object());
        ASSERT_TRUE(a["partitionColumns"].is_array());
        partition_columns = a["partitionColumns"].get<std::vector<std::string>>();
        EXPECT_TRUE(a["configuration"].is_object());
        EXPECT_TRUE(a["createdTime"].is_number_integer());
        json schema = json::parse(a["schemaString"].get<std::string>());
        EXPECT_EQ(schema["type"], "struct");
        for (const auto& f : schema["fields"]) {
          EXPECT_TRUE(f["name"].is_string() && f["type"].is_string() && f["nullable"].is_boolean() &&
                      f["metadata"].is_object())
              << f;
        }
        for (const auto& p : partition_columns) {
          EXPECT_TRUE(std::any_of(schema["fields"].begin(), schema["fields"].end(),
                                  [&](const json& f) { return f["name"] == p; }))
              << p;
        }
      } else if (kind == "add") {
        ++adds;
        ASSERT_TRUE(a["path"].is_string());
        std::string path = UriDecode(a["path"].get<std::string>());
        EXPECT_NE(path[0], '/');
        struct stat st;
        ASSERT_EQ(::stat((dir_ + "/" + path).c_str(), &st), 0) << path;
        EXPECT_EQ(a["size"].get<int64_t>(), static_cast<int64_t>(st.st_size));
        EXPECT_TRUE(a["modificationTime"].is_number_integer());
        EXPECT_TRUE(a["dataChange"].is_boolean());
        ASSERT_TRUE(a["partitionValues"].is_object());
        for (const auto& p : partition_columns) {
          ASSERT_TRUE(a["partitionValues"].contains(p)) << a;
          EXPECT_TRUE(a["partitionValues"][p].is_string() || a["partitionValues"][p].is_null());
        }
        json stats = json::parse(a["stats"].get<std::string>());
        EXPECT_TRUE(stats["numRecords"].is_number_integer());
      } else if (kind == "txn") {
        EXPECT_EQ(a["appId"], "duckdb-test");
        EXPECT_TRUE(a["version"].is_number_integer());
      } else if (kind == "commitInfo") {
        EXPECT_TRUE(a["timestamp"].is_number_integer());
        EXPECT_TRUE(a["operation"].is_string());
      }
    }
    if (v == 0) {
      EXPECT_EQ(counts["protocol"], 1);
      EXPECT_EQ(counts["metaData"], 1);
    }
    EXPECT_EQ(counts["commitInfo"], 1);
  }
  EXPECT_EQ(adds, static_cast<int>(table_->GetSnapshot()->files.size()));
}

TEST_F(LakeDuckDb, DuckDbReadsTheCheckpoint) {
  // Versions 3..10 (the checkpoint is written at version 10).
  for (int c = 2; c < 10; ++c) {
    lake::TableWriter w(table_);
    ASSERT_TRUE(w.Write(Rows(c * 100, c * 100 + 100)).ok());
    auto adds = w.Finish();
    ASSERT_TRUE(adds.ok());
    lake::CommitRequest req;
    req.adds = *adds;
    ASSERT_TRUE(table_->Commit(req).ok());
  }
  auto snap = table_->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->version, 10);
  json last = json::parse(ReadFile(dir_ + "/_delta_log/_last_checkpoint"));
  EXPECT_EQ(last["version"], 10);
  const std::string cp = dir_ + "/_delta_log/00000000000000000010.checkpoint.parquet";
  json r = DuckDb("SELECT count(add)::INTEGER AS adds, count(remove)::INTEGER AS removes, "
                  "count(protocol)::INTEGER AS protocols, count(metaData)::INTEGER AS metas, "
                  "count(txn)::INTEGER AS txns, max(protocol.minReaderVersion) AS reader, "
                  "max(protocol.minWriterVersion) AS writer, max(metaData.id) AS id, "
                  "max(metaData.schemaString) AS schema, max(txn.appId) AS app, max(txn.version)::INTEGER AS app_version, "
                  "sum(add.size)::VARCHAR AS bytes, count(*)::INTEGER AS total FROM read_parquet('" + cp + "')");
  ASSERT_EQ(r.size(), 1u);
  const json& row = r[0];
  EXPECT_EQ(row["adds"], static_cast<int>(snap->files.size()));
  EXPECT_EQ(row["removes"], 0);
  EXPECT_EQ(row["protocols"], 1);
  EXPECT_EQ(row["metas"], 1);
  EXPECT_EQ(row["txns"], 1);
  EXPECT_EQ(row["reader"], 1);
  EXPECT_EQ(row["writer"], 2);
  EXPECT_EQ(row["id"], snap->table_id);
  EXPECT_EQ(row["app"], "duckdb-test");
  EXPECT_EQ(row["app_version"], 1);
  EXPECT_EQ(row["total"], last["size"]);
  int64_t bytes = 0;
  for (const auto& f : snap->files) bytes += f.size;
  EXPECT_EQ(row["bytes"], std::to_string(bytes));
  EXPECT_NO_THROW(json::parse(row["schema"].get<std::string>()));
  // Partition values: a map with every partition column, NULL where the value is NULL.
  json nulls = DuckDb("SELECT count(*)::INTEGER AS n FROM read_parquet('" + cp +
                      "') WHERE add IS NOT NULL AND add.partitionValues['region'] IS NULL "
                      "AND cardinality(add.partitionValues) = 2");
  int expected_nulls = 0;
  for (const auto& f : snap->files) expected_nulls += f.partition_values.count("region") ? 0 : 1;
  ASSERT_EQ(nulls.size(), 1u);
  EXPECT_GT(expected_nulls, 0);
  EXPECT_EQ(nulls[0]["n"], expected_nulls);
}

}  // namespace
}  // namespace sluice::testing
