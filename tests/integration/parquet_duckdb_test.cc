// Parquet interoperability with DuckDB, both ways (DuckDB is the oracle, docs/testing.md).
//  - DuckDB reads every file Sluice writes with identical values (every type, nulls, edge
//    values, zero rows, many row groups, dictionary and plain, each codec).
//  - Sluice reads the files DuckDB writes (each codec, data pages v1 and v2 with delta
//    encodings, BYTE_STREAM_SPLIT, many types) with the values DuckDB itself reads from them.
// Values are compared in one canonical JSON form, produced by SQL on the DuckDB side and by
// Canonical() on ours.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::TempDir;

json Oracle(const std::string& sql) {
  std::string script = std::string(SLUICE_SOURCE_DIR) + "/tests/oracle/duckdb-query.mjs";
  auto r = RunProcess({"/usr/bin/env", "node", script, sql});
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
  if (r.exit_code != 0) return json::array();
  return json::parse(r.out);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else out += c;
  }
  return out + "'";
}

// The SQL that renders a column of Sluice type `t` canonically.
std::string CanonicalSql(const std::string& col, DataType t) {
  std::string c = "\"" + col + "\"";
  switch (t.id) {
    case TypeId::kInt32: return "CAST(" + c + " AS INTEGER)";
    case TypeId::kInt64: return "CAST(" + c + " AS BIGINT)";
    case TypeId::kFloat64: return "CAST(" + c + " AS DOUBLE)";
    case TypeId::kBinary: return "hex(" + c + ")";
    case TypeId::kTimestamp: return "CAST(epoch_us(" + c + ") AS BIGINT)";
    case TypeId::kDecimal: return "CAST(" + c + fmt::format(" AS DECIMAL({},{}))", t.precision, t.scale);
    default: return c;
  }
}

std::string Hex(std::string_view s) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

json Canonical(const Value& v) {
  if (v.is_null()) return nullptr;
  switch (v.type().id) {
    case TypeId::kBool: return v.bool_value();
    case TypeId::kInt32: return v.int_value();
    case TypeId::kInt64: return std::to_string(v.int_value());
    case TypeId::kFloat64: {
      double d = v.double_value();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return d;
    }
    case TypeId::kDecimal: return FormatDecimal(v.int_value(), v.type().scale);
    case TypeId::kString: return v.string_value();
    case TypeId::kBinary: return Hex(v.string_value());
    case TypeId::kDate: return FormatDate(static_cast<int32_t>(v.int_value()));
    case TypeId::kTimestamp: return std::to_string(v.int_value());
    default: return "?";
  }
}

// DuckDB's canonical rows of a Parquet file, in file order.
json DuckRows(const std::string& path, const Schema& schema) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < schema.size(); ++i) {
    if (i) sql += ", ";
    sql += CanonicalSql(schema.field(i).name, schema.field(i).type) + " AS \"" + schema.field(i).name + "\"";
  }
  sql += " FROM read_parquet(" + Quote(path) + ", file_row_number = true) ORDER BY file_row_number";
  return Oracle(sql);
}

json OurRows(const std::vector<Batch>& batches) {
  json rows = json::array();
  for (const auto& b : batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      json row = json::object();
      for (size_t c = 0; c < b.num_columns(); ++c) row[b.schema()->field(c).name] = Canonical(b.column(c)->GetValue(r));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

void ExpectSameJsonRows(const json& want, const json& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t r = 0; r < want.size(); ++r) {
    for (auto it = want[r].begin(); it != want[r].end(); ++it) {
      ASSERT_TRUE(got[r].contains(it.key())) << what << " row " << r << " misses " << it.key();
      const json& a = it.value();
      const json& b = got[r][it.key()];
      if (a.is_number_float() || b.is_number_float()) {
        ASSERT_TRUE(a.is_number() && b.is_number()) << what << " row " << r << " " << it.key() << ": " << a << " vs " << b;
        ASSERT_EQ(a.get<double>(), b.get<double>()) << what << " row " << r << " " << it.key();
      } else {
        ASSERT_EQ(a, b) << what << " row " << r << " column " << it.key();
      }
    }
  }
}

SchemaPtr AllTypesSchema() {
  return std::make_shared<const Schema>(std::vector<Field>{
      {"b", DataType::Bool()},
      {"i32", DataType::Int32()},
      {"i64", DataType::Int64(), true},
      {"f64", DataType::Float64()},
      {"d9", DataType::Decimal(9, 2)},
      {"d18", DataType::Decimal(18, 4)},
      {"s", DataType::String()},
      {"bin", DataType::Binary()},
      {"dt", DataType::Date()},
      {"ts", DataType::Timestamp()},
  });
}

std::vector<Batch> AllTypesBatches(size_t n, int cardinality, uint32_t seed) {
  static const char* kStrings[] = {"", "plain", "ünïcødé ✓", "日本語", "emoji 😀", "quote ' \" ,", "tab\there"};
  std::mt19937_64 rng(seed);
  auto schema = AllTypesSchema();
  BatchBuilder bb(schema);
  std::vector<Batch> out;
  for (size_t r = 0; r < n; ++r) {
    uint64_t x = cardinality ? rng() % cardinality : rng();
    int64_t sx = static_cast<int64_t>(x);
    std::vector<Value> row = {
        Value::Bool(x & 1),
        Value::Int32(static_cast<int32_t>(sx)),
        Value::Int64(sx),
        Value::Float64(static_cast<double>(sx % 10000000) / 13.0),
        Value::Decimal(sx % 999999999, 9, 2),
        Value::Decimal(sx % 999999999999999999LL, 18, 4),
        Value::String(std::string(kStrings[x % 7]) + (x % 4 ? std::to_string(x % 997) : "")),
        Value::Binary(std::string("\0\xfe", 2) + std::to_string(x % 101)),
        Value::Date(static_cast<int32_t>(sx % 60000 - 30000)),
        Value::Timestamp(sx % (300LL * 365 * kMicrosPerDay) - 150LL * 365 * kMicrosPerDay),
    };
    for (size_t c = 0; c < row.size(); ++c) {
      if (c != 2 && (r * 31 + c) % 9 == 0) row[c] = Value::Null(row[c].type());
    }
    if (r == 0) {
      row[1] = Value::Int32(INT32_MIN);
      row[2] = Value::Int64(INT64_MIN);
      row[3] = Value::Float64(-0.0);
      row[4] = Value::Decimal(-999999999, 9, 2);
      row[5] = Value::Decimal(-999999999999999999LL, 18, 4);
      row[6] = Value::String("");
      row[9] = Value::Timestamp(-1);
    }
    if (r == 1) {
      row[1] = Value::Int32(INT32_MAX);
      row[2] = Value::Int64(INT64_MAX);
      row[3] = Value::Float64(std::nan(""));
      row[4] = Value::Decimal(999999999, 9, 2);
      row[5] = Value::Decimal(999999999999999999LL, 18, 4);
      row[9] = Value::Timestamp(0);
    }
    bb.AppendRow(row);
    if (bb.num_rows() == 1024) out.push_back(bb.Finish());
  }
  if (bb.num_rows()) out.push_back(bb.Finish());
  return out;
}

struct WriteCase {
  std::string name;
  Compression codec;
  bool dictionary;
  size_t rows;
  int cardinality;
  size_t row_group_bytes;
  size_t dictionary_page_bytes;
};

TEST(ParquetDuckDb, DuckDbReadsWhatWeWrite) {
  TempDir dir;
  std::vector<WriteCase> cases = {
      {"zstd-dict", Compression::kZstd, true, 5000, 50, 128 << 20, 1 << 20},
      {"zstd-plain", Compression::kZstd, false, 5000, 0, 128 << 20, 1 << 20},
      {"snappy-dict", Compression::kSnappy, true, 5000, 0, 128 << 20, 1 << 20},
      {"snappy-plain", Compression::kSnappy, false, 3000, 20, 128 << 20, 1 << 20},
      {"uncompressed", Compression::kUncompressed, true, 3000, 0, 128 << 20, 1 << 20},
      {"zero-rows", Compression::kZstd, true, 0, 0, 128 << 20, 1 << 20},
      {"many-row-groups", Compression::kZstd, true, 20000, 300, 32 << 10, 1 << 20},
      {"dict-fallback", Compression::kSnappy, true, 20000, 0, 128 << 20, 8 << 10},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = dir / (c.name + ".parquet");
    WriterOptions o;
    o.compression = c.codec;
    o.dictionary = c.dictionary;
    o.row_group_bytes = c.row_group_bytes;
    o.dictionary_page_bytes = c.dictionary_page_bytes;
    auto batches = AllTypesBatches(c.rows, c.cardinality, 17);
    auto w = Writer::Open(path, AllTypesSchema(), o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const auto& b : batches) ASSERT_TRUE((*w)->Write(b).ok());
    ASSERT_TRUE((*w)->Close().ok());

    json duck = DuckRows(path, *AllTypesSchema());
    ExpectSameJsonRows(OurRows(batches), duck, c.name);

    // Types as DuckDB sees them, and the row groups it finds.
    json types = Oracle("SELECT column_name, column_type, \"null\" FROM (DESCRIBE SELECT * FROM read_parquet(" +
                        Quote(path) + "))");
    std::vector<std::string> want = {"BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL(9,2)", "DECIMAL(18,4)",
                                     "VARCHAR", "BLOB", "DATE", "TIMESTAMP WITH TIME ZONE"};
    ASSERT_EQ(types.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(types[i]["column_type"], want[i]) << i;
    if (c.name == "many-row-groups") {
      json groups = Oracle("SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(" + Quote(path) + ")");
      EXPECT_GT(std::stoll(groups[0]["n"].get<std::string>()), 5);
    }
    if (c.rows > 0) {
      // DuckDB's view of our statistics agrees with the data.
      json stats = Oracle("SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata(" + Quote(path) +
                          ") WHERE path_in_schema = 'i64' AND row_group_id = 0");
      ASSERT_EQ(stats.size(), 1u);
      EXPECT_FALSE(stats[0]["lo"].is_null());
    }
  }
}

// Rows DuckDB generates for the files it writes: many types, nulls, unicode, pre-1970 times.
const char* kDuckSelect = R"(
SELECT
  CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7919 - 20000000)::INTEGER END AS i32,
  (i * 1000003 - 5000000000)::BIGINT AS i64,
  CASE WHEN i % 13 = 0 THEN NULL ELSE i / 7.0 - 300 END AS f64,
  (i / 3.0)::FLOAT AS f32,
  (i % 100 - 50)::TINYINT AS i8,
  (i * 3 - 30000)::SMALLINT AS i16,
  (i * 100000)::UINTEGER AS u32,
  (i * 1000)::UBIGINT AS u64,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (((i * 37) % 2000 - 1000) / 10.0)::DECIMAL(4,1) END AS d4,
  ((i * 7) - 12345.67)::DECIMAL(9,2) AS d9,
  ((i * 987654321) - 1234567890.1234)::DECIMAL(18,4) AS d18,
  CASE WHEN i % 17 = 0 THEN NULL ELSE ['', 'alpha', 'ünïcødé ✓', '日本語', 'emoji 😀'][i % 5 + 1] || (i % 3)::VARCHAR END AS s_dict,
  CASE WHEN i % 19 = 0 THEN NULL WHEN i % 23 = 0 THEN '' ELSE 'row-' || i::VARCHAR || repeat('x', i % 13) END AS s_plain,
  ('\x00\xFF' || i::VARCHAR)::BLOB AS bin,
  CASE WHEN i % 29 = 0 THEN NULL ELSE DATE '1960-01-01' + (i * 3)::INTEGER END AS dt,
  TIMESTAMP '1969-12-31 23:00:00' + to_microseconds(i * 123456789) AS ts,
  TIMESTAMPTZ '1950-06-01 00:00:00+00' + to_microseconds(i * 987654321) AS tstz,
  (TIMESTAMP '2020-01-01 00:00:00' + to_microseconds(i * 1000))::TIMESTAMP_MS AS ts_ms,
  (TIMESTAMP '2020-01-01 00:00:00' + to_microseconds(i * 7))::TIMESTAMP_NS AS ts_ns
FROM range(0, 6000) t(i)
)";

TEST(ParquetDuckDb, WeReadWhatDuckDbWrites) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> cases = {
      {"uncompressed", "COMPRESSION uncompressed"},
      {"snappy", "COMPRESSION snappy"},
      {"zstd", "COMPRESSION zstd"},
      {"gzip", "COMPRESSION gzip"},
      {"v2-zstd", "COMPRESSION zstd, PARQUET_VERSION V2"},
      {"v2-snappy-small-groups", "COMPRESSION snappy, PARQUET_VERSION V2, ROW_GROUP_SIZE 1000"},
      {"v1-small-groups", "COMPRESSION zstd, ROW_GROUP_SIZE 1000"},
  };
  for (const auto& [name, options] : cases) {
    SCOPED_TRACE(name);
    std::string path = dir / (name + ".parquet");
    Oracle("COPY (" + std::string(kDuckSelect) + ") TO " + Quote(path) + " (FORMAT parquet, " + options +
           "); SELECT 1 AS ok");
    auto reader = Reader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    const Schema& schema = *(*reader)->info().schema;
    ASSERT_EQ(schema.size(), 20u) << schema.ToString();
    EXPECT_EQ(schema.field(4).type, DataType::Float64());      // FLOAT
    EXPECT_EQ(schema.field(5).type, DataType::Int32());        // TINYINT
    EXPECT_EQ(schema.field(7).type, DataType::Int64());        // UINTEGER
    EXPECT_EQ(schema.field(9).type, DataType::Decimal(4, 1));  // INT32 decimal
    EXPECT_EQ(schema.field(17).type, DataType::Timestamp());   // TIMESTAMPTZ
    EXPECT_EQ(schema.field(19).type, DataType::Timestamp());   // TIMESTAMP_NS
    std::vector<Batch> batches;
    ReadOptions ro;
    ro.batch_rows = 1500;
    Status st = (*reader)->Read(ro, [&](Batch b) {
      batches.push_back(std::move(b));
      return Status::OK();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    json ours = OurRows(batches);
    ASSERT_EQ(ours.size(), 6000u);
    ExpectSameJsonRows(DuckRows(path, schema), ours, name);
    if (name == "v2-zstd") {
      json encs = Oracle("SELECT string_agg(DISTINCT encodings, ',') AS e FROM parquet_metadata(" + Quote(path) + ")");
      std::string e = encs[0]["e"];
      EXPECT_NE(e.find("DELTA"), std::string::npos) << e;
    }
  }
}

TEST(ParquetDuckDb, UnsupportedTypesAreNamed) {
  TempDir dir;
  std::string path = dir / "wide.parquet";
  Oracle("COPY (SELECT 1 AS ok, 12345678901234567890.5::DECIMAL(38,2) AS big) TO " + Quote(path) +
         " (FORMAT parquet); SELECT 1 AS ok");
  auto reader = Reader::Open(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("column 'big'"), std::string::npos) << reader.status().ToString();
  EXPECT_NE(reader.status().message().find("DECIMAL(38,2)"), std::string::npos) << reader.status().ToString();
}

// ----------------------------------------------------------------------------- nested (checkpoints)

json NestedJson(const NestedField& f, const NestedValue& v) {
  if (v.is_null()) return nullptr;
  switch (f.kind) {
    case NestedField::Kind::kPrimitive: return Canonical(v.scalar);
    case NestedField::Kind::kStruct: {
      json o = json::object();
      for (size_t i = 0; i < f.children.size(); ++i) o[f.children[i].name] = NestedJson(f.children[i], v.field(i));
      return o;
    }
    case NestedField::Kind::kList: {
      json a = json::array();
      for (const auto& item : v.children) a.push_back(NestedJson(f.children[0], item));
      return a;
    }
    case NestedField::Kind::kMap: {
      json a = json::array();
      for (const auto& e : v.entries) {
        a.push_back(json{{"key", NestedJson(f.children[0], e.key)}, {"value", NestedJson(f.children[1], e.value)}});
      }
      return a;
    }
  }
  return nullptr;
}

std::vector<NestedField> CheckpointSchema() {
  using F = NestedField;
  auto str = [](const char* n) { return F::Primitive(n, DataType::String()); };
  auto i64 = [](const char* n) { return F::Primitive(n, DataType::Int64()); };
  return {
      F::Struct("txn", {str("appId"), i64("version"), i64("lastUpdated")}),
      F::Struct("add", {str("path"), F::Map("partitionValues", str("key"), str("value")), i64("size"),
                        i64("modificationTime"), F::Primitive("dataChange", DataType::Bool()), str("stats")}),
      F::Struct("remove", {str("path"), i64("deletionTimestamp"), F::Primitive("dataChange", DataType::Bool())}),
      F::Struct("metaData",
                {str("id"), str("name"), str("description"),
                 F::Struct("format", {str("provider"), F::Map("options", str("key"), str("value"))}),
                 str("schemaString"), F::List("partitionColumns", str("element")),
                 F::Map("configuration", str("key"), str("value")), i64("createdTime")}),
      F::Struct("protocol", {F::Primitive("minReaderVersion", DataType::Int32()),
                             F::Primitive("minWriterVersion", DataType::Int32())}),
  };
}

TEST(ParquetDuckDb, DuckDbReadsOurCheckpoints) {
  TempDir dir;
  std::string path = dir / "00000000000000000010.checkpoint.parquet";
  using V = NestedValue;
  auto S = [](const std::string& s) { return V::Scalar(Value::String(s)); };
  auto I = [](int64_t v) { return V::Scalar(Value::Int64(v)); };
  std::vector<std::vector<V>> rows;
  rows.push_back({V(), V(), V(), V(), V::Struct({V::Scalar(Value::Int32(1)), V::Scalar(Value::Int32(2))})});
  rows.push_back({V(), V(), V(),
                  V::Struct({S("id-1"), S("orders"), V(), V::Struct({S("parquet"), V::StringMap({})}), S("{}"),
                             V::StringList({"date", "country"}), V::StringMap({{"delta.appendOnly", "true"}}),
                             I(1700000000000)}),
                  V()});
  rows.push_back({V::Struct({S("app"), I(7), V()}), V(), V(), V(), V()});
  for (int i = 0; i < 30; ++i) {
    V pv = i % 5 == 0 ? V::StringMap({}) : V::StringMap({{"date", "2026-11-21"}, {"country", i % 2 ? "DE" : "ünï"}});
    if (i % 7 == 0) pv = V();
    rows.push_back({V(),
                    V::Struct({S("part-" + std::to_string(i) + ".parquet"), pv, I(100 + i), I(1700000000000 + i),
                               V::Scalar(Value::Bool(i % 2 == 0)), i % 3 ? S("{\"numRecords\":1}") : V()}),
                    V(), V(), V()});
  }
  rows.push_back({V(), V(), V::Struct({S("old.parquet"), I(5), V::Scalar(Value::Bool(true))}), V(), V()});
  auto schema = CheckpointSchema();
  for (auto codec : {Compression::kZstd, Compression::kSnappy}) {
    WriterOptions o;
    o.compression = codec;
    auto w = NestedWriter::Open(path, schema, o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const auto& r : rows) ASSERT_TRUE((*w)->WriteRow(r).ok());
    ASSERT_TRUE((*w)->Close().ok());
    json duck = Oracle("SELECT txn, add, remove, metaData, protocol FROM read_parquet(" + Quote(path) +
                       ", file_row_number = true) ORDER BY file_row_number");
    ASSERT_EQ(duck.size(), rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t c = 0; c < schema.size(); ++c) {
        ASSERT_EQ(duck[r][schema[c].name], NestedJson(schema[c], rows[r][c])) << "row " << r << " " << schema[c].name;
      }
    }
  }
}

TEST(ParquetDuckDb, WeReadDuckDbNestedFiles) {
  TempDir dir;
  std::string path = dir / "nested.parquet";
  Oracle("COPY (SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE {'path': 'p' || i::VARCHAR, "
         "'partitionValues': CASE WHEN i % 3 = 0 THEN NULL ELSE MAP {'date': '2026-11-' || (i % 28 + 1)::VARCHAR, "
         "'k': CASE WHEN i % 2 = 0 THEN NULL ELSE 'v' END} END, 'size': i * 10, 'tags': "
         "CASE WHEN i % 5 = 0 THEN [] ELSE ['a', NULL, 'c' || i::VARCHAR] END} END AS add, "
         "i::INTEGER AS n FROM range(0, 200) t(i)) TO " + Quote(path) + " (FORMAT parquet); SELECT 1 AS ok");
  auto f = ReadNestedFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->schema.size(), 2u);
  EXPECT_EQ(f->schema[0].kind, NestedField::Kind::kStruct);
  json duck = Oracle("SELECT add, n FROM read_parquet(" + Quote(path) + ", file_row_number = true) ORDER BY file_row_number");
  ASSERT_EQ(duck.size(), f->rows.size());
  for (size_t r = 0; r < f->rows.size(); ++r) {
    for (size_t c = 0; c < 2; ++c) {
      ASSERT_EQ(NestedJson(f->schema[c], f->rows[r][c]), duck[r][f->schema[c].name]) << "row " << r;
    }
  }
}

}  // namespace
}  // namespace sluice::parquet
