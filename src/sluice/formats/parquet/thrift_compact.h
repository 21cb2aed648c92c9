// The Thrift compact protocol, as much of it as Parquet metadata needs: an encoder that appends
// to a string and a decoder over a byte range that bounds-checks every read.
//
// The decoder never reads outside [data, data + size) and never allocates more than the input
// could describe (a list of N elements needs at least N bytes); every error carries the absolute
// file offset (`base_offset` + position) where decoding failed. Nesting is capped so corrupt
// input cannot exhaust the stack.
// Thread-safety: instances are used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/formats/parquet/encoding.h"

namespace sluice::parquet::thrift {

// Compact protocol type ids (as they appear in field and collection headers).
enum class CType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

using encoding::AppendVarint;

class CompactEncoder {
 public:
  explicit CompactEncoder(std::string* out) : out_(out) {}

  // Struct nesting: every field of a struct is written between BeginStruct and EndStruct
  // (the top-level struct too). Field ids must increase within a struct only for the short
  // delta form; any order is encoded correctly.
  void BeginStruct();
  void EndStruct();  // writes the stop byte

  void FieldBool(int16_t id, bool v);
  void FieldI8(int16_t id, int8_t v);
  void FieldI16(int16_t id, int16_t v);
  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldDouble(int16_t id, double v);
  void FieldBinary(int16_t id, std::string_view v);
  // A struct-valued field: follow with the nested fields, then EndStruct().
  void FieldStructBegin(int16_t id);
  // A list-valued field header; follow with `size` elements written by the element writers.
  void FieldListBegin(int16_t id, CType elem, size_t size);

  // List elements.
  void ElemI32(int32_t v) { AppendVarint(*out_, ZigZag(v)); }
  void ElemI64(int64_t v) { AppendVarint(*out_, ZigZag(v)); }
  void ElemBinary(std::string_view v);
  void ElemBool(bool v) { out_->push_back(v ? 1 : 2); }
  void ElemStructBegin() { BeginStruct(); }

 private:
  void FieldHeader(int16_t id, CType type);
  std::string* out_;
  std::vector<int16_t> last_id_;  // per open struct
};

class CompactDecoder {
 public:
  CompactDecoder(const uint8_t* data, size_t size, int64_t base_offset)
      : data_(data), size_(size), base_(base_offset) {}

  size_t position() const { return pos_; }
  int64_t file_offset() const { return base_ + static_cast<int64_t>(pos_); }

  // Struct traversal: BeginStruct(), then ReadFieldHeader() until it yields kStop, then
  // EndStruct(). Bool fields carry their value in the header type (kBoolTrue / kBoolFalse).
  Status BeginStruct();
  void EndStruct();
  Status ReadFieldHeader(CType* type, int16_t* id);

  Status ReadBool(CType header_type, bool* v);  // for a bool field (value in the header)
  Status ReadByte(int8_t* v);
  Status ReadI16(int16_t* v);
  Status ReadI32(int32_t* v);
  Status ReadI64(int64_t* v);
  Status ReadDouble(double* v);
  Status ReadBinary(std::string* v);
  // Element type and count; the count is checked against the remaining bytes (at least one
  // byte per element, eight per double). Binary lengths are checked the same way.
  Status ReadListHeader(CType* elem, uint32_t* size);
  Status ReadListBool(bool* v);  // a bool list element (one byte)
  // Skips a value of `type` (nested structs, lists and maps included).
  Status Skip(CType type);

  // An error at the current position: "<what> at offset N".
  Status Error(std::string_view what) const;

 private:
  Status ReadVarint(uint64_t* v);
  Status SkipDepth(CType type, int depth);
  const uint8_t* data_;
  size_t size_;
  int64_t base_;
  size_t pos_ = 0;
  std::vector<int16_t> last_id_;
};

// Reads an i32 field value checking its type; a helper for the metadata parsers.
Status ExpectType(CompactDecoder& d, CType got, CType want, std::string_view field);

}  // namespace sluice::parquet::thrift
