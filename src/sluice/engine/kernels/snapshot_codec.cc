#include "sluice/engine/kernels/snapshot_codec.h"

#include <algorithm>

#include "sluice/base/hash.h"

namespace sluice::engine::kernels {
namespace {

constexpr size_t kMagicBytes = 4;
constexpr size_t kHeaderBytes = kMagicBytes + 1 + 8;  // magic, version, body length
constexpr size_t kChecksumBytes = 8;

}  // namespace

SnapshotWriter::SnapshotWriter(std::string& out, std::string_view magic, uint8_t version)
    : out_(out), start_(out.size()) {
  SLUICE_CHECK(magic.size() == kMagicBytes) << magic;
  out_.append(magic);
  PutU8(version);
  PutU64(0);  // body length, patched by Finish()
}

void SnapshotWriter::PutType(const DataType& t) {
  PutU8(static_cast<uint8_t>(t.id));
  PutU8(t.precision);
  PutU8(t.scale);
}

void SnapshotWriter::PutBytes(std::string_view s) {
  SLUICE_CHECK(s.size() <= UINT32_MAX) << "a snapshot string is limited to 4 GiB";
  PutU32(static_cast<uint32_t>(s.size()));
  out_.append(s);
}

void SnapshotWriter::PutColumn(const Column& col, size_t rows) {
  SLUICE_CHECK(rows <= col.size());
  const bool nulls = col.has_nulls();
  PutU8(nulls ? 1 : 0);
  if (nulls) {
    std::string bits((rows + 7) / 8, '\0');
    for (size_t i = 0; i < rows; ++i) {
      if (col.IsValid(i)) bits[i >> 3] = static_cast<char>(bits[i >> 3] | (1 << (i & 7)));
    }
    out_.append(bits);
  }
  if (!col.type().is_variable_width()) {
    PutRaw(col.data<uint8_t>(), rows * static_cast<size_t>(col.type().byte_width()));
    return;
  }
  const uint32_t* offsets = col.offsets();
  for (size_t i = 0; i < rows; ++i) PutU32(offsets[i + 1] - offsets[i]);
  PutRaw(col.chars(), offsets[rows]);
}

void SnapshotWriter::Finish() {
  const uint64_t body = out_.size() - start_ - kHeaderBytes;
  std::memcpy(out_.data() + start_ + kMagicBytes + 1, &body, 8);
  PutU64(Hash64(std::string_view(out_).substr(start_)));
}

Status SnapshotReader::Truncated(size_t need) const {
  return Error("truncated: needs {} more bytes at body offset {}, {} left", need, pos_, remaining());
}

Result<const char*> SnapshotReader::ReadRaw(size_t n) {
  if (n > remaining()) return Truncated(n);
  const char* p = body_.data() + pos_;
  pos_ += n;
  return p;
}

Result<uint8_t> SnapshotReader::ReadU8() {
  uint8_t v = 0;
  SLUICE_RETURN_IF_ERROR(ReadArray(&v, 1));
  return v;
}

Result<uint32_t> SnapshotReader::ReadU32() {
  uint32_t v = 0;
  SLUICE_RETURN_IF_ERROR(ReadArray(&v, 1));
  return v;
}

Result<uint64_t> SnapshotReader::ReadU64() {
  uint64_t v = 0;
  SLUICE_RETURN_IF_ERROR(ReadArray(&v, 1));
  return v;
}

Result<int64_t> SnapshotReader::ReadI64() {
  int64_t v = 0;
  SLUICE_RETURN_IF_ERROR(ReadArray(&v, 1));
  return v;
}

Result<DataType> SnapshotReader::ReadType() {
  uint8_t b[3] = {};
  SLUICE_RETURN_IF_ERROR(ReadArray(b, 3));
  if (b[0] > static_cast<uint8_t>(TypeId::kTimestamp)) return Error("unknown type id {}", b[0]);
  return DataType{static_cast<TypeId>(b[0]), b[1], b[2]};
}

Result<std::string_view> SnapshotReader::ReadBytes() {
  SLUICE_ASSIGN_OR_RETURN(uint32_t n, ReadU32());
  SLUICE_ASSIGN_OR_RETURN(const char* p, ReadRaw(n));
  return std::string_view(p, n);
}

Result<size_t> SnapshotReader::ReadCount(size_t min_item_bytes, std::string_view what) {
  SLUICE_ASSIGN_OR_RETURN(uint64_t n, ReadU64());
  if (n > remaining() / std::max<size_t>(min_item_bytes, 1)) {
    return Error("{} {} cannot fit in the {} bytes left", n, what, remaining());
  }
  return static_cast<size_t>(n);
}

Result<ColumnPtr> SnapshotReader::ReadColumn(const DataType& type, size_t rows) {
  SLUICE_ASSIGN_OR_RETURN(uint8_t nulls, ReadU8());
  if (nulls > 1) return Error("bad null flag {} in a {} column", nulls, type.ToString());
  const char* bits = nullptr;
  if (nulls) {
    SLUICE_ASSIGN_OR_RETURN(bits, ReadRaw((rows + 7) / 8));
  }
  auto is_null = [&](size_t i) { return bits && ((static_cast<uint8_t>(bits[i >> 3]) >> (i & 7)) & 1) == 0; };
  auto col = std::make_shared<Column>(type);
  if (!type.is_variable_width()) {
    const size_t width = static_cast<size_t>(type.byte_width());
    if (rows > remaining() / width) return Truncated(rows * width);
    SLUICE_ASSIGN_OR_RETURN(const char* values, ReadRaw(rows * width));
    col->Resize(rows);
    if (rows) std::memcpy(col->mutable_data<uint8_t>(), values, rows * width);
    for (size_t i = 0; i < rows; ++i) {
      if (is_null(i)) col->SetNull(i);
    }
    return col;
  }
  if (rows > remaining() / 4) return Truncated(rows * 4);
  SLUICE_ASSIGN_OR_RETURN(const char* lengths, ReadRaw(rows * 4));
  uint64_t total = 0;
  for (size_t i = 0; i < rows; ++i) {
    uint32_t len;
    std::memcpy(&len, lengths + i * 4, 4);
    if (len && is_null(i)) return Error("a NULL in a {} column has {} bytes", type.ToString(), len);
    total += len;
  }
  if (total > UINT32_MAX) return Error("a {} column holds {} bytes (limit 4 GiB)", type.ToString(), total);
  SLUICE_ASSIGN_OR_RETURN(const char* chars, ReadRaw(static_cast<size_t>(total)));
  col->Reserve(rows, static_cast<size_t>(total));
  size_t pos = 0;
  for (size_t i = 0; i < rows; ++i) {
    uint32_t len;
    std::memcpy(&len, lengths + i * 4, 4);
    if (is_null(i)) {
      col->AppendNull();
    } else {
      col->AppendString(std::string_view(chars + pos, len));
    }
    pos += len;
  }
  return col;
}

Status SnapshotReader::ExpectEnd() const {
  if (remaining() != 0) return Error("{} unexpected bytes after the state at body offset {}", remaining(), pos_);
  return Status::OK();
}

Result<SnapshotReader> OpenSnapshot(std::string_view in, std::string_view magic, uint8_t version,
                                    std::string_view what) {
  if (in.size() < kHeaderBytes + kChecksumBytes) {
    return Status::DataError("{}: truncated: {} bytes, a snapshot has at least {}", what, in.size(),
                             kHeaderBytes + kChecksumBytes);
  }
  if (in.substr(0, kMagicBytes) != magic) {
    return Status::DataError("{}: wrong magic bytes (not this kind of snapshot)", what);
  }
  const uint8_t v = static_cast<uint8_t>(in[kMagicBytes]);
  if (v != version) {
    return Status::DataError("{}: format version {} is not supported (this build reads version {})", what, v,
                             version);
  }
  uint64_t body;
  std::memcpy(&body, in.data() + kMagicBytes + 1, 8);
  const uint64_t have = in.size() - kHeaderBytes - kChecksumBytes;
  if (body != have) {
    return Status::DataError("{}: {}: the header announces a {}-byte body, the buffer holds {}", what,
                             body > have ? "truncated" : "trailing bytes", body, have);
  }
  uint64_t checksum;
  std::memcpy(&checksum, in.data() + in.size() - kChecksumBytes, 8);
  if (checksum != Hash64(in.substr(0, in.size() - kChecksumBytes))) {
    return Status::DataError("{}: checksum mismatch (the snapshot is corrupt)", what);
  }
  return SnapshotReader(in.substr(kHeaderBytes, static_cast<size_t>(body)), std::string(what));
}

}  // namespace sluice::engine::kernels
