// Helpers shared by the Parquet tests: a temporary directory, a schema and rows of every type,
// writing rows to a file and comparing what is read back.
#pragma once

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sluice/formats/parquet/parquet.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sluice-parquet-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline SchemaPtr MakeSchema(std::vector<Field> fields) { return std::make_shared<const Schema>(std::move(fields)); }

inline SchemaPtr AllTypesSchema(bool required = false) {
  return MakeSchema({
      {"b", DataType::Bool(), required},
      {"i32", DataType::Int32(), required},
      {"i64", DataType::Int64(), required},
      {"f64", DataType::Float64(), required},
      {"d9", DataType::Decimal(9, 2), required},
      {"d18", DataType::Decimal(18, 4), required},
      {"s", DataType::String(), required},
      {"bin", DataType::Binary(), required},
      {"dt", DataType::Date(), required},
      {"ts", DataType::Timestamp(), required},
  });
}

inline const char* const kStrings[] = {"", "a", "hello", "ünïcødé ✓", "日本語テキスト", "emoji 😀", "x,y\"z", "\n\t"};

// Rows of every type; row r is null in column c when (r + c) % null_every == 0 (never if 0).
inline std::vector<std::vector<Value>> AllTypesRows(size_t n, int null_every, uint32_t seed = 1, int cardinality = 0) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<Value>> rows;
  for (size_t r = 0; r < n; ++r) {
    uint64_t x = cardinality ? rng() % cardinality : rng();
    int64_t sx = static_cast<int64_t>(x);
    std::vector<Value> row = {
        Value::Bool(x & 1),
        Value::Int32(static_cast<int32_t>(sx)),
        Value::Int64(sx),
        Value::Float64(static_cast<double>(sx % 1000000) / 7.0),
        Value::Decimal(sx % 999999999, 9, 2),
        Value::Decimal(sx % 999999999999999999LL, 18, 4),
        Value::String(std::string(kStrings[x % 8]) + (x % 3 ? std::to_string(x % 1000) : "")),
        Value::Binary(std::string("\0\xff\x01", 3) + std::to_string(x % 100)),
        Value::Date(static_cast<int32_t>(sx % 40000 - 20000)),  // before and after 1970
        Value::Timestamp(sx % (200LL * 365 * kMicrosPerDay) - 100LL * 365 * kMicrosPerDay),
    };
    if (null_every) {
      for (size_t c = 0; c < row.size(); ++c) {
        if ((r + c) % null_every == 0) row[c] = Value::Null(row[c].type());
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

inline std::vector<Batch> MakeBatches(SchemaPtr schema, const std::vector<std::vector<Value>>& rows,
                                      size_t batch_rows) {
  std::vector<Batch> out;
  BatchBuilder bb(schema);
  for (const auto& row : rows) {
    bb.AppendRow(row);
    if (bb.num_rows() == batch_rows) out.push_back(bb.Finish());
  }
  if (bb.num_rows() > 0) out.push_back(bb.Finish());
  return out;
}

inline Status WriteRows(const std::string& path, SchemaPtr schema, const std::vector<std::vector<Value>>& rows,
                        WriterOptions options = {}, size_t batch_rows = 1000) {
  SLUICE_ASSIGN_OR_RETURN(auto w, Writer::Open(path, schema, options));
  for (const auto& b : MakeBatches(schema, rows, batch_rows)) SLUICE_RETURN_IF_ERROR(w->Write(b));
  return w->Close();
}

inline std::vector<std::vector<Value>> ToRows(const std::vector<Batch>& batches) {
  std::vector<std::vector<Value>> rows;
  for (const auto& b : batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      std::vector<Value> row;
      for (size_t c = 0; c < b.num_columns(); ++c) row.push_back(b.column(c)->GetValue(r));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

inline void ExpectSameRows(const std::vector<std::vector<Value>>& want, const std::vector<std::vector<Value>>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t r = 0; r < want.size(); ++r) {
    ASSERT_EQ(want[r].size(), got[r].size());
    for (size_t c = 0; c < want[r].size(); ++c) {
      const Value& a = want[r][c];
      const Value& b = got[r][c];
      if (!a.is_null() && !b.is_null() && a.type().id == TypeId::kFloat64 && std::isnan(a.double_value())) {
        EXPECT_TRUE(std::isnan(b.double_value()));
        continue;
      }
      ASSERT_EQ(a, b) << "row " << r << " column " << c << ": want " << a.ToString() << " got " << b.ToString();
    }
  }
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// A schema shaped like a lake checkpoint's (structs, lists, maps), and rows of it.
inline std::vector<NestedField> CheckpointSchema() {
  using F = NestedField;
  auto str = [](const char* n) { return F::Primitive(n, DataType::String()); };
  auto i64 = [](const char* n) { return F::Primitive(n, DataType::Int64()); };
  return {
      F::Struct("txn", {str("appId"), i64("version"), i64("lastUpdated")}),
      F::Struct("add", {str("path"), F::Map("partitionValues", str("key"), str("value")), i64("size"),
                        i64("modificationTime"), F::Primitive("dataChange", DataType::Bool()), str("stats")}),
      F::Struct("remove", {str("path"), i64("deletionTimestamp"), F::Primitive("dataChange", DataType::Bool())}),
      F::Struct("metaData", {str("id"), str("name"), str("description"),
                             F::Struct("format", {str("provider"), F::Map("options", str("key"), str("value"))}),
                             str("schemaString"), F::List("partitionColumns", str("element")),
                             F::Map("configuration", str("key"), str("value")), i64("createdTime")}),
      F::Struct("protocol", {F::Primitive("minReaderVersion", DataType::Int32()),
                             F::Primitive("minWriterVersion", DataType::Int32())}),
  };
}

inline NestedValue S(const std::string& s) { return NestedValue::Scalar(Value::String(s)); }
inline NestedValue I(int64_t v) { return NestedValue::Scalar(Value::Int64(v)); }
inline NestedValue N() { return NestedValue::Null(); }

inline std::vector<std::vector<NestedValue>> CheckpointRows() {
  using V = NestedValue;
  std::vector<std::vector<V>> rows;
  rows.push_back({N(), N(), N(), N(), V::Struct({V::Scalar(Value::Int32(1)), V::Scalar(Value::Int32(2))})});
  rows.push_back({N(), N(), N(),
                  V::Struct({S("id-1"), S("orders"), N(), V::Struct({S("parquet"), V::StringMap({})}),
                             S("{\"type\":\"struct\",\"fields\":[]}"), V::StringList({"date", "country"}),
                             V::StringMap({{"delta.appendOnly", "true"}, {"k", ""}}), I(1700000000000)}),
                  N()});
  rows.push_back({V::Struct({S("pipeline-orders"), I(42), I(1700000000123)}), N(), N(), N(), N()});
  for (int i = 0; i < 50; ++i) {
    V pv = i % 5 == 0
               ? V::StringMap({})
               : V::StringMap({{"date", "2026-11-" + std::to_string(10 + i % 20)}, {"country", i % 2 ? "DE" : "ünï"}});
    if (i % 7 == 0) pv = N();
    rows.push_back(
        {N(),
         V::Struct({S("date=2026-11-21/part-" + std::to_string(i) + ".parquet"), pv, I(1000 + i), I(1700000000000 + i),
                    V::Scalar(Value::Bool(i % 3 != 0)), i % 4 ? S("{\"numRecords\":" + std::to_string(i) + "}") : N()}),
         N(), N(), N()});
  }
  rows.push_back({N(), N(), V::Struct({S("old.parquet"), I(1700000009999), V::Scalar(Value::Bool(true))}), N(), N()});
  // A metaData with empty and null collections.
  rows.push_back(
      {N(), N(), N(),
       V::Struct({S("id-2"), N(), S(""), V::Struct({S("parquet"), N()}), S("{}"), V::StringList({}), N(), N()}), N()});
  return rows;
}

}  // namespace sluice::parquet::testing
