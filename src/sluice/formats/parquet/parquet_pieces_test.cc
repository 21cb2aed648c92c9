// The pieces under the reader and writer: the Thrift compact protocol, the file metadata, the
// encodings (RLE/bit-packed hybrid, bitmaps, delta binary packed, byte stream split).
#include "sluice/formats/parquet/parquet.h"

#include <gtest/gtest.h>

#include <random>

#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/thrift_compact.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet::testing {
namespace {

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
}  // namespace sluice::parquet::testing
