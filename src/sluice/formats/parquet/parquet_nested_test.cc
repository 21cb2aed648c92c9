// Nested columns, as the lake's checkpoints use them: round trips, many row groups, bad rows,
// flat files read the nested way, corrupt checkpoints.
#include "sluice/formats/parquet/parquet.h"

#include <gtest/gtest.h>

#include <random>

#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/parquet_test_util.h"
#include "sluice/formats/parquet/thrift_compact.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet::testing {
namespace {

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
        ASSERT_EQ(f->rows[r][c], rows[r][c])
            << "row " << r << " col " << c << ": " << f->rows[r][c].ToString() << " vs " << rows[r][c].ToString();
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
  ASSERT_TRUE(WriteRows(path, schema,
                        {{Value::Int64(1), Value::String("x")}, {Value::Int64(2), Value::Null(DataType::String())}})
                  .ok());
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

}  // namespace
}  // namespace sluice::parquet::testing
