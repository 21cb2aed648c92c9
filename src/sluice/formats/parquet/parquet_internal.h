// Pieces shared by the flat writer/reader and the nested (checkpoint) path: the mapping between
// Sluice types and Parquet leaf columns, page writing, and the column-chunk decoder.
// Not part of the module's public API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/column.h"
#include "sluice/formats/parquet/compression.h"
#include "sluice/formats/parquet/encoding.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/formats/parquet/parquet_metadata.h"
#include "sluice/io/file_system.h"
#include "sluice/types/data_type.h"

namespace sluice::parquet::internal {

// ----------------------------------------------------------------------------- schema mapping

// How a leaf's physical values become values of its Sluice type.
enum class Conversion : uint8_t {
  kBool,            // BOOLEAN -> bool
  kInt32,           // INT32 -> int32 / date
  kUInt32ToInt64,   // INT32 UINT_32 -> int64
  kInt32ToInt64,    // INT32 DECIMAL -> decimal (int64 storage)
  kInt64,           // INT64 -> int64 / timestamp µs / decimal
  kUInt64,          // INT64 UINT_64 -> int64 (values >= 2^63 are errors)
  kMillisToMicros,  // INT64 TIMESTAMP(MILLIS)
  kNanosToMicros,   // INT64 TIMESTAMP(NANOS), floored
  kInt96ToMicros,   // INT96 legacy timestamps
  kFloatToDouble,   // FLOAT -> float64
  kDouble,          // DOUBLE -> float64
  kString,          // BYTE_ARRAY STRING/UTF8/ENUM/JSON -> string (UTF-8 checked)
  kBinary,          // BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY -> binary
  kBytesDecimal,    // BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY DECIMAL (big-endian) -> decimal
};

struct LeafInfo {
  format::Type physical = format::Type::BOOLEAN;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY
  DataType type;
  Conversion conversion = Conversion::kBool;
};

// A leaf element -> its Sluice type, or an error "column 'x': Parquet type ... is not supported".
Result<LeafInfo> ResolveLeaf(const format::SchemaElement& e, std::string_view column);
// Writer side: the leaf element of a Sluice type.
format::SchemaElement LeafElement(const std::string& name, DataType type, format::Repetition rep);
// Bytes per value of a Sluice type's storage (bool 1, int32/date 4, others 8); 0 for byte arrays.
int StorageWidth(DataType type);

// ----------------------------------------------------------------------------- writing

struct PageStats {
  std::optional<format::Statistics> stats;
};

// Compresses `body` and appends header + compressed body of a data page v1 to `out`.
// Adds to *uncompressed_total / *compressed_total the page sizes including the header.
Status AppendDataPageV1(Compressor& compressor, int32_t num_values, format::Encoding encoding,
                        std::string_view body, std::optional<format::Statistics> stats, std::string* scratch,
                        std::string* out, int64_t* uncompressed_total, int64_t* compressed_total);
Status AppendDictionaryPage(Compressor& compressor, int32_t num_values, std::string_view body, std::string* scratch,
                            std::string* out, int64_t* uncompressed_total, int64_t* compressed_total);
// PLAIN encoding of the values of `col` at rows [begin, end) that are not null, as the
// physical type of LeafElement(type).
void AppendPlainValues(const Column& col, size_t begin, size_t end, std::string* out);

// Moves a data page's buffered values into `body`: the RLE_DICTIONARY indices while the column
// still uses its dictionary, else the PLAIN bytes; sets *non_null and clears the buffers.
format::Encoding TakePageValues(bool use_dict, size_t dict_size, std::vector<uint32_t>& indices, std::string& plain,
                                size_t& plain_count, std::string* body, size_t* non_null);

// Writers lay their file out through an io::FileWriter (so its writes and fsync pass the fault
// seam, io/faults.h); offsets in the file are its size().
// Appends the footer (the Thrift FileMetaData, its length, the magic), fsyncs and closes.
Status WriteFooterAndClose(io::FileWriter& file, const format::FileMetaData& meta);

// Close() of a writer (flat or nested) whose Impl has closed, failed, rows, meta, sink and
// FlushRowGroup(): flushes the last row group and writes the footer once. A failed close (an I/O
// error, a full disk) leaves an invalid file, and every later call returns the same error.
template <typename Impl>
Status CloseWriter(Impl& w) {
  if (w.closed) return Status::OK();
  if (!w.failed.ok()) return w.failed;
  Status st = w.FlushRowGroup();
  if (st.ok()) {
    w.meta.num_rows = w.rows;
    st = WriteFooterAndClose(*w.sink, w.meta);
  }
  if (!st.ok()) {
    w.failed = st;
    return st;
  }
  w.closed = true;
  return Status::OK();
}

// ----------------------------------------------------------------------------- reading

// Random access to the bytes of a file (or of a buffer).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual int64_t size() const = 0;
  virtual Status ReadAt(int64_t offset, size_t n, uint8_t* out) const = 0;
};
Result<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path);
// `name` stands for the file in errors.
std::unique_ptr<ByteSource> MakeBufferSource(std::string data, std::string name = "buffer");

// Values decoded into Sluice storage: fixed width (`width` bytes each) or byte arrays.
struct Values {
  int width = 0;  // 0 = byte arrays
  std::vector<uint8_t> fixed;
  encoding::ByteArrays arrays;
  size_t size() const { return width ? fixed.size() / width : arrays.size(); }
  void clear() {
    fixed.clear();
    arrays.clear();
  }
};

// PLAIN-decodes `count` values into Sluice storage (replacing *out).
Status DecodePlainValues(const LeafInfo& leaf, const uint8_t* p, size_t n, size_t count, Values* out);
// Value i of decoded values of Sluice type `type`.
Value ValueAt(const Values& v, size_t i, DataType type);
// The fewest bits one PLAIN value of `leaf` takes: 1 for booleans (bit-packed), 32 for byte
// arrays (their length), 8 x the width otherwise. Bounds the values a page or dictionary of N
// bytes can hold.
uint64_t MinPlainBits(const LeafInfo& leaf);

// The parsed footer plus the file's name and size.
struct FileFooter {
  std::string name;  // for errors
  int64_t file_size = 0;
  format::FileMetaData meta;
};
// Reads and checks magic, footer length and metadata.
Result<FileFooter> ReadFooter(const std::string& name, const ByteSource& source);

// Decodes the values of one data page, a window at a time, into Sluice storage. What it
// allocates follows the windows asked for and the bytes present, never the counts the page
// declares (an RLE run or a DELTA block can announce billions of values in a few bytes).
class PageValueDecoder {
 public:
  // The page's values are the `n` bytes at `p` in encoding `enc`; `max_values` is the page's
  // level count (no page holds more values), and is the exact value count if `exact` (a page
  // without definition levels). `dictionary`: the chunk's, or null. Checks what the header of
  // the encoding and, for exact counts, the size of the data allow.
  Status Reset(const LeafInfo& leaf, format::Encoding enc, const uint8_t* p, size_t n, size_t max_values, bool exact,
               const Values* dictionary);
  // Appends the next m values to *out (whose width the caller set).
  Status Next(size_t m, Values* out);
  // After the page's last window: an error if the encoding announced more values than were read.
  Status Finish() const;

 private:
  Status NextPlain(size_t m, Values* out);
  Status NextDictionary(size_t m, Values* out);

  const LeafInfo* leaf_ = nullptr;
  format::Encoding enc_ = format::Encoding::PLAIN;
  const uint8_t* p_ = nullptr;
  size_t n_ = 0;
  size_t pos_ = 0;  // PLAIN: bytes (bits for booleans) read; BYTE_STREAM_SPLIT: values read
  const Values* dictionary_ = nullptr;
  encoding::RleDecoder rle_;  // dictionary indices, RLE booleans
  bool rle_missing_ = false;  // a dictionary-encoded page without its bit-width byte
  encoding::DeltaBinaryPackedDecoder<int32_t> delta32_;
  encoding::DeltaBinaryPackedDecoder<int64_t> delta64_;
  encoding::DeltaLengthByteArrayDecoder delta_length_;
  encoding::DeltaByteArrayDecoder delta_bytes_;
  // Scratch, sized by the window.
  std::vector<uint32_t> indices_;
  std::vector<uint8_t> raw_;
  std::vector<int32_t> ints32_;
  std::vector<int64_t> ints64_;
  encoding::ByteArrays arrays_;
};

// Decodes one column chunk page by page, each page a window at a time: levels and values
// converted to the Sluice type. Only the chunk's bytes, the current page (decompressed) and the
// current window are held.
class ChunkReader {
 public:
  // `column` names the column in errors. Reads the chunk's bytes from `source`.
  static Result<std::unique_ptr<ChunkReader>> Open(const FileFooter& footer, const ByteSource& source,
                                                   std::string column, const LeafInfo& leaf, int max_def,
                                                   int max_rep, const format::ColumnMetaData& md);
  // Flat columns (max_rep == 0): appends the next `n` rows to `out`, whose first `out_pos`
  // rows are already filled. Fixed-width outputs must be Resize()d to at least out_pos + n.
  Status ReadFlat(size_t n, Column* out, size_t out_pos);
  // Nested columns: every level and value of the chunk (appended as they are decoded).
  Status ReadAll(std::vector<uint8_t>* def, std::vector<uint8_t>* rep, Values* values);

 private:
  ChunkReader() = default;
  Status NextPage();
  // Decodes the page's next k level entries (k <= what is left of the page) into def_/rep_ and
  // their values into values_.
  Status DecodeWindow(size_t k);
  Status Error(int64_t offset, std::string_view what) const;

  std::string file_, column_;
  LeafInfo leaf_;
  int max_def_ = 0, max_rep_ = 0;
  format::Codec codec_ = format::Codec::UNCOMPRESSED;
  int64_t chunk_start_ = 0;
  std::vector<uint8_t> chunk_;
  size_t pos_ = 0;
  int64_t values_total_ = 0, values_read_ = 0;  // level entries of the chunk
  bool has_dictionary_ = false;
  Values dictionary_;
  // Current page.
  int64_t page_offset_ = 0;
  std::vector<uint8_t> page_buf_;
  encoding::RleDecoder rep_dec_, def_dec_;
  PageValueDecoder value_dec_;
  size_t page_count_ = 0;  // level entries in the page
  size_t level_pos_ = 0;   // level entries decoded
  // Current window.
  std::vector<uint8_t> def_, rep_;
  Values values_;
};

// The page codec of a writer's compression option.
inline format::Codec CodecOf(Compression c) {
  switch (c) {
    case Compression::kUncompressed: return format::Codec::UNCOMPRESSED;
    case Compression::kSnappy: return format::Codec::SNAPPY;
    case Compression::kZstd: return format::Codec::ZSTD;
  }
  return format::Codec::UNCOMPRESSED;
}

}  // namespace sluice::parquet::internal
