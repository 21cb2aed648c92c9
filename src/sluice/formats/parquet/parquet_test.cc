#include "sluice/formats/parquet/parquet.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/thrift_compact.h"
#include "sluice/io/faults.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sluice-parquet-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

SchemaPtr MakeSchema(std::vector<Field> fields) { return std::make_shared<const Schema>(std::move(fields)); }

SchemaPtr AllTypesSchema(bool required = false) {
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

const char* kStrings[] = {"", "a", "hello", "ünïcødé ✓", "日本語テキスト", "emoji 😀", "x,y\"z", "\n\t"};

// Rows of every type; row r is null in column c when (r + c) % null_every == 0 (never if 0).
std::vector<std::vector<Value>> AllTypesRows(size_t n, int null_every, uint32_t seed = 1, int cardinality = 0) {
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

std::vector<Batch> MakeBatches(SchemaPtr schema, const std::vector<std::vector<Value>>& rows, size_t batch_rows) {
  std::vector<Batch> out;
  BatchBuilder bb(schema);
  for (const auto& row : rows) {
    bb.AppendRow(row);
    if (bb.num_rows() == batch_rows) out.push_back(bb.Finish());
  }
  if (bb.num_rows() > 0) out.push_back(bb.Finish());
  return out;
}

Status WriteRows(const std::string& path, SchemaPtr schema, const std::vector<std::vector<Value>>& rows,
                 WriterOptions options = {}, size_t batch_rows = 1000) {
  SLUICE_ASSIGN_OR_RETURN(auto w, Writer::Open(path, schema, options));
  for (const auto& b : MakeBatches(schema, rows, batch_rows)) SLUICE_RETURN_IF_ERROR(w->Write(b));
  return w->Close();
}

std::vector<std::vector<Value>> ToRows(const std::vector<Batch>& batches) {
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

void ExpectSameRows(const std::vector<std::vector<Value>>& want, const std::vector<std::vector<Value>>& got) {
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

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// ============================================================================= round trips

struct Variant {
  Compression codec;
  bool dictionary;
};

class RoundTrip : public ::testing::TestWithParam<Variant> {};

TEST_P(RoundTrip, EveryTypeWithNulls) {
  TempDir dir;
  std::string path = dir / "t.parquet";
  auto schema = AllTypesSchema();
  WriterOptions o;
  o.compression = GetParam().codec;
  o.dictionary = GetParam().dictionary;
  for (int cardinality : {0, 5}) {
    auto rows = AllTypesRows(5000, 7, 42, cardinality);
    ASSERT_TRUE(WriteRows(path, schema, rows, o).ok());
    auto batches = ReadFile(path);
    ASSERT_TRUE(batches.ok()) << batches.status().ToString();
    ExpectSameRows(rows, ToRows(*batches));
    auto reader = Reader::Open(path);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(*(*reader)->info().schema, *schema);
    EXPECT_EQ((*reader)->info().num_rows, 5000);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, RoundTrip,
                         ::testing::Values(Variant{Compression::kUncompressed, true},
                                           Variant{Compression::kUncompressed, false},
                                           Variant{Compression::kSnappy, true}, Variant{Compression::kSnappy, false},
                                           Variant{Compression::kZstd, true}, Variant{Compression::kZstd, false}));

TEST(Parquet, RequiredColumnsAndEdgeValues) {
  TempDir dir;
  std::string path = dir / "req.parquet";
  auto schema = AllTypesSchema(true);
  auto rows = AllTypesRows(300, 0);
  // Extremes.
  rows[0][1] = Value::Int32(INT32_MIN);
  rows[1][1] = Value::Int32(INT32_MAX);
  rows[0][2] = Value::Int64(INT64_MIN);
  rows[1][2] = Value::Int64(INT64_MAX);
  rows[0][3] = Value::Float64(std::nan(""));
  rows[1][3] = Value::Float64(-0.0);
  rows[2][3] = Value::Float64(INFINITY);
  rows[0][4] = Value::Decimal(-999999999, 9, 2);
  rows[1][4] = Value::Decimal(999999999, 9, 2);
  rows[0][5] = Value::Decimal(-999999999999999999LL, 18, 4);
  rows[0][6] = Value::String("");
  rows[0][9] = Value::Timestamp(-1);  // 1969-12-31T23:59:59.999999
  rows[0][8] = Value::Date(-719162);  // 0001-01-01
  ASSERT_TRUE(WriteRows(path, schema, rows).ok());
  auto reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  for (const auto& f : (*reader)->info().schema->fields()) EXPECT_TRUE(f.required) << f.name;
  auto batches = ReadFile(path);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ExpectSameRows(rows, ToRows(*batches));
}

TEST(Parquet, NullInRequiredColumnIsRefused) {
  TempDir dir;
  auto schema = MakeSchema({{"a", DataType::Int64(), true}});
  auto st = WriteRows(dir / "x.parquet", schema, {{Value::Int64(1)}, {Value::Null(DataType::Int64())}});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'a' is required"), std::string::npos) << st.ToString();
}

TEST(Parquet, ZeroRows) {
  TempDir dir;
  std::string path = dir / "empty.parquet";
  ASSERT_TRUE(WriteRows(path, AllTypesSchema(), {}).ok());
  auto reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->info().num_rows, 0);
  EXPECT_EQ((*reader)->info().row_groups.size(), 0u);
  EXPECT_EQ(*(*reader)->info().schema, *AllTypesSchema());
  auto batches = ReadFile(path);
  ASSERT_TRUE(batches.ok());
  EXPECT_TRUE(batches->empty());
}

TEST(Parquet, AllNullColumn) {
  TempDir dir;
  std::string path = dir / "nulls.parquet";
  auto schema = MakeSchema({{"s", DataType::String()}, {"i", DataType::Int64()}});
  std::vector<std::vector<Value>> rows(100, {Value::Null(DataType::String()), Value::Null(DataType::Int64())});
  ASSERT_TRUE(WriteRows(path, schema, rows).ok());
  auto batches = ReadFile(path);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ExpectSameRows(rows, ToRows(*batches));
  auto reader = Reader::Open(path);
  EXPECT_EQ((*reader)->info().row_groups[0].columns[0].null_count, 100);
  EXPECT_FALSE((*reader)->info().row_groups[0].columns[0].min.has_value());
}

TEST(Parquet, ManyRowGroupsAndPages) {
  TempDir dir;
  std::string path = dir / "groups.parquet";
  auto schema = AllTypesSchema();
  auto rows = AllTypesRows(20000, 5, 7, 100);
  WriterOptions o;
  o.row_group_bytes = 16 << 10;
  o.data_page_bytes = 2 << 10;
  ASSERT_TRUE(WriteRows(path, schema, rows, o, 777).ok());
  auto reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_GT((*reader)->info().row_groups.size(), 5u);
  int64_t total = 0;
  for (const auto& rg : (*reader)->info().row_groups) total += rg.num_rows;
  EXPECT_EQ(total, 20000);
  ReadOptions ro;
  ro.batch_rows = 333;
  auto batches = ReadFile(path, ro);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  for (const auto& b : *batches) EXPECT_LE(b.num_rows(), 333u);
  ExpectSameRows(rows, ToRows(*batches));
}

TEST(Parquet, SelectionVectorWritesOnlyActiveRows) {
  TempDir dir;
  std::string path = dir / "sel.parquet";
  auto schema = MakeSchema({{"i", DataType::Int64()}});
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({Value::Int64(i)});
  auto batches = MakeBatches(schema, rows, 100);
  batches[0].set_selection({1, 3, 8});
  auto w = Writer::Open(path, schema);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(batches[0]).ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ((*w)->rows_written(), 3);
  EXPECT_EQ((*w)->bytes_written(), static_cast<int64_t>(fs::file_size(path)));
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  ExpectSameRows({{Value::Int64(1)}, {Value::Int64(3)}, {Value::Int64(8)}}, ToRows(*got));
}

// Walks the pages of every column chunk of `path` and returns the data page encodings of column `c`.
std::vector<format::Encoding> DataPageEncodings(const std::string& path, size_t c, bool* has_dictionary) {
  std::string bytes = Slurp(path);
  auto src = internal::MakeBufferSource(bytes);
  auto footer = internal::ReadFooter(path, *src);
  EXPECT_TRUE(footer.ok());
  std::vector<format::Encoding> out;
  *has_dictionary = false;
  for (const auto& rg : footer->meta.row_groups) {
    const auto& md = *rg.columns[c].meta_data;
    int64_t pos = md.dictionary_page_offset ? *md.dictionary_page_offset : md.data_page_offset;
    int64_t end = pos + md.total_compressed_size;
    while (pos < end) {
      size_t hs;
      auto h = format::ParsePageHeader(reinterpret_cast<const uint8_t*>(bytes.data()) + pos, end - pos, pos, &hs);
      EXPECT_TRUE(h.ok()) << h.status().ToString();
      if (!h.ok()) return out;
      if (h->type == format::PageType::DICTIONARY_PAGE) *has_dictionary = true;
      if (h->data_page_header) out.push_back(h->data_page_header->encoding);
      pos += hs + h->compressed_page_size;
    }
  }
  return out;
}

TEST(Parquet, DictionaryFallsBackToPlainMidChunk) {
  TempDir dir;
  std::string path = dir / "fallback.parquet";
  auto schema = MakeSchema({{"s", DataType::String()}, {"i", DataType::Int64()}});
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 20000; ++i) {
    rows.push_back({i % 9 == 0 ? Value::Null(DataType::String()) : Value::String("value-" + std::to_string(i)),
                    Value::Int64(i * 7919LL)});
  }
  WriterOptions o;
  o.dictionary_page_bytes = 16 << 10;
  o.data_page_bytes = 8 << 10;
  ASSERT_TRUE(WriteRows(path, schema, rows, o).ok());
  for (size_t c = 0; c < 2; ++c) {
    bool dict = false;
    auto encs = DataPageEncodings(path, c, &dict);
    EXPECT_TRUE(dict) << "column " << c;
    ASSERT_FALSE(encs.empty());
    EXPECT_EQ(encs.front(), format::Encoding::RLE_DICTIONARY) << "column " << c;
    EXPECT_EQ(encs.back(), format::Encoding::PLAIN) << "column " << c;
  }
  auto batches = ReadFile(path);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ExpectSameRows(rows, ToRows(*batches));

  // Dictionary off: PLAIN pages only.
  o.dictionary = false;
  ASSERT_TRUE(WriteRows(path, schema, rows, o).ok());
  bool dict = true;
  for (auto e : DataPageEncodings(path, 0, &dict)) EXPECT_EQ(e, format::Encoding::PLAIN);
  EXPECT_FALSE(dict);
}

TEST(Parquet, ProjectionByName) {
  TempDir dir;
  std::string path = dir / "proj.parquet";
  auto schema = AllTypesSchema();
  auto rows = AllTypesRows(1000, 3);
  ASSERT_TRUE(WriteRows(path, schema, rows).ok());
  ReadOptions ro;
  ro.columns = {"ts", "s", "i32"};
  auto batches = ReadFile(path, ro);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_FALSE(batches->empty());
  EXPECT_EQ((*batches)[0].schema()->names(), (std::vector<std::string>{"ts", "s", "i32"}));
  std::vector<std::vector<Value>> want;
  for (const auto& r : rows) want.push_back({r[9], r[6], r[1]});
  ExpectSameRows(want, ToRows(*batches));

  ro.columns = {"nope"};
  auto bad = ReadFile(path, ro);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'nope'"), std::string::npos);
}

TEST(Parquet, StatisticsAndRowGroupSkipping) {
  TempDir dir;
  std::string path = dir / "stats.parquet";
  auto schema = MakeSchema({{"k", DataType::Int64()}, {"s", DataType::String()}, {"d", DataType::Decimal(9, 2)},
                            {"t", DataType::Timestamp()}, {"f", DataType::Float64()}});
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 10000; ++i) {
    rows.push_back({Value::Int64(i), Value::String(fmt::format("s{:05d}", i)), Value::Decimal(-i, 9, 2),
                    Value::Timestamp(-1000000LL + i), i % 10 == 0 ? Value::Null(DataType::Float64()) : Value::Float64(i)});
  }
  WriterOptions o;
  o.row_group_bytes = 20 << 10;
  ASSERT_TRUE(WriteRows(path, schema, rows, o, 500).ok());
  auto reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok());
  const auto& groups = (*reader)->info().row_groups;
  ASSERT_GT(groups.size(), 3u);
  int64_t first = 0;
  for (const auto& g : groups) {
    ASSERT_TRUE(g.columns[0].min && g.columns[0].max);
    EXPECT_EQ(g.columns[0].min->int_value(), first);
    EXPECT_EQ(g.columns[0].max->int_value(), first + g.num_rows - 1);
    EXPECT_EQ(g.columns[1].min->string_value(), fmt::format("s{:05d}", first));
    EXPECT_EQ(g.columns[1].max->string_value(), fmt::format("s{:05d}", first + g.num_rows - 1));
    EXPECT_EQ(*g.columns[2].min, Value::Decimal(-(first + g.num_rows - 1), 9, 2));
    EXPECT_EQ(*g.columns[3].min, Value::Timestamp(-1000000LL + first));
    EXPECT_EQ(g.columns[0].null_count, 0);
    EXPECT_GT(*g.columns[4].null_count, 0);
    first += g.num_rows;
  }
  // Keep only row groups that may hold k >= 9000.
  ReadOptions ro;
  int called = 0;
  ro.row_group_filter = [&](const RowGroupInfo& g) {
    ++called;
    return g.columns[0].max->int_value() >= 9000;
  };
  auto batches = ReadFile(path, ro);
  ASSERT_TRUE(batches.ok());
  auto got = ToRows(*batches);
  EXPECT_EQ(called, static_cast<int>(groups.size()));
  EXPECT_LT(got.size(), 5000u);
  EXPECT_GE(got.size(), 1000u);
  EXPECT_EQ(got.back()[0], Value::Int64(9999));
  for (const auto& r : got) EXPECT_GE(r[0].int_value() + static_cast<int64_t>(20000), 9000);
}

// ============================================================================= corrupt input

class Corrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "good.parquet";
    WriterOptions o;
    o.compression = Compression::kSnappy;
    ASSERT_TRUE(WriteRows(path_, AllTypesSchema(), AllTypesRows(2000, 4), o).ok());
    good_ = Slurp(path_);
  }
  Status ReadAll(const std::string& bytes) {
    std::string p = dir_ / "bad.parquet";
    Spit(p, bytes);
    auto r = ReadFile(p);
    return r.ok() ? Status::OK() : r.status();
  }
  TempDir dir_;
  std::string path_;
  std::string good_;
};

TEST_F(Corrupt, BadMagic) {
  std::string b = good_;
  b[0] = 'X';
  Status st = ReadAll(b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.parquet: bad magic at offset 0"), std::string::npos) << st.ToString();
}

TEST_F(Corrupt, Truncated) {
  for (size_t keep : {size_t{0}, size_t{3}, size_t{11}, good_.size() / 2, good_.size() - 1}) {
    Status st = ReadAll(good_.substr(0, keep));
    ASSERT_FALSE(st.ok()) << keep;
    EXPECT_NE(st.message().find("bad.parquet"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("offset"), std::string::npos) << st.ToString();
  }
}

TEST_F(Corrupt, FooterLengthBeyondFile) {
  std::string b = good_;
  uint32_t len = static_cast<uint32_t>(b.size());
  std::memcpy(b.data() + b.size() - 8, &len, 4);
  Status st = ReadAll(b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(fmt::format("footer length {} at offset {} exceeds the file size", len, b.size() - 8)),
            std::string::npos)
      << st.ToString();
}

TEST_F(Corrupt, GarbagePageHeader) {
  auto src = internal::MakeBufferSource(good_);
  auto footer = internal::ReadFooter("x", *src);
  ASSERT_TRUE(footer.ok());
  const auto& md = *footer->meta.row_groups[0].columns[1].meta_data;
  int64_t at = md.dictionary_page_offset ? *md.dictionary_page_offset : md.data_page_offset;
  std::string b = good_;
  for (int i = 0; i < 6; ++i) b[at + i] = static_cast<char>(0xff);
  Status st = ReadAll(b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(fmt::format("bad.parquet: column 'i32': corrupt page header at offset {}", at)),
            std::string::npos)
      << st.ToString();
}

TEST_F(Corrupt, WrongDecompressedSize) {
  auto src = internal::MakeBufferSource(good_);
  auto footer = internal::ReadFooter("x", *src);
  ASSERT_TRUE(footer.ok());
  const auto& md = *footer->meta.row_groups[0].columns[6].meta_data;
  int64_t at = md.dictionary_page_offset ? *md.dictionary_page_offset : md.data_page_offset;
  size_t hs;
  auto h = format::ParsePageHeader(reinterpret_cast<const uint8_t*>(good_.data()) + at, good_.size() - at, at, &hs);
  ASSERT_TRUE(h.ok());
  // Change the declared size without changing the header's length.
  std::string header;
  for (int delta : {1, -1, 2, -2}) {
    format::PageHeader h2 = *h;
    h2.uncompressed_page_size += delta;
    header.clear();
    format::SerializePageHeader(h2, &header);
    if (header.size() == hs) break;
  }
  ASSERT_EQ(header.size(), hs);
  std::string b = good_;
  b.replace(at, hs, header);
  Status st = ReadAll(b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.parquet: column 's': corrupt page at offset"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("wrong decompressed size"), std::string::npos) << st.ToString();
}

TEST_F(Corrupt, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(123);
  int errors = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string b = good_;
    int flips = 1 + rng() % 8;
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng());
    auto r = Reader::OpenBuffer("fuzz", b);
    if (!r.ok()) {
      ++errors;
      EXPECT_NE(r.status().message().find("fuzz"), std::string::npos) << r.status().ToString();
      continue;
    }
    Status st = (*r)->Read({}, [](Batch) { return Status::OK(); });
    if (!st.ok()) {
      ++errors;
      EXPECT_NE(st.message().find("fuzz"), std::string::npos) << st.ToString();
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(Parquet, NotFound) {
  auto r = Reader::Open("/nonexistent/file.parquet");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

// ============================================================================= pieces

TEST(ThriftCompact, RoundTripAndErrors) {
  std::string out;
  thrift::CompactEncoder e(&out);
  e.BeginStruct();
  e.FieldI32(1, -5);
  e.FieldI64(2, INT64_MIN);
  e.FieldBinary(3, "abc");
  e.FieldBool(20, true);  // long-form field header (delta > 15)
  e.FieldListBegin(21, thrift::CType::kI32, 20);
  for (int i = 0; i < 20; ++i) e.ElemI32(i * 1000);
  e.FieldStructBegin(22);
  e.FieldDouble(1, 2.5);
  e.EndStruct();
  e.EndStruct();

  thrift::CompactDecoder d(reinterpret_cast<const uint8_t*>(out.data()), out.size(), 100);
  ASSERT_TRUE(d.BeginStruct().ok());
  thrift::CType t;
  int16_t id;
  int32_t i32;
  int64_t i64;
  std::string s;
  bool b;
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  EXPECT_EQ(id, 1);
  ASSERT_TRUE(d.ReadI32(&i32).ok());
  EXPECT_EQ(i32, -5);
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  ASSERT_TRUE(d.ReadI64(&i64).ok());
  EXPECT_EQ(i64, INT64_MIN);
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  ASSERT_TRUE(d.ReadBinary(&s).ok());
  EXPECT_EQ(s, "abc");
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  EXPECT_EQ(id, 20);
  ASSERT_TRUE(d.ReadBool(t, &b).ok());
  EXPECT_TRUE(b);
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  EXPECT_EQ(id, 21);
  ASSERT_TRUE(d.Skip(t).ok());
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  EXPECT_EQ(id, 22);
  ASSERT_TRUE(d.Skip(t).ok());
  ASSERT_TRUE(d.ReadFieldHeader(&t, &id).ok());
  EXPECT_EQ(t, thrift::CType::kStop);
  EXPECT_EQ(d.position(), out.size());

  // Every truncation fails cleanly with an offset.
  for (size_t n = 0; n < out.size(); ++n) {
    thrift::CompactDecoder t2(reinterpret_cast<const uint8_t*>(out.data()), n, 100);
    Status st = t2.Skip(thrift::CType::kStruct);
    ASSERT_FALSE(st.ok()) << n;
    EXPECT_NE(st.message().find("at offset 1"), std::string::npos) << st.ToString();
  }
}

TEST(ParquetMetadata, FileMetaDataRoundTrip) {
  format::FileMetaData m;
  m.version = 2;
  format::SchemaElement root;
  root.name = "schema";
  root.num_children = 2;
  m.schema.push_back(root);
  m.schema.push_back(internal::LeafElement("ts", DataType::Timestamp(), format::Repetition::OPTIONAL));
  m.schema.push_back(internal::LeafElement("d", DataType::Decimal(12, 3), format::Repetition::REQUIRED));
  m.num_rows = 77;
  format::RowGroup rg;
  rg.num_rows = 77;
  rg.total_byte_size = 1234;
  format::ColumnChunk cc;
  cc.file_offset = 4;
  format::ColumnMetaData md;
  md.type = format::Type::INT64;
  md.encodings = {format::Encoding::PLAIN, format::Encoding::RLE_DICTIONARY};
  md.path_in_schema = {"ts"};
  md.codec = format::Codec::ZSTD;
  md.num_values = 77;
  md.total_compressed_size = 99;
  md.total_uncompressed_size = 199;
  md.data_page_offset = 40;
  md.dictionary_page_offset = 4;
  md.statistics = format::Statistics{};
  md.statistics->null_count = 3;
  md.statistics->min_value = "12345678";
  cc.meta_data = md;
  rg.columns = {cc, cc};
  m.row_groups = {rg};
  m.key_value_metadata = {{"k", "v"}, {"k2", std::nullopt}};
  m.created_by = "sluice test";
  m.column_orders = 2;
  std::string bytes;
  format::SerializeFileMetaData(m, &bytes);
  auto p = format::ParseFileMetaData(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->num_rows, 77);
  ASSERT_EQ(p->schema.size(), 3u);
  EXPECT_EQ(p->schema[1].logical_type.kind, format::LogicalType::Kind::kTimestamp);
  EXPECT_TRUE(p->schema[1].logical_type.adjusted_to_utc);
  EXPECT_EQ(p->schema[1].logical_type.unit, format::TimeUnit::kMicros);
  EXPECT_EQ(p->schema[2].logical_type.kind, format::LogicalType::Kind::kDecimal);
  EXPECT_EQ(p->schema[2].logical_type.precision, 12);
  EXPECT_EQ(p->schema[2].logical_type.scale, 3);
  EXPECT_EQ(p->schema[2].repetition, format::Repetition::REQUIRED);
  const auto& pmd = *p->row_groups[0].columns[1].meta_data;
  EXPECT_EQ(pmd.codec, format::Codec::ZSTD);
  EXPECT_EQ(pmd.encodings.size(), 2u);
  EXPECT_EQ(pmd.dictionary_page_offset, 4);
  EXPECT_EQ(pmd.statistics->min_value, "12345678");
  EXPECT_EQ(pmd.statistics->null_count, 3);
  EXPECT_EQ(p->key_value_metadata.size(), 2u);
  EXPECT_FALSE(p->key_value_metadata[1].value.has_value());
  EXPECT_EQ(p->created_by, "sluice test");
  EXPECT_EQ(p->column_orders, 2);
  // Missing required fields are errors.
  auto bad = format::ParseFileMetaData(reinterpret_cast<const uint8_t*>("\x15\x04\x00"), 3, 50);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset 5"), std::string::npos) << bad.status().ToString();
}

TEST(Encoding, RleHybridRoundTrip) {
  std::mt19937 rng(5);
  for (int width = 0; width <= 20; ++width) {
    std::vector<uint32_t> v;
    uint32_t mask = width == 0 ? 0 : (width == 32 ? ~0u : (1u << width) - 1);
    while (v.size() < 3000) {
      uint32_t x = rng() & mask;
      size_t run = rng() % 3 == 0 ? rng() % 40 : 1;
      v.insert(v.end(), run + 1, x);
    }
    v.resize(2999);
    std::string enc;
    encoding::EncodeRleHybrid(v.data(), v.size(), width, enc);
    std::vector<uint32_t> dec(v.size());
    encoding::RleDecoder d(reinterpret_cast<const uint8_t*>(enc.data()), enc.size(), width);
    ASSERT_TRUE(d.Get(dec.data(), dec.size()).ok()) << width;
    ASSERT_EQ(v, dec) << width;
    uint32_t extra;
    EXPECT_FALSE(d.Get(&extra, 1).ok() && enc.size() % 8 == 0 && false);
  }
}

TEST(Encoding, BitmapLevelsRoundTrip) {
  std::mt19937_64 rng(9);
  for (size_t n : {1, 7, 8, 63, 64, 65, 1000, 4099}) {
    for (int mode = 0; mode < 4; ++mode) {
      std::vector<uint64_t> bits;
      size_t count = 0;
      for (size_t i = 0; i < n; i += 64) {
        uint64_t w = mode == 0 ? ~0ull : mode == 1 ? 0 : mode == 2 ? rng() : (rng() % 4 ? ~0ull : rng());
        encoding::AppendBits(bits, &count, &w, 0, std::min<size_t>(64, n - i));
      }
      ASSERT_EQ(count, n);
      std::string enc;
      encoding::EncodeBitmapLevels(bits.data(), n, enc);
      std::vector<uint8_t> dec(n);
      encoding::RleDecoder d(reinterpret_cast<const uint8_t*>(enc.data()), enc.size(), 1);
      ASSERT_TRUE(d.Get(dec.data(), n).ok());
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(dec[i], (bits[i / 64] >> (i % 64)) & 1) << n << " " << mode << " " << i;
    }
  }
}

TEST(Encoding, AppendBitsAtOffsets) {
  uint64_t src[3] = {0x0123456789abcdefull, 0xfedcba9876543210ull, 0x5555aaaa5555aaaaull};
  std::vector<uint64_t> dst;
  size_t size = 0;
  encoding::AppendBits(dst, &size, src, 3, 70);
  encoding::AppendBits(dst, &size, src, 100, 50);
  ASSERT_EQ(size, 120u);
  auto bit = [](const uint64_t* w, size_t i) { return (w[i / 64] >> (i % 64)) & 1; };
  for (size_t i = 0; i < 70; ++i) ASSERT_EQ(bit(dst.data(), i), bit(src, 3 + i)) << i;
  for (size_t i = 0; i < 50; ++i) ASSERT_EQ(bit(dst.data(), 70 + i), bit(src, 100 + i)) << i;
  EXPECT_EQ(dst.back() >> (120 - 64), 0u);
}

TEST(Encoding, DeltaBinaryPackedKnownBytes) {
  // 1..5: all deltas 1, bit width 0.
  const uint8_t a[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
  std::vector<int64_t> out;
  size_t used = 0;
  ASSERT_TRUE(encoding::DecodeDeltaBinaryPacked<int64_t>(a, sizeof(a), 100, &out, &used).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(used, sizeof(a));
  // 7 5 3 1 2 3 4 5: min delta -2, relative deltas 0 0 0 3 3 3 3 at 2 bits.
  const uint8_t b[] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 2, 0, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0, 0, 0};
  std::vector<int32_t> out32;
  ASSERT_TRUE(encoding::DecodeDeltaBinaryPacked<int32_t>(b, sizeof(b), 100, &out32, &used).ok());
  EXPECT_EQ(out32, (std::vector<int32_t>{7, 5, 3, 1, 2, 3, 4, 5}));
  EXPECT_EQ(used, sizeof(b));
  // Truncated and oversized inputs fail.
  EXPECT_FALSE(encoding::DecodeDeltaBinaryPacked<int32_t>(b, sizeof(b) - 1, 100, &out32, &used).ok());
  EXPECT_FALSE(encoding::DecodeDeltaBinaryPacked<int32_t>(b, sizeof(b), 3, &out32, &used).ok());
}

TEST(Encoding, ByteStreamSplit) {
  double v[3] = {1.5, -2.25, 1e300};
  uint8_t split[24];
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(v);
  for (int b = 0; b < 8; ++b) {
    for (int i = 0; i < 3; ++i) split[b * 3 + i] = raw[i * 8 + b];
  }
  double out[3];
  ASSERT_TRUE(encoding::DecodeByteStreamSplit(split, 24, 8, 0, 3, reinterpret_cast<uint8_t*>(out)).ok());
  EXPECT_EQ(out[0], 1.5);
  EXPECT_EQ(out[1], -2.25);
  EXPECT_EQ(out[2], 1e300);
  // A window of the values: the last two.
  ASSERT_TRUE(encoding::DecodeByteStreamSplit(split, 24, 8, 1, 2, reinterpret_cast<uint8_t*>(out)).ok());
  EXPECT_EQ(out[0], -2.25);
  EXPECT_EQ(out[1], 1e300);
  EXPECT_FALSE(encoding::DecodeByteStreamSplit(split, 23, 8, 0, 3, reinterpret_cast<uint8_t*>(out)).ok());
  EXPECT_FALSE(encoding::DecodeByteStreamSplit(split, 24, 8, 2, 2, reinterpret_cast<uint8_t*>(out)).ok());
}

}  // namespace
}  // namespace sluice::parquet

namespace sluice::parquet {
namespace {

// ============================================================================= nested (checkpoints)

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

NestedValue S(const std::string& s) { return NestedValue::Scalar(Value::String(s)); }
NestedValue I(int64_t v) { return NestedValue::Scalar(Value::Int64(v)); }
NestedValue N() { return NestedValue::Null(); }

std::vector<std::vector<NestedValue>> CheckpointRows() {
  using V = NestedValue;
  std::vector<std::vector<V>> rows;
  rows.push_back({N(), N(), N(), N(),
                  V::Struct({V::Scalar(Value::Int32(1)), V::Scalar(Value::Int32(2))})});
  rows.push_back({N(), N(), N(),
                  V::Struct({S("id-1"), S("orders"), N(), V::Struct({S("parquet"), V::StringMap({})}),
                             S("{\"type\":\"struct\",\"fields\":[]}"), V::StringList({"date", "country"}),
                             V::StringMap({{"delta.appendOnly", "true"}, {"k", ""}}), I(1700000000000)}),
                  N()});
  rows.push_back({V::Struct({S("pipeline-orders"), I(42), I(1700000000123)}), N(), N(), N(), N()});
  for (int i = 0; i < 50; ++i) {
    V pv = i % 5 == 0 ? V::StringMap({}) : V::StringMap({{"date", "2026-11-" + std::to_string(10 + i % 20)}, {"country", i % 2 ? "DE" : "ünï"}});
    if (i % 7 == 0) pv = N();
    rows.push_back({N(),
                    V::Struct({S("date=2026-11-21/part-" + std::to_string(i) + ".parquet"), pv, I(1000 + i),
                               I(1700000000000 + i), V::Scalar(Value::Bool(i % 3 != 0)),
                               i % 4 ? S("{\"numRecords\":" + std::to_string(i) + "}") : N()}),
                    N(), N(), N()});
  }
  rows.push_back({N(), N(), V::Struct({S("old.parquet"), I(1700000009999), V::Scalar(Value::Bool(true))}), N(), N()});
  // A metaData with empty and null collections.
  rows.push_back({N(), N(), N(),
                  V::Struct({S("id-2"), N(), S(""), V::Struct({S("parquet"), N()}), S("{}"), V::StringList({}),
                             N(), N()}),
                  N()});
  return rows;
}

TEST(Nested, CheckpointRoundTrip) {
  TempDir dir;
  for (auto codec : {Compression::kZstd, Compression::kSnappy, Compression::kUncompressed}) {
    std::string path = dir / "checkpoint.parquet";
    WriterOptions o;
    o.compression = codec;
    auto w = NestedWriter::Open(path, CheckpointSchema(), o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    auto rows = CheckpointRows();
    for (const auto& r : rows) ASSERT_TRUE((*w)->WriteRow(r).ok());
    ASSERT_TRUE((*w)->Close().ok());
    auto f = ReadNestedFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->schema, CheckpointSchema());
    ASSERT_EQ(f->rows.size(), rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t c = 0; c < rows[r].size(); ++c) {
        ASSERT_EQ(f->rows[r][c], rows[r][c]) << "row " << r << " col " << c << ": " << f->rows[r][c].ToString()
                                             << " vs " << rows[r][c].ToString();
      }
    }
    // Projection of top-level fields.
    auto p = ReadNestedFile(path, {"remove", "add"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_EQ(p->schema.size(), 2u);
    EXPECT_EQ(p->schema[0].name, "remove");
    EXPECT_EQ(p->rows[53][0].field(0), S("old.parquet"));
    EXPECT_EQ(p->rows[3][1].field(0), S("date=2026-11-21/part-0.parquet"));
  }
}

TEST(Nested, ManyRowGroups) {
  TempDir dir;
  std::string path = dir / "cp.parquet";
  WriterOptions o;
  o.row_group_bytes = 512;
  auto w = NestedWriter::Open(path, CheckpointSchema(), o);
  ASSERT_TRUE(w.ok());
  auto rows = CheckpointRows();
  for (const auto& r : rows) ASSERT_TRUE((*w)->WriteRow(r).ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto f = ReadNestedFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->rows, rows);
  auto info = Reader::Open(path);
  ASSERT_FALSE(info.ok());  // the flat reader refuses nested files, naming the column
  EXPECT_NE(info.status().message().find("'txn'"), std::string::npos) << info.status().ToString();
}

TEST(Nested, BadRowsAreRefusedAndRolledBack) {
  TempDir dir;
  std::string path = dir / "bad.parquet";
  std::vector<NestedField> schema = {
      NestedField::Struct("s", {NestedField::Primitive("a", DataType::Int64(), true),
                                NestedField::List("l", NestedField::Primitive("e", DataType::Int32()))})};
  auto w = NestedWriter::Open(path, schema);
  ASSERT_TRUE(w.ok());
  using V = NestedValue;
  auto good = V::Struct({I(1), V::List({V::Scalar(Value::Int32(5)), N()})});
  ASSERT_TRUE((*w)->WriteRow({good}).ok());
  Status st = (*w)->WriteRow({V::Struct({N(), V::List({})})});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'s.a' is required"), std::string::npos) << st.ToString();
  st = (*w)->WriteRow({V::Struct({I(2), V::List({V::Scalar(Value::Int32(1)), S("x")})})});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("s.l.list.element"), std::string::npos) << st.ToString();
  ASSERT_TRUE((*w)->WriteRow({V::Struct({I(3), N()})}).ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto f = ReadNestedFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->rows.size(), 2u);
  EXPECT_EQ(f->rows[0][0], good);
  EXPECT_EQ(f->rows[1][0], V::Struct({I(3), N()}));
}

TEST(Nested, ReadsFlatFilesToo) {
  TempDir dir;
  std::string path = dir / "flat.parquet";
  auto schema = MakeSchema({{"a", DataType::Int64(), true}, {"s", DataType::String()}});
  ASSERT_TRUE(WriteRows(path, schema, {{Value::Int64(1), Value::String("x")}, {Value::Int64(2), Value::Null(DataType::String())}}).ok());
  auto f = ReadNestedFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->rows.size(), 2u);
  EXPECT_EQ(f->rows[1][0], I(2));
  EXPECT_TRUE(f->rows[1][1].is_null());
  EXPECT_TRUE(f->schema[0].required);
}

TEST(Nested, CorruptCheckpointNeverCrashes) {
  TempDir dir;
  std::string path = dir / "cp.parquet";
  auto w = NestedWriter::Open(path, CheckpointSchema());
  ASSERT_TRUE(w.ok());
  for (const auto& r : CheckpointRows()) ASSERT_TRUE((*w)->WriteRow(r).ok());
  ASSERT_TRUE((*w)->Close().ok());
  std::string good = Slurp(path);
  std::mt19937 rng(77);
  int errors = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string b = good;
    for (int f = 0; f < 1 + static_cast<int>(rng() % 6); ++f) b[rng() % b.size()] = static_cast<char>(rng());
    auto r = ReadNestedBuffer("cp", b);
    if (!r.ok()) ++errors;
  }
  EXPECT_GT(errors, 0);
}

// The file goes through the io helpers, so the fault seam reaches it: a failed write, fsync or
// full disk fails Close() with an error naming the file, and the writer stays failed (a second
// Close() must not report a file without its footer as written).
TEST(Parquet, WriteFaultsFailCloseForGood) {
  for (io::FaultPlan plan :
       {io::FaultPlan{.fail_write = 1}, io::FaultPlan{.fail_fsync = 1}, io::FaultPlan{.disk_bytes = 1000}}) {
    SCOPED_TRACE(fmt::format("write {} fsync {} disk {}", plan.fail_write, plan.fail_fsync, plan.disk_bytes));
    TempDir dir;
    const std::string flat = dir / "flat.parquet", nested = dir / "nested.parquet";
    plan.path_prefix = flat;
    {
      io::ScopedFaults faults(plan);
      auto w = Writer::Open(flat, AllTypesSchema());
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      for (const auto& b : MakeBatches(AllTypesSchema(), AllTypesRows(2000, 5), 500)) ASSERT_TRUE((*w)->Write(b).ok());
      Status st = (*w)->Close();
      EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
      EXPECT_NE(st.message().find(flat), std::string::npos) << st.ToString();
      EXPECT_EQ(faults.injected(), 1);
      EXPECT_EQ((*w)->Close().message(), st.message()) << "a failed writer stays failed";
    }
    plan.path_prefix = nested;
    {
      io::ScopedFaults faults(plan);
      auto w = NestedWriter::Open(nested, CheckpointSchema());
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      for (const auto& r : CheckpointRows()) ASSERT_TRUE((*w)->WriteRow(r).ok());
      Status st = (*w)->Close();
      EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
      EXPECT_GE(faults.injected(), 1);
      EXPECT_EQ((*w)->Close().message(), st.message()) << "a failed writer stays failed";
    }
  }
}

}  // namespace
}  // namespace sluice::parquet
