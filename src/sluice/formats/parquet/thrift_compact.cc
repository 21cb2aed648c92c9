#include "sluice/formats/parquet/thrift_compact.h"

#include <cstring>

namespace sluice::parquet::thrift {

namespace {
constexpr int kMaxDepth = 64;
constexpr size_t kMaxStructDepth = 64;
}  // namespace

// ----------------------------------------------------------------------------- encoder

void CompactEncoder::BeginStruct() { last_id_.push_back(0); }

void CompactEncoder::EndStruct() {
  out_->push_back(0);
  last_id_.pop_back();
}

void CompactEncoder::FieldHeader(int16_t id, CType type) {
  int16_t& last = last_id_.back();
  int delta = id - last;
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<uint8_t>(type)));
  } else {
    out_->push_back(static_cast<char>(type));
    AppendVarint(*out_, ZigZag(id));
  }
  last = id;
}

void CompactEncoder::FieldBool(int16_t id, bool v) { FieldHeader(id, v ? CType::kBoolTrue : CType::kBoolFalse); }

void CompactEncoder::FieldI8(int16_t id, int8_t v) {
  FieldHeader(id, CType::kByte);
  out_->push_back(static_cast<char>(v));
}

void CompactEncoder::FieldI16(int16_t id, int16_t v) {
  FieldHeader(id, CType::kI16);
  AppendVarint(*out_, ZigZag(v));
}

void CompactEncoder::FieldI32(int16_t id, int32_t v) {
  FieldHeader(id, CType::kI32);
  AppendVarint(*out_, ZigZag(v));
}

void CompactEncoder::FieldI64(int16_t id, int64_t v) {
  FieldHeader(id, CType::kI64);
  AppendVarint(*out_, ZigZag(v));
}

void CompactEncoder::FieldDouble(int16_t id, double v) {
  FieldHeader(id, CType::kDouble);
  char b[8];
  std::memcpy(b, &v, 8);
  out_->append(b, 8);
}

void CompactEncoder::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, CType::kBinary);
  ElemBinary(v);
}

void CompactEncoder::ElemBinary(std::string_view v) {
  AppendVarint(*out_, v.size());
  out_->append(v.data(), v.size());
}

void CompactEncoder::FieldStructBegin(int16_t id) {
  FieldHeader(id, CType::kStruct);
  BeginStruct();
}

void CompactEncoder::FieldListBegin(int16_t id, CType elem, size_t size) {
  FieldHeader(id, CType::kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint8_t>(elem)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<uint8_t>(elem)));
    AppendVarint(*out_, size);
  }
}

// ----------------------------------------------------------------------------- decoder

Status CompactDecoder::Error(std::string_view what) const {
  return Status::DataError("{} at offset {}", what, file_offset());
}

Status CompactDecoder::ReadVarint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos_ >= size_) return Error("truncated varint");
    uint8_t b = data_[pos_++];
    if (shift == 63 && (b & 0x7e)) return Error("varint overflows 64 bits");
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = result;
      return Status::OK();
    }
  }
  return Error("varint longer than 10 bytes");
}

Status CompactDecoder::BeginStruct() {
  if (last_id_.size() >= kMaxStructDepth) return Error("structs nested too deeply");
  last_id_.push_back(0);
  return Status::OK();
}

void CompactDecoder::EndStruct() {
  if (!last_id_.empty()) last_id_.pop_back();
}

Status CompactDecoder::ReadFieldHeader(CType* type, int16_t* id) {
  if (pos_ >= size_) return Error("truncated struct (no stop byte)");
  uint8_t b = data_[pos_++];
  uint8_t t = b & 0x0f;
  if (t == 0) {
    *type = CType::kStop;
    *id = 0;
    return Status::OK();
  }
  if (t > static_cast<uint8_t>(CType::kStruct)) return Error(fmt::format("unknown field type {}", t));
  *type = static_cast<CType>(t);
  int delta = b >> 4;
  int16_t& last = last_id_.empty() ? (last_id_.push_back(0), last_id_.back()) : last_id_.back();
  if (delta != 0) {
    *id = static_cast<int16_t>(last + delta);
  } else {
    int16_t v;
    SLUICE_RETURN_IF_ERROR(ReadI16(&v));
    *id = v;
  }
  last = *id;
  return Status::OK();
}

Status CompactDecoder::ReadBool(CType header_type, bool* v) {
  if (header_type == CType::kBoolTrue) {
    *v = true;
  } else if (header_type == CType::kBoolFalse) {
    *v = false;
  } else {
    return Error("expected a bool field");
  }
  return Status::OK();
}

Status CompactDecoder::ReadListBool(bool* v) {
  if (pos_ >= size_) return Error("truncated bool");
  uint8_t b = data_[pos_++];
  *v = b == 1;
  return Status::OK();
}

Status CompactDecoder::ReadByte(int8_t* v) {
  if (pos_ >= size_) return Error("truncated byte");
  *v = static_cast<int8_t>(data_[pos_++]);
  return Status::OK();
}

Status CompactDecoder::ReadI16(int16_t* v) {
  uint64_t u;
  SLUICE_RETURN_IF_ERROR(ReadVarint(&u));
  int64_t s = UnZigZag(u);
  if (s < INT16_MIN || s > INT16_MAX) return Error("i16 out of range");
  *v = static_cast<int16_t>(s);
  return Status::OK();
}

Status CompactDecoder::ReadI32(int32_t* v) {
  uint64_t u;
  SLUICE_RETURN_IF_ERROR(ReadVarint(&u));
  int64_t s = UnZigZag(u);
  if (s < INT32_MIN || s > INT32_MAX) return Error("i32 out of range");
  *v = static_cast<int32_t>(s);
  return Status::OK();
}

Status CompactDecoder::ReadI64(int64_t* v) {
  uint64_t u;
  SLUICE_RETURN_IF_ERROR(ReadVarint(&u));
  *v = UnZigZag(u);
  return Status::OK();
}

Status CompactDecoder::ReadDouble(double* v) {
  if (size_ - pos_ < 8) return Error("truncated double");
  std::memcpy(v, data_ + pos_, 8);
  pos_ += 8;
  return Status::OK();
}

Status CompactDecoder::ReadBinary(std::string* v) {
  uint64_t len;
  SLUICE_RETURN_IF_ERROR(ReadVarint(&len));
  if (len > size_ - pos_) return Error(fmt::format("binary length {} exceeds the remaining {} bytes", len, size_ - pos_));
  v->assign(reinterpret_cast<const char*>(data_ + pos_), len);
  pos_ += len;
  return Status::OK();
}

Status CompactDecoder::ReadListHeader(CType* elem, uint32_t* size) {
  if (pos_ >= size_) return Error("truncated list header");
  uint8_t b = data_[pos_++];
  uint8_t t = b & 0x0f;
  if (t == 0 || t > static_cast<uint8_t>(CType::kStruct)) return Error(fmt::format("unknown list element type {}", t));
  *elem = static_cast<CType>(t);
  uint64_t n = b >> 4;
  if (n == 15) SLUICE_RETURN_IF_ERROR(ReadVarint(&n));
  // Every element takes at least one byte (a double eight), so the count is checked against
  // the bytes left before anyone sizes anything by it.
  const uint64_t min_bytes = *elem == CType::kDouble ? 8 : 1;
  if (n > (size_ - pos_) / min_bytes) {
    return Error(fmt::format("list of {} elements exceeds the remaining {} bytes", n, size_ - pos_));
  }
  *size = static_cast<uint32_t>(n);
  return Status::OK();
}

Status CompactDecoder::Skip(CType type) { return SkipDepth(type, 0); }

Status CompactDecoder::SkipDepth(CType type, int depth) {
  if (depth > kMaxDepth) return Error("values nested too deeply");
  switch (type) {
    case CType::kBoolTrue:
    case CType::kBoolFalse:
      return Status::OK();  // a bool field's value is in its header
    case CType::kByte: {
      int8_t v;
      return ReadByte(&v);
    }
    case CType::kI16:
    case CType::kI32:
    case CType::kI64: {
      uint64_t v;
      return ReadVarint(&v);
    }
    case CType::kDouble: {
      double v;
      return ReadDouble(&v);
    }
    case CType::kBinary: {
      uint64_t len;
      SLUICE_RETURN_IF_ERROR(ReadVarint(&len));
      if (len > size_ - pos_) return Error("truncated binary");
      pos_ += len;
      return Status::OK();
    }
    case CType::kList:
    case CType::kSet: {
      CType elem;
      uint32_t n;
      SLUICE_RETURN_IF_ERROR(ReadListHeader(&elem, &n));
      for (uint32_t i = 0; i < n; ++i) {
        if (elem == CType::kBoolTrue || elem == CType::kBoolFalse) {
          bool b;
          SLUICE_RETURN_IF_ERROR(ReadListBool(&b));
        } else {
          SLUICE_RETURN_IF_ERROR(SkipDepth(elem, depth + 1));
        }
      }
      return Status::OK();
    }
    case CType::kMap: {
      uint64_t n;
      SLUICE_RETURN_IF_ERROR(ReadVarint(&n));
      if (n == 0) return Status::OK();
      if (n > size_ - pos_) return Error("map size exceeds the remaining bytes");
      if (pos_ >= size_) return Error("truncated map header");
      uint8_t kv = data_[pos_++];
      CType k = static_cast<CType>(kv >> 4), v = static_cast<CType>(kv & 0x0f);
      if ((kv >> 4) > 12 || (kv & 0x0f) > 12 || (kv >> 4) == 0 || (kv & 0x0f) == 0) return Error("bad map types");
      for (uint64_t i = 0; i < n; ++i) {
        for (CType t : {k, v}) {
          if (t == CType::kBoolTrue || t == CType::kBoolFalse) {
            bool b;
            SLUICE_RETURN_IF_ERROR(ReadListBool(&b));
          } else {
            SLUICE_RETURN_IF_ERROR(SkipDepth(t, depth + 1));
          }
        }
      }
      return Status::OK();
    }
    case CType::kStruct: {
      SLUICE_RETURN_IF_ERROR(BeginStruct());
      while (true) {
        CType t;
        int16_t id;
        SLUICE_RETURN_IF_ERROR(ReadFieldHeader(&t, &id));
        if (t == CType::kStop) break;
        SLUICE_RETURN_IF_ERROR(SkipDepth(t, depth + 1));
      }
      EndStruct();
      return Status::OK();
    }
    case CType::kStop:
      break;
  }
  return Error("cannot skip a value of unknown type");
}

Status ExpectType(CompactDecoder& d, CType got, CType want, std::string_view field) {
  bool ok = got == want || (want == CType::kBoolTrue && got == CType::kBoolFalse);
  if (!ok) {
    return d.Error(fmt::format("field {} has type {}, expected {}", field, static_cast<int>(got), static_cast<int>(want)));
  }
  return Status::OK();
}

}  // namespace sluice::parquet::thrift
