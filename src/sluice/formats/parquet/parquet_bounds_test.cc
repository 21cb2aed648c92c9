// Untrusted files: counts and sizes a Parquet file declares never size an allocation before the
// bytes back them. Each case is a file of a few hundred bytes, built here byte by byte (our own
// Thrift serializers for headers and footer), that declares something huge — 2^31 values in a
// page or a row group, a list or string longer than the footer, a page of gigabytes, a
// dictionary of billions of entries. Reading it gives an error naming the file and the offset,
// and the reading process's peak RSS stays under 100 MB. Each read runs in a forked child, so
// the peak is its own (getrusage), under a 1 GiB address-space limit so that a regression fails
// fast instead of swapping. Under AddressSanitizer only the RSS assertions are skipped.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "sluice/formats/parquet/compression.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/formats/parquet/thrift_compact.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLUICE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLUICE_ASAN 1
#endif
#endif

namespace sluice::parquet {
namespace {

using format::Codec;
using format::Encoding;
using format::Repetition;
using format::Type;

constexpr int32_t kHuge32 = INT32_MAX;  // 2^31 - 1: the most a page header's i32 can declare
constexpr int64_t kTwoTo31 = int64_t{1} << 31;
constexpr long kMaxRssKb = 100 * 1024;

// ----------------------------------------------------------------------------- a child process

struct ChildResult {
  bool ok = false;        // the read succeeded
  std::string message;    // its error otherwise
  long peak_rss_kb = 0;   // the child's peak RSS (getrusage ru_maxrss)
  long start_rss_kb = 0;  // ... before the read
  std::string crash;      // how the child died, if it did not exit normally
};

// Runs `fn` in a forked child and reports its status and the child's peak RSS.
ChildResult RunInChild(const std::function<Status()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return {false, "", 0, 0, "pipe failed"};
  pid_t pid = fork();
  if (pid < 0) return {false, "", 0, 0, "fork failed"};
  if (pid == 0) {
    close(fds[0]);
#ifndef SLUICE_ASAN
    rlimit lim{size_t{1} << 30, size_t{1} << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    std::string outcome;
    try {  // nothing may escape into the child's copy of the test runner
      Status st = fn();
      outcome = st.ok() ? std::string("OK") : "ERR " + st.message();
    } catch (const std::exception& e) {
      outcome = std::string("EXC ") + e.what();
    } catch (...) {
      outcome = "EXC unknown exception";
    }
    getrusage(RUSAGE_SELF, &after);
    std::string out = std::to_string(after.ru_maxrss) + "\n" + std::to_string(before.ru_maxrss) + "\n" + outcome;
    size_t done = 0;
    while (done < out.size()) {
      ssize_t w = write(fds[1], out.data() + done, out.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string in;
  char buf[4096];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) in.append(buf, static_cast<size_t>(r));
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  ChildResult res;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    res.crash = WIFSIGNALED(wstatus) ? "killed by signal " + std::to_string(WTERMSIG(wstatus))
                                     : "exit status " + std::to_string(WEXITSTATUS(wstatus));
    return res;
  }
  size_t a = in.find('\n'), b = a == std::string::npos ? a : in.find('\n', a + 1);
  if (b == std::string::npos) {
    res.crash = "no report from the child";
    return res;
  }
  res.peak_rss_kb = std::stol(in.substr(0, a));
  res.start_rss_kb = std::stol(in.substr(a + 1, b - a - 1));
  std::string rest = in.substr(b + 1);
  if (rest.rfind("EXC ", 0) == 0) {
    res.crash = "threw " + rest.substr(4);
    return res;
  }
  res.ok = rest == "OK";
  if (!res.ok) res.message = rest.substr(4);
  return res;
}

// Reads every batch of `bytes` with the flat reader.
Status ReadFlat(const std::string& bytes, size_t batch_rows = 4096) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, Reader::OpenBuffer("bounds.parquet", bytes));
  ReadOptions o;
  o.batch_rows = batch_rows;
  return reader->Read(o, [](Batch) { return Status::OK(); });
}

Status ReadNested(const std::string& bytes) {
  auto r = ReadNestedBuffer("bounds.parquet", bytes);
  return r.ok() ? Status::OK() : r.status();
}

// Reads in a child; expects an error containing every one of `want`, and a bounded peak RSS.
void ExpectBoundedError(const std::function<Status()>& read, std::initializer_list<std::string> want) {
  ChildResult r = RunInChild(read);
  ASSERT_TRUE(r.crash.empty()) << "the reading process died: " << r.crash;
  ASSERT_FALSE(r.ok) << "expected an error";
  for (const auto& w : want) EXPECT_NE(r.message.find(w), std::string::npos) << "want '" << w << "' in: " << r.message;
#ifndef SLUICE_ASAN
  EXPECT_LT(r.peak_rss_kb, kMaxRssKb) << "peak RSS " << r.peak_rss_kb << " KiB (" << r.start_rss_kb
                                      << " KiB before the read): " << r.message;
#endif
}

// ----------------------------------------------------------------------------- building files

std::string HeaderBytes(const format::PageHeader& h) {
  std::string s;
  format::SerializePageHeader(h, &s);
  return s;
}

// A data page v1 (header + body); the sizes are the body's unless given.
std::string DataPage(int32_t num_values, Encoding enc, const std::string& body, std::optional<int32_t> unc = {},
                     std::optional<int32_t> comp = {}) {
  format::PageHeader h;
  h.type = format::PageType::DATA_PAGE;
  h.compressed_page_size = comp.value_or(static_cast<int32_t>(body.size()));
  h.uncompressed_page_size = unc.value_or(static_cast<int32_t>(body.size()));
  h.data_page_header = format::DataPageHeader{num_values, enc, Encoding::RLE, Encoding::RLE, std::nullopt};
  return HeaderBytes(h) + body;
}

std::string DictionaryPage(int32_t num_values, const std::string& body, std::optional<int32_t> unc = {}) {
  format::PageHeader h;
  h.type = format::PageType::DICTIONARY_PAGE;
  h.compressed_page_size = static_cast<int32_t>(body.size());
  h.uncompressed_page_size = unc.value_or(static_cast<int32_t>(body.size()));
  h.dictionary_page_header = format::DictionaryPageHeader{num_values, Encoding::PLAIN, std::nullopt};
  return HeaderBytes(h) + body;
}

std::string Varint(uint64_t v) {
  std::string s;
  thrift::AppendVarint(s, v);
  return s;
}

// An RLE run of `count` copies of a one-byte value (bit widths 1 to 8).
std::string RleRun(uint64_t count, uint8_t value) {
  return Varint(count << 1) + std::string(1, static_cast<char>(value));
}

// v1 levels: their byte length, then the RLE/bit-packed data.
std::string Levels(const std::string& rle) {
  uint32_t len = static_cast<uint32_t>(rle.size());
  return std::string(reinterpret_cast<const char*>(&len), 4) + rle;
}

std::string Int64s(std::initializer_list<int64_t> v) {
  std::string s;
  for (int64_t x : v) s.append(reinterpret_cast<const char*>(&x), 8);
  return s;
}

struct Column {
  std::string name = "x";
  Type type = Type::INT64;
  Repetition repetition = Repetition::REQUIRED;
  std::optional<format::ConvertedType> converted;
  Codec codec = Codec::UNCOMPRESSED;
};

// Appends a footer (any bytes), its length and the magic.
std::string WrapFooter(std::string head, const std::string& footer) {
  uint32_t len = static_cast<uint32_t>(footer.size());
  head += footer;
  head.append(reinterpret_cast<const char*>(&len), 4);
  head += "PAR1";
  return head;
}

// PAR1, the pages of one column chunk at offset 4, the footer (one row group), its length, PAR1.
std::string File(const Column& c, const std::string& pages, int64_t num_values, int64_t num_rows) {
  format::FileMetaData m;
  format::SchemaElement root;
  root.name = "schema";
  root.num_children = 1;
  format::SchemaElement leaf;
  leaf.name = c.name;
  leaf.type = c.type;
  leaf.repetition = c.repetition;
  leaf.converted_type = c.converted;
  m.schema = {root, leaf};
  m.num_rows = num_rows;
  format::ColumnMetaData md;
  md.type = c.type;
  md.encodings = {Encoding::PLAIN, Encoding::RLE};
  md.path_in_schema = {c.name};
  md.codec = c.codec;
  md.num_values = num_values;
  md.total_compressed_size = static_cast<int64_t>(pages.size());
  md.total_uncompressed_size = static_cast<int64_t>(pages.size());
  md.data_page_offset = 4;
  format::ColumnChunk cc;
  cc.file_offset = 4;
  cc.meta_data = md;
  format::RowGroup rg;
  rg.columns = {cc};
  rg.num_rows = num_rows;
  rg.total_byte_size = static_cast<int64_t>(pages.size());
  m.row_groups = {rg};
  std::string footer;
  format::SerializeFileMetaData(m, &footer);
  return WrapFooter("PAR1" + pages, footer);
}

// An optional INT64 column whose page declares `num_values` level entries, of which the
// definition levels below and three values are present.
std::string OptionalPage(int32_t num_values, const std::string& def_rle) {
  return DataPage(num_values, Encoding::PLAIN, Levels(def_rle) + Int64s({1, 2, 3}));
}

const Column kOptional{"x", Type::INT64, Repetition::OPTIONAL, std::nullopt, Codec::UNCOMPRESSED};
const Column kRequired{"x", Type::INT64, Repetition::REQUIRED, std::nullopt, Codec::UNCOMPRESSED};
const Column kString{"s", Type::BYTE_ARRAY, Repetition::REQUIRED, format::ConvertedType::UTF8, Codec::UNCOMPRESSED};

// ----------------------------------------------------------------------------- the builder itself

TEST(ParquetBounds, CraftedFilesAreValidWhenTheyDeclareTheTruth) {
  // The same shapes as below, with honest counts, read fine: the errors below come from the
  // counts alone.
  std::string f = File(kOptional, OptionalPage(4, RleRun(3, 1) + RleRun(1, 0)), 4, 4);
  auto batches = ReadNestedBuffer("ok.parquet", f);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->rows.size(), 4u);
  EXPECT_EQ(batches->rows[2][0], NestedValue::Scalar(Value::Int64(3)));
  EXPECT_TRUE(batches->rows[3][0].is_null());
  EXPECT_TRUE(ReadFlat(f).ok());
  std::string dict = DictionaryPage(2, Int64s({10, 20})) +
                     DataPage(3, Encoding::RLE_DICTIONARY, std::string(1, '\x01') + RleRun(3, 1));
  EXPECT_TRUE(ReadFlat(File(kRequired, dict, 3, 3)).ok());
  EXPECT_LT(f.size(), 300u);
}

// ----------------------------------------------------------------------------- 2^31 values

TEST(ParquetBounds, PageDeclaring2To31LevelEntries) {
  // Definition levels for 8 entries, a page that says 2^31 - 1: the levels are decoded a window
  // at a time, so the shortfall is found after 8, with nothing sized by the claim.
  std::string f = File(kOptional, OptionalPage(kHuge32, RleRun(3, 1) + RleRun(5, 0)), kHuge32, kHuge32);
  EXPECT_LT(f.size(), 300u);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column 'x': corrupt page at offset 4: definition levels:", "ends early"});
}

TEST(ParquetBounds, RequiredPageDeclaring2To31PlainValues) {
  // Without definition levels the page's values are counted exactly: 2^31 - 1 PLAIN int64s
  // need 16 GiB, the page has 24 bytes.
  std::string f = File(kRequired, DataPage(kHuge32, Encoding::PLAIN, Int64s({1, 2, 3})), kHuge32, kHuge32);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column 'x': corrupt page at offset 4: page holds 2147483647 values but its 24 "
                      "bytes of PLAIN data hold at most 3"});
}

TEST(ParquetBounds, RowGroupDeclaring2To31Rows) {
  std::string page = DataPage(3, Encoding::PLAIN, Int64s({1, 2, 3}));
  // The row group's count against its column chunk's ...
  std::string f = File(kRequired, page, 3, kTwoTo31);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: row group 0 declares 2147483648 rows but its column 'x' (chunk at offset 4) "
                      "holds 3 values"});
  // ... and the column chunk's against its pages.
  std::string g = File(kRequired, page, kTwoTo31, kTwoTo31);
  ExpectBoundedError([&] { return ReadFlat(g); },
                     {"bounds.parquet: column 'x': column chunk ends at offset", "after 3 of 2147483648 values"});
  ExpectBoundedError([&] { return ReadNested(g); }, {"bounds.parquet: column chunk of 'x' at offset 4",
                                                     "declares 2147483648 values, more than the nested reader"});
}

TEST(ParquetBounds, DictionaryIndicesDeclaring2To31Values) {
  // 2 dictionary entries and an RLE run of 8 indices on a page that says 2^31 - 1.
  std::string pages = DictionaryPage(2, Int64s({10, 20})) +
                      DataPage(kHuge32, Encoding::RLE_DICTIONARY, std::string(1, '\x01') + RleRun(8, 1));
  std::string f = File(kRequired, pages, kHuge32, kHuge32);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column 'x': corrupt page at offset", "RLE/bit-packed data ends early"});
}

TEST(ParquetBounds, DeltaBinaryPackedAnnouncing2To31Values) {
  // A DELTA_BINARY_PACKED header announcing 2^31 - 1 values, then one block of 128.
  std::string body = Varint(128) + Varint(4) + Varint(kHuge32) + Varint(0) + Varint(2) + std::string(4, '\0');
  std::string f = File(kRequired, DataPage(kHuge32, Encoding::DELTA_BINARY_PACKED, body), kHuge32, kHuge32);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column 'x': corrupt page at offset 4: DELTA_BINARY_PACKED data ends early "
                      "after 129 of the 2147483647 values it announces"});
}

TEST(ParquetBounds, AValidPageOf2To31NullsStreamsInBoundedMemory) {
  // RLE legitimately holds 2^31 - 1 nulls in 6 bytes: the flat reader neither refuses the
  // file nor holds the page's levels, it hands out batches.
  std::string f = File(kOptional, DataPage(kHuge32, Encoding::PLAIN, Levels(RleRun(kHuge32, 0))), kHuge32, kHuge32);
  EXPECT_LT(f.size(), 300u);
  ChildResult r = RunInChild([&]() -> Status {
    SLUICE_ASSIGN_OR_RETURN(auto reader, Reader::OpenBuffer("bounds.parquet", f));
    int64_t rows = 0;
    Status st = reader->Read({}, [&](Batch b) -> Status {
      for (size_t i = 0; i < b.num_rows(); i += 997) {
        if (!b.column(0)->IsNull(i)) return Status::Internal("row {} is not null", rows + static_cast<int64_t>(i));
      }
      rows += static_cast<int64_t>(b.num_rows());
      return rows >= (int64_t{1} << 22) ? Status::FailedPrecondition("enough") : Status::OK();
    });
    return st.message() == "enough" ? Status::OK() : st;
  });
  ASSERT_TRUE(r.crash.empty()) << r.crash;
  EXPECT_TRUE(r.ok) << r.message;
#ifndef SLUICE_ASAN
  EXPECT_LT(r.peak_rss_kb, kMaxRssKb);
#endif
  // The nested reader holds what it reads, so it refuses what the file's size cannot back.
  ExpectBoundedError([&] { return ReadNested(f); },
                     {"bounds.parquet: column chunk of 'x' at offset 4 (row group 0) declares 2147483647 values, "
                      "more than the nested reader reads from a file of"});
}

// ----------------------------------------------------------------------------- Thrift lengths

TEST(ParquetBounds, HugeThriftListLength) {
  // FileMetaData { version: 1, schema: list<struct> of 2^31 elements } and nothing after.
  std::string footer;
  thrift::CompactEncoder e(&footer);
  e.BeginStruct();
  e.FieldI32(1, 1);
  e.FieldListBegin(2, thrift::CType::kStruct, size_t{1} << 31);
  size_t at = 4 + footer.size();
  footer += std::string(40, '\0');
  std::string f = WrapFooter("PAR1", footer);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {fmt::format("bounds.parquet: corrupt footer: list of 2147483648 elements exceeds the remaining "
                                  "40 bytes at offset {}",
                                  at)});
  ExpectBoundedError([&] { return ReadNested(f); }, {"list of 2147483648 elements exceeds the remaining"});
  // A list of doubles needs eight bytes an element: 6 elements do not fit in 40 bytes.
  std::string doubles;
  thrift::CompactEncoder d(&doubles);
  d.BeginStruct();
  d.FieldListBegin(9, thrift::CType::kDouble, 6);
  doubles += std::string(40, '\0');
  auto parsed = format::ParseFileMetaData(reinterpret_cast<const uint8_t*>(doubles.data()), doubles.size(), 0);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("list of 6 elements exceeds the remaining 40 bytes"), std::string::npos)
      << parsed.status().ToString();
}

TEST(ParquetBounds, HugeThriftStringLength) {
  // A schema element whose name is 2^40 bytes long.
  std::string footer;
  thrift::CompactEncoder e(&footer);
  e.BeginStruct();
  e.FieldI32(1, 1);
  e.FieldListBegin(2, thrift::CType::kStruct, 1);
  e.ElemStructBegin();
  footer += static_cast<char>((4 << 4) | static_cast<int>(thrift::CType::kBinary));  // field 4: name
  footer += Varint(uint64_t{1} << 40);
  size_t at = 4 + footer.size();
  footer += std::string(30, 'n');
  std::string f = WrapFooter("PAR1", footer);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {fmt::format("bounds.parquet: corrupt footer: binary length 1099511627776 exceeds the remaining "
                                  "30 bytes at offset {}",
                                  at)});
  // A statistics value in a page header, 2^31 - 1 bytes long.
  format::PageHeader h;
  h.type = format::PageType::DATA_PAGE;
  h.compressed_page_size = h.uncompressed_page_size = 8;
  h.data_page_header = format::DataPageHeader{1, Encoding::PLAIN, Encoding::RLE, Encoding::RLE, format::Statistics{}};
  h.data_page_header->statistics->min_value = "LEN";
  std::string header = HeaderBytes(h);
  size_t len_at = header.find("LEN") - 1;  // the one-byte length before the value
  header.replace(len_at, 4, Varint(kHuge32));
  std::string g = File(kRequired, header + Int64s({7}), 1, 1);
  ExpectBoundedError([&] { return ReadFlat(g); },
                     {"bounds.parquet: column 'x': corrupt page header at offset 4: binary length 2147483647 exceeds "
                      "the remaining"});
  // A PLAIN byte array whose length prefix says 2^31 - 1.
  std::string value = std::string("\xff\xff\xff\x7f", 4) + "abc";
  std::string s = File(kString, DataPage(1, Encoding::PLAIN, value), 1, 1);
  ExpectBoundedError([&] { return ReadFlat(s); },
                     {"bounds.parquet: column 's': corrupt page at offset 4: PLAIN byte array of 2147483647 bytes "
                      "exceeds the page"});
}

// ----------------------------------------------------------------------------- page sizes

TEST(ParquetBounds, HugeUncompressedPageSize) {
  // Over the absolute limit.
  std::string body = Int64s({1, 2});
  std::string f = File(kRequired, DataPage(2, Encoding::PLAIN, body, kHuge32), 2, 2);
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column 'x': corrupt page at offset 4: uncompressed size 2147483647 exceeds the "
                      "limit of 536870912 bytes per page"});
  // Under it, but more than the codec can expand the page's bytes to: 400 MiB from 16 bytes.
  const int32_t k400MiB = 400 << 20;
  std::string g = File(kRequired, DataPage(2, Encoding::PLAIN, body, k400MiB), 2, 2);
  ExpectBoundedError([&] { return ReadFlat(g); },
                     {"corrupt page at offset 4: uncompressed size 419430400 is more than 16 bytes of UNCOMPRESSED "
                      "data can hold (16)"});
  Column zstd = kRequired;
  zstd.codec = Codec::ZSTD;
  Compressor c(Codec::ZSTD, 3);
  std::string z;
  ASSERT_TRUE(c.Compress(body, &z).ok());
  std::string h = File(zstd, DataPage(2, Encoding::PLAIN, z, k400MiB), 2, 2);
  ExpectBoundedError([&] { return ReadFlat(h); },
                     {fmt::format("corrupt page at offset 4: uncompressed size 419430400 is more than {} bytes of ZSTD "
                                  "data can hold ({})",
                                  z.size(), z.size() * 32768)});
  Column snappy = kRequired;
  snappy.codec = Codec::SNAPPY;
  ExpectBoundedError([&] { return ReadFlat(File(snappy, DataPage(2, Encoding::PLAIN, body, 1000), 2, 2)); },
                     {"uncompressed size 1000 is more than 16 bytes of SNAPPY data can hold (352)"});
}

TEST(ParquetBounds, DecompressionStopsAtTheDeclaredSize) {
  // 64 KiB of zeros compress to a few bytes; a header that declares 1 KiB gets an error, never
  // more than 1 KiB written.
  Column zstd = kRequired;
  zstd.codec = Codec::ZSTD;
  Compressor c(Codec::ZSTD, 3);
  std::string z;
  ASSERT_TRUE(c.Compress(std::string(64 << 10, '\0'), &z).ok());
  std::string f = File(zstd, DataPage(128, Encoding::PLAIN, z, 1024), 128, 128);
  EXPECT_LT(f.size(), 300u);
  ExpectBoundedError([&] { return ReadFlat(f); }, {"bounds.parquet: column 'x': corrupt page at offset", "zstd"});
  // The same through the codec API directly.
  std::vector<uint8_t> out(1024 + 16, 0xab);
  Status st = Decompress(Codec::ZSTD, reinterpret_cast<const uint8_t*>(z.data()), z.size(), out.data(), 1024);
  EXPECT_FALSE(st.ok());
  for (size_t i = 1024; i < out.size(); ++i) ASSERT_EQ(out[i], 0xab) << "written past the declared size at " << i;
  Compressor s(Codec::SNAPPY, 0);
  std::string sz;
  ASSERT_TRUE(s.Compress(std::string(64 << 10, '\0'), &sz).ok());
  st = Decompress(Codec::SNAPPY, reinterpret_cast<const uint8_t*>(sz.data()), sz.size(), out.data(), 1024);
  EXPECT_FALSE(st.ok());
  for (size_t i = 1024; i < out.size(); ++i) ASSERT_EQ(out[i], 0xab) << "written past the declared size at " << i;
}

TEST(ParquetBounds, ColumnChunkBeyondTheFile) {
  std::string f = File(kRequired, DataPage(1, Encoding::PLAIN, Int64s({1})), 1, 1);
  // The chunk's total_compressed_size: the footer rebuilt with 1 TiB.
  format::FileMetaData m;
  {
    uint32_t len;
    std::memcpy(&len, f.data() + f.size() - 8, 4);
    auto parsed = format::ParseFileMetaData(reinterpret_cast<const uint8_t*>(f.data()) + f.size() - 8 - len, len, 0);
    ASSERT_TRUE(parsed.ok());
    m = *parsed;
    m.row_groups[0].columns[0].meta_data->total_compressed_size = int64_t{1} << 40;
    std::string footer;
    format::SerializeFileMetaData(m, &footer);
    f = WrapFooter(f.substr(0, f.size() - 8 - len), footer);
  }
  ExpectBoundedError([&] { return ReadFlat(f); },
                     {"bounds.parquet: column chunk of 'x' at offset 4 (1099511627776 bytes) exceeds the file size"});
}

// ----------------------------------------------------------------------------- dictionaries

TEST(ParquetBounds, DictionaryPageClaimingManyEntries) {
  // 2^31 - 1 strings in 16 bytes (each needs at least its 4-byte length).
  // (Each file has a data page after its dictionary page, and a row to read.)
  const std::string data_page = DataPage(1, Encoding::RLE_DICTIONARY, std::string(1, '\x01') + RleRun(1, 0));
  std::string s = File(kString, DictionaryPage(kHuge32, std::string(16, '\0')) + data_page, 1, 1);
  ExpectBoundedError([&] { return ReadFlat(s); },
                     {"bounds.parquet: column 's': corrupt page at offset 4: dictionary of 2147483647 entries exceeds "
                      "its page: 16 bytes hold at most 4"});
  // Three int64s in 16 bytes.
  std::string i = File(kRequired, DictionaryPage(3, Int64s({1, 2})) + data_page, 1, 1);
  ExpectBoundedError([&] { return ReadFlat(i); },
                     {"corrupt page at offset 4: dictionary of 3 entries exceeds its page: 16 bytes hold at most 2"});
  // A compressed dictionary page that claims 256 MiB of entries from a few bytes.
  Column zstd = kRequired;
  zstd.codec = Codec::ZSTD;
  Compressor c(Codec::ZSTD, 3);
  std::string z;
  ASSERT_TRUE(c.Compress(Int64s({1, 2}), &z).ok());
  std::string d = File(zstd, DictionaryPage(32 << 20, z, 256 << 20) + data_page, 1, 1);
  ExpectBoundedError([&] { return ReadFlat(d); },
                     {"corrupt page at offset 4: uncompressed size 268435456 is more than"});
}

// ----------------------------------------------------------------------------- nested schemas

TEST(ParquetBounds, NestedSchemaRootDeclaringBillionsOfFields) {
  std::string f = File(kRequired, DataPage(1, Encoding::PLAIN, Int64s({1})), 1, 1);
  uint32_t len;
  std::memcpy(&len, f.data() + f.size() - 8, 4);
  auto parsed = format::ParseFileMetaData(reinterpret_cast<const uint8_t*>(f.data()) + f.size() - 8 - len, len, 0);
  ASSERT_TRUE(parsed.ok());
  format::FileMetaData m = *parsed;
  m.schema[0].num_children = kHuge32;
  std::string footer;
  format::SerializeFileMetaData(m, &footer);
  std::string g = WrapFooter(f.substr(0, f.size() - 8 - len), footer);
  ExpectBoundedError([&] { return ReadNested(g); },
                     {"bounds.parquet: the schema root declares 2147483647 fields but 1 elements follow"});
  ExpectBoundedError([&] { return ReadFlat(g); }, {"bounds.parquet: the schema root declares 2147483647 columns"});
}

}  // namespace
}  // namespace sluice::parquet
