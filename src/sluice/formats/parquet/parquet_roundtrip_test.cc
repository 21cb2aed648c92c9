// Files we write read back the same: every type and codec, nulls, edge values, many row groups
// and pages, dictionaries and their fallback, projection, statistics and row-group skipping.
#include "sluice/formats/parquet/parquet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/parquet_test_util.h"
#include "sluice/formats/parquet/thrift_compact.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet::testing {
namespace {

namespace fs = std::filesystem;

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
  auto schema = MakeSchema({{"k", DataType::Int64()},
                            {"s", DataType::String()},
                            {"d", DataType::Decimal(9, 2)},
                            {"t", DataType::Timestamp()},
                            {"f", DataType::Float64()}});
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 10000; ++i) {
    rows.push_back({Value::Int64(i), Value::String(fmt::format("s{:05d}", i)), Value::Decimal(-i, 9, 2),
                    Value::Timestamp(-1000000LL + i),
                    i % 10 == 0 ? Value::Null(DataType::Float64()) : Value::Float64(i)});
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

}  // namespace
}  // namespace sluice::parquet::testing
