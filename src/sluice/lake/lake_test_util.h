// Helpers shared by the lake tests: temporary directories, a small orders schema, row sets, the
// lines of a commit file.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/io/file_system.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/types/temporal.h"

namespace sluice::lake::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sluice-lake-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// id int64 not null, customer string, amount decimal(18,2), ts timestamp, day date, region string.
inline SchemaPtr OrdersSchema() {
  return std::make_shared<const Schema>(std::vector<Field>{
      {"id", DataType::Int64(), true},
      {"customer", DataType::String(), false},
      {"amount", DataType::Decimal(18, 2), false},
      {"ts", DataType::Timestamp(), false},
      {"day", DataType::Date(), false},
      {"region", DataType::String(), false},
  });
}

// Rows id in [from, to): day cycles over 3 days, region over {eu, us, NULL} (9 partitions).
// The orders tables' partition columns.
inline const std::vector<std::string> kParts = {"day", "region"};

// A new (or existing) orders table at `dir`, partitioned by `parts`.
inline std::shared_ptr<DeltaTable> NewOrdersTable(const std::string& dir, std::vector<std::string> parts = kParts) {
  auto t = DeltaTable::OpenOrCreate(dir, OrdersSchema(), parts);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

inline Batch OrdersBatch(int64_t from, int64_t to, SchemaPtr schema = OrdersSchema()) {
  BatchBuilder b(schema);
  for (int64_t i = from; i < to; ++i) {
    int32_t day = *ParseDate("2026-11-20") + static_cast<int32_t>(i % 3);
    int64_t r = (i / 3) % 3;
    Value region = r == 0 ? Value::String("eu") : r == 1 ? Value::String("us") : Value::Null(DataType::String());
    std::vector<Value> row = {Value::Int64(i),
                              i % 5 == 0 ? Value::Null(DataType::String()) : Value::String("c" + std::to_string(i % 7)),
                              Value::Decimal(i * 101, 18, 2),
                              Value::Timestamp(int64_t{1'790'000'000'000'000} + i * 1'000'123),
                              Value::Date(day),
                              region};
    for (size_t c = row.size(); c < schema->size(); ++c) row.push_back(Value::Null(schema->field(c).type));
    b.AppendRow(row);
  }
  return b.Finish();
}

// Every row of a scan as text ("1|c1|1.01|..."), sorted: compares row sets ignoring order.
inline std::vector<std::string> ScanRows(const DeltaTable& table, ScanOptions options = {}) {
  std::vector<std::string> rows;
  Status st = Scan(table, options, [&](Batch b) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      std::string line;
      for (size_t c = 0; c < b.num_columns(); ++c) {
        if (c) line += '|';
        line += b.column(c)->GetValue(r).ToString();
      }
      rows.push_back(std::move(line));
    }
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::sort(rows.begin(), rows.end());
  return rows;
}

inline std::vector<std::string> ExpectedRows(int64_t from, int64_t to) {
  Batch b = OrdersBatch(from, to);
  std::vector<std::string> rows;
  for (size_t r = 0; r < b.num_rows(); ++r) {
    std::string line;
    for (size_t c = 0; c < b.num_columns(); ++c) {
      if (c) line += '|';
      line += b.column(c)->GetValue(r).ToString();
    }
    rows.push_back(std::move(line));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Writes rows [from, to) and commits them; returns the version.
inline Result<int64_t> Append(const std::shared_ptr<DeltaTable>& table, int64_t from, int64_t to,
                              std::optional<std::pair<std::string, int64_t>> txn = std::nullopt) {
  TableWriter w(table);
  SLUICE_RETURN_IF_ERROR(w.Write(OrdersBatch(from, to)));
  SLUICE_ASSIGN_OR_RETURN(auto adds, w.Finish());
  CommitRequest req;
  req.adds = std::move(adds);
  req.txn = std::move(txn);
  return table->Commit(req);
}

// Regular files under `dir` (relative), recursively, sorted; `skip_log` leaves out _delta_log.
inline std::vector<std::string> FilesUnder(const std::string& dir, bool skip_log) {
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir); it != std::filesystem::end(it); ++it) {
    std::string rel = std::filesystem::relative(it->path(), dir).string();
    if (skip_log && rel.rfind("_delta_log", 0) == 0) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The actions of commit `version` of the table at `dir`, one JSON object per line.
inline std::vector<nlohmann::json> LogLines(const std::string& dir, int64_t version) {
  auto buf = io::ReadFile(CommitFilePath(dir, version), 0);
  EXPECT_TRUE(buf.ok()) << buf.status().ToString();
  std::vector<nlohmann::json> out;
  std::string text(buf->view());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(nlohmann::json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return out;
}

}  // namespace sluice::lake::testing
