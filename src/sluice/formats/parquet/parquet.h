// Parquet: our own writer and reader (Debian has no Arrow), for flat schemas of every logical type
// (types/data_type.h). Files we write open in DuckDB, Spark and Trino; files they write open here.
//
// Writer: batches in, row groups out (cut by `row_group_bytes` of encoded data), one column chunk
// per field; nullable columns through definition levels (RLE/bit-packed hybrid); PLAIN or
// RLE_DICTIONARY encoding (dictionary first, falling back to PLAIN when the dictionary grows past
// `dictionary_page_bytes`); data pages v1; Snappy, ZSTD or uncompressed; min/max/null_count
// statistics per chunk (and per page header); logical types STRING, DATE,
// TIMESTAMP(isAdjustedToUTC=true, MICROS), DECIMAL(p,s) (INT64 physical, or INT32 when p <= 9),
// INT(32/64, signed). The footer is Thrift compact protocol, written by our own code.
// Reader: footer + schema -> Sluice Schema; projection of columns by name; row groups skipped by
// statistics through a caller predicate; data pages v1 and v2; PLAIN, RLE_DICTIONARY,
// PLAIN_DICTIONARY, RLE (booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
// DELTA_BYTE_ARRAY; Snappy, ZSTD, GZIP (if zlib is available), uncompressed; INT96 timestamps
// read as microseconds. Every error names the file and the byte offset.
// Thread-safety: a writer or reader instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/types/value.h"

namespace sluice::parquet {

enum class Compression { kUncompressed, kSnappy, kZstd };

struct WriterOptions {
  Compression compression = Compression::kZstd;
  int zstd_level = 3;
  bool dictionary = true;                        // try RLE_DICTIONARY first
  size_t dictionary_page_bytes = 1 << 20;        // fall back to PLAIN beyond this
  size_t data_page_bytes = 1 << 20;              // target uncompressed size of a data page
  size_t row_group_bytes = 128ull << 20;         // cut a row group after this much encoded data
  std::string created_by = "sluice";
  // Extra key/value metadata in the footer.
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
};

// Writes one Parquet file. Data goes to `path` directly; callers that need atomic visibility
// (the lake) write to a temporary name or rely on a commit protocol.
class Writer {
 public:
  static Result<std::unique_ptr<Writer>> Open(const std::string& path, SchemaPtr schema, WriterOptions options = {});
  ~Writer();
  // Appends the active rows of `batch` (same schema, by position).
  Status Write(const Batch& batch);
  // Flushes the last row group and the footer, fsyncs and closes. Must be called for a valid file.
  Status Close();
  int64_t rows_written() const;
  // Bytes written so far (exact after Close()).
  int64_t bytes_written() const;

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Statistics of one column chunk, decoded into Values of the column's Sluice type.
struct ColumnStats {
  std::optional<Value> min;
  std::optional<Value> max;
  std::optional<int64_t> null_count;
};

struct RowGroupInfo {
  int64_t num_rows = 0;
  int64_t total_byte_size = 0;
  std::vector<ColumnStats> columns;  // by field index of the file schema
};

struct FileInfo {
  SchemaPtr schema;  // the file's columns as Sluice fields (required = not optional)
  int64_t num_rows = 0;
  std::vector<RowGroupInfo> row_groups;
  std::string created_by;
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
};

struct ReadOptions {
  // Columns to read, by name, in this order; empty = all.
  std::vector<std::string> columns;
  // Called per row group with its statistics; return false to skip the row group.
  std::function<bool(const RowGroupInfo&)> row_group_filter;
  size_t batch_rows = 4096;
};

class Reader {
 public:
  // Reads and checks the footer. Errors: "FILE: bad magic at offset 0", "FILE: footer length N at
  // offset M exceeds the file size", "FILE: corrupt page header at offset N: ...", ...
  static Result<std::unique_ptr<Reader>> Open(const std::string& path);
  // The same over bytes in memory; `name` stands for the file in errors (fuzzing, tests).
  static Result<std::unique_ptr<Reader>> OpenBuffer(std::string name, std::string data);
  ~Reader();
  const FileInfo& info() const;
  // Decodes the selected columns of the selected row groups into batches of the projected schema.
  Status Read(const ReadOptions& options, const std::function<Status(Batch)>& on_batch);

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a whole file into batches (convenience for tools and tests).
Result<std::vector<Batch>> ReadFile(const std::string& path, const ReadOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Nested files: a small row-wise API, separate from the columnar fast path above, for the few
// files that need structure — Delta Lake checkpoints (txn/add/remove/metaData/protocol structs
// holding maps and lists). Supported shapes: primitive fields of every logical type, structs
// (nested to any depth), lists (the standard 3-level LIST layout: `repeated group list {
// element }`) and maps (the standard MAP layout: `repeated group key_value { required key;
// value }`). Values are PLAIN encoded, levels RLE, one page per column chunk; the codec and the
// row-group size come from WriterOptions. The reader also accepts flat files and legacy 2-level
// lists (a bare repeated field).

struct NestedField {
  enum class Kind : uint8_t { kPrimitive, kStruct, kList, kMap };
  std::string name;
  Kind kind = Kind::kPrimitive;
  DataType type;          // kPrimitive only
  bool required = false;  // REQUIRED repetition (a null value is refused by the writer)
  std::vector<NestedField> children;  // kStruct: the fields; kList: {element}; kMap: {key, value}

  static NestedField Primitive(std::string name, DataType type, bool required = false);
  static NestedField Struct(std::string name, std::vector<NestedField> fields, bool required = false);
  static NestedField List(std::string name, NestedField element, bool required = false);
  // The key is always required (Parquet MAP keys cannot be null).
  static NestedField Map(std::string name, NestedField key, NestedField value, bool required = false);
  bool operator==(const NestedField&) const = default;
};

struct NestedEntry;

struct NestedValue {
  enum class Kind : uint8_t { kNull, kScalar, kStruct, kList, kMap };
  Kind kind = Kind::kNull;
  Value scalar;                                              // kScalar
  std::vector<NestedValue> children;                         // kStruct: one per field; kList: items
  std::vector<NestedEntry> entries;                          // kMap, in order

  static NestedValue Null();
  static NestedValue Scalar(Value v);  // a null Value gives kNull
  static NestedValue Struct(std::vector<NestedValue> fields);
  static NestedValue List(std::vector<NestedValue> items);
  static NestedValue Map(std::vector<NestedEntry> entries);
  static NestedValue StringMap(const std::map<std::string, std::string>& m);
  static NestedValue StringList(const std::vector<std::string>& items);
  bool is_null() const { return kind == Kind::kNull; }
  // A field of a struct value by position (a null struct yields nulls).
  const NestedValue& field(size_t i) const;
  bool operator==(const NestedValue& o) const;
  std::string ToString() const;  // JSON-like, for tests and errors
};

// One key/value of a map value.
struct NestedEntry {
  NestedValue key;
  NestedValue value;
  bool operator==(const NestedEntry& o) const { return key == o.key && value == o.value; }
};

class NestedWriter {
 public:
  // `schema`: the top-level fields.
  static Result<std::unique_ptr<NestedWriter>> Open(const std::string& path, std::vector<NestedField> schema,
                                                    WriterOptions options = {});
  ~NestedWriter();
  // One value per top-level field, in schema order. Errors name the field path.
  Status WriteRow(const std::vector<NestedValue>& row);
  // Writes the last row group and the footer, fsyncs and closes.
  Status Close();
  int64_t rows_written() const;
  int64_t bytes_written() const;

 private:
  struct Impl;
  explicit NestedWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct NestedFile {
  std::vector<NestedField> schema;             // the selected top-level fields
  std::vector<std::vector<NestedValue>> rows;  // one value per selected field
};

// ReadNestedFile holds everything it reads in memory (levels, values, then rows), and RLE can
// encode billions of levels in a few bytes: the column chunks it reads may declare at most
// kNestedLevelsPerFileByte level entries per byte of the file, plus kNestedLevelsFloor, in all.
// Delta checkpoints hold about one per byte. (The flat Reader has no such limit: it decodes a
// batch at a time.)
inline constexpr int64_t kNestedLevelsPerFileByte = 64;
inline constexpr int64_t kNestedLevelsFloor = int64_t{1} << 16;

// Reads a whole file row-wise. `columns`: top-level fields to read, in that order (empty = all).
Result<NestedFile> ReadNestedFile(const std::string& path, const std::vector<std::string>& columns = {});
Result<NestedFile> ReadNestedBuffer(std::string name, std::string data, const std::vector<std::string>& columns = {});

}  // namespace sluice::parquet
