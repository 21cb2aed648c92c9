// What goes wrong: corrupt or truncated input gives errors (never a crash), a missing file is
// an error, and a failed write, fsync or full disk fails the writer for good.
#include "sluice/formats/parquet/parquet.h"

#include <gtest/gtest.h>

#include <random>

#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/parquet_test_util.h"
#include "sluice/formats/parquet/thrift_compact.h"
#include "sluice/io/faults.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet::testing {
namespace {

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
}  // namespace sluice::parquet::testing
