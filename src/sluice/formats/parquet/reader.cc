// The Parquet reader: footer and schema checks, statistics, and column chunks decoded page by
// page into Sluice columns. Every read is bounds-checked; every error names the file and the
// byte offset where the problem is.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "sluice/base/strings.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/formats/parquet/parquet_internal.h"
#include "sluice/types/temporal.h"

namespace sluice::parquet {
namespace internal {

using format::LogicalType;

namespace {

std::string DescribeType(const format::SchemaElement& e) {
  std::string s = e.type ? format::TypeName(*e.type) : "GROUP";
  switch (e.logical_type.kind) {
    case LogicalType::Kind::kNone: break;
    case LogicalType::Kind::kDecimal:
      s += fmt::format(" DECIMAL({},{})", e.logical_type.precision, e.logical_type.scale);
      break;
    case LogicalType::Kind::kTime: s += " TIME"; break;
    case LogicalType::Kind::kUuid: s += " UUID"; break;
    case LogicalType::Kind::kFloat16: s += " FLOAT16"; break;
    case LogicalType::Kind::kInteger:
      s += fmt::format(" INTEGER({},{})", e.logical_type.bit_width, e.logical_type.is_signed ? "signed" : "unsigned");
      break;
    default: s += fmt::format(" (logical type {})", static_cast<int>(e.logical_type.kind)); break;
  }
  if (e.logical_type.kind == LogicalType::Kind::kNone && e.converted_type) {
    s += fmt::format(" (converted type {})", static_cast<int>(*e.converted_type));
  }
  return s;
}

}  // namespace

Result<LeafInfo> ResolveLeaf(const format::SchemaElement& e, std::string_view column) {
  using CT = format::ConvertedType;
  using K = LogicalType::Kind;
  auto unsupported = [&](std::string_view why = "") -> Status {
    return Status::InvalidArgument("column '{}': Parquet type {} is not supported{}", column, DescribeType(e), why);
  };
  if (!e.type) return unsupported();
  LeafInfo li;
  li.physical = *e.type;
  li.type_length = e.type_length.value_or(0);
  const LogicalType& lt = e.logical_type;
  std::optional<CT> ct = e.converted_type;
  bool is_decimal = lt.kind == K::kDecimal || ct == CT::DECIMAL;
  int precision = lt.kind == K::kDecimal ? lt.precision : e.precision.value_or(0);
  int scale = lt.kind == K::kDecimal ? lt.scale : e.scale.value_or(0);
  if (is_decimal) {
    if (precision < 1 || precision > kMaxDecimalPrecision || scale < 0 || scale > precision) {
      return unsupported(fmt::format(" (decimal precision {} scale {}; at most {} digits)", precision, scale,
                                     kMaxDecimalPrecision));
    }
    li.type = DataType::Decimal(precision, scale);
  }
  bool is_time = lt.kind == K::kTime || ct == CT::TIME_MILLIS || ct == CT::TIME_MICROS;
  bool is_interval = ct == CT::INTERVAL;
  if (is_time || is_interval || lt.kind == K::kUuid || lt.kind == K::kFloat16 || lt.kind == K::kOther) {
    return unsupported();
  }
  switch (li.physical) {
    case format::Type::BOOLEAN:
      li.type = DataType::Bool();
      li.conversion = Conversion::kBool;
      return li;
    case format::Type::INT32: {
      if (is_decimal) {
        li.conversion = Conversion::kInt32ToInt64;
        return li;
      }
      if (lt.kind == K::kDate || ct == CT::DATE) {
        li.type = DataType::Date();
        li.conversion = Conversion::kInt32;
        return li;
      }
      bool unsigned32 = (lt.kind == K::kInteger && !lt.is_signed && lt.bit_width == 32) || ct == CT::UINT_32;
      if (unsigned32) {
        li.type = DataType::Int64();
        li.conversion = Conversion::kUInt32ToInt64;
        return li;
      }
      if (lt.kind == K::kInteger && lt.bit_width == 64) return unsupported();
      li.type = DataType::Int32();
      li.conversion = Conversion::kInt32;
      return li;
    }
    case format::Type::INT64: {
      if (is_decimal) {
        li.conversion = Conversion::kInt64;
        return li;
      }
      if (lt.kind == K::kTimestamp) {
        li.type = DataType::Timestamp();
        li.conversion = lt.unit == format::TimeUnit::kMillis  ? Conversion::kMillisToMicros
                        : lt.unit == format::TimeUnit::kNanos ? Conversion::kNanosToMicros
                                                              : Conversion::kInt64;
        return li;
      }
      if (ct == CT::TIMESTAMP_MILLIS || ct == CT::TIMESTAMP_MICROS) {
        li.type = DataType::Timestamp();
        li.conversion = ct == CT::TIMESTAMP_MILLIS ? Conversion::kMillisToMicros : Conversion::kInt64;
        return li;
      }
      li.type = DataType::Int64();
      bool unsigned64 = (lt.kind == K::kInteger && !lt.is_signed) || ct == CT::UINT_64;
      li.conversion = unsigned64 ? Conversion::kUInt64 : Conversion::kInt64;
      return li;
    }
    case format::Type::INT96:
      li.type = DataType::Timestamp();
      li.conversion = Conversion::kInt96ToMicros;
      return li;
    case format::Type::FLOAT:
      li.type = DataType::Float64();
      li.conversion = Conversion::kFloatToDouble;
      return li;
    case format::Type::DOUBLE:
      li.type = DataType::Float64();
      li.conversion = Conversion::kDouble;
      return li;
    case format::Type::BYTE_ARRAY:
    case format::Type::FIXED_LEN_BYTE_ARRAY: {
      if (li.physical == format::Type::FIXED_LEN_BYTE_ARRAY && li.type_length <= 0) {
        return unsupported(" (no type length)");
      }
      if (is_decimal) {
        li.conversion = Conversion::kBytesDecimal;
        return li;
      }
      bool text = lt.kind == K::kString || lt.kind == K::kEnum || lt.kind == K::kJson || ct == CT::UTF8 ||
                  ct == CT::ENUM || ct == CT::JSON;
      if (text && li.physical == format::Type::BYTE_ARRAY) {
        li.type = DataType::String();
        li.conversion = Conversion::kString;
      } else {
        li.type = DataType::Binary();
        li.conversion = Conversion::kBinary;
      }
      return li;
    }
  }
  return unsupported();
}

// ----------------------------------------------------------------------------- sources

namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(std::string path, int fd, int64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  int64_t size() const override { return size_; }
  Status ReadAt(int64_t offset, size_t n, uint8_t* out) const override {
    if (offset < 0 || static_cast<uint64_t>(offset) + n > static_cast<uint64_t>(size_)) {
      return Status::DataError("{}: read of {} bytes at offset {} exceeds the file size {}", path_, n, offset, size_);
    }
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, offset + static_cast<int64_t>(done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IoError("{}: read failed at offset {}: {}", path_, offset + done, std::strerror(errno));
      }
      if (r == 0) return Status::IoError("{}: file shrank while reading at offset {}", path_, offset + done);
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  int64_t size_;
};

class BufferSource final : public ByteSource {
 public:
  BufferSource(std::string data, std::string name) : data_(std::move(data)), name_(std::move(name)) {}
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }
  Status ReadAt(int64_t offset, size_t n, uint8_t* out) const override {
    if (offset < 0 || static_cast<uint64_t>(offset) + n > data_.size()) {
      return Status::DataError("{}: read of {} bytes at offset {} exceeds the size {}", name_, n, offset, data_.size());
    }
    if (n) std::memcpy(out, data_.data() + offset, n);
    return Status::OK();
  }

 private:
  std::string data_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("{}: no such file", path);
    return Status::IoError("{}: cannot open: {}", path, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError("{}: cannot stat: {}", path, std::strerror(e));
  }
  return std::unique_ptr<ByteSource>(new FileSource(path, fd, st.st_size));
}

std::unique_ptr<ByteSource> MakeBufferSource(std::string data, std::string name) {
  return std::make_unique<BufferSource>(std::move(data), std::move(name));
}

Result<FileFooter> ReadFooter(const std::string& name, const ByteSource& source) {
  FileFooter f;
  f.name = name;
  f.file_size = source.size();
  int64_t size = f.file_size;
  uint8_t head[4];
  if (size < 4) return Status::DataError("{}: bad magic at offset 0 (file of {} bytes)", name, size);
  SLUICE_RETURN_IF_ERROR(source.ReadAt(0, 4, head));
  if (std::memcmp(head, format::kMagic, 4) != 0) return Status::DataError("{}: bad magic at offset 0", name);
  if (size < 12) return Status::DataError("{}: truncated file: {} bytes end before the footer at offset {}", name, size, size);
  uint8_t tail[8];
  SLUICE_RETURN_IF_ERROR(source.ReadAt(size - 8, 8, tail));
  if (std::memcmp(tail + 4, format::kMagic, 4) != 0) {
    return Status::DataError("{}: bad magic at offset {} (truncated or not a Parquet file)", name, size - 4);
  }
  uint32_t len;
  std::memcpy(&len, tail, 4);
  if (static_cast<int64_t>(len) > size - 12) {
    return Status::DataError("{}: footer length {} at offset {} exceeds the file size {}", name, len, size - 8, size);
  }
  std::vector<uint8_t> buf(len);
  int64_t footer_offset = size - 8 - len;
  SLUICE_RETURN_IF_ERROR(source.ReadAt(footer_offset, len, buf.data()));
  auto meta = format::ParseFileMetaData(buf.data(), buf.size(), footer_offset);
  if (!meta.ok()) return Status::DataError("{}: corrupt footer: {}", name, meta.status().message());
  f.meta = std::move(meta).value();
  return f;
}

// ----------------------------------------------------------------------------- conversions

namespace {

// Big-endian two's complement of `len` bytes -> int64; false if it does not fit.
bool BigEndianToInt64(const uint8_t* p, size_t len, int64_t* out) {
  if (len == 0) {
    *out = 0;
    return true;
  }
  bool neg = p[0] & 0x80;
  size_t skip = 0;
  if (len > 8) {
    skip = len - 8;
    for (size_t i = 0; i < skip; ++i) {
      if (p[i] != (neg ? 0xff : 0x00)) return false;
    }
    if (((p[skip] & 0x80) != 0) != neg) return false;
  }
  uint64_t v = neg ? ~uint64_t{0} : 0;
  for (size_t i = skip; i < len; ++i) v = (v << 8) | p[i];
  *out = static_cast<int64_t>(v);
  return true;
}

int PhysicalWidth(const LeafInfo& leaf) {
  switch (leaf.physical) {
    case format::Type::INT32:
    case format::Type::FLOAT: return 4;
    case format::Type::INT64:
    case format::Type::DOUBLE: return 8;
    case format::Type::INT96: return 12;
    case format::Type::FIXED_LEN_BYTE_ARRAY: return leaf.type_length;
    default: return 0;
  }
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Converts `count` PLAIN fixed-width physical values into Sluice storage (appended to out).
Status ConvertFixed(const LeafInfo& leaf, const uint8_t* raw, size_t count, Values* out) {
  if (count == 0) return Status::OK();
  int pw = PhysicalWidth(leaf);
  if (leaf.conversion == Conversion::kBinary) {
    for (size_t i = 0; i < count; ++i) {
      out->arrays.bytes.append(reinterpret_cast<const char*>(raw + i * pw), pw);
      out->arrays.offsets.push_back(static_cast<uint32_t>(out->arrays.bytes.size()));
    }
    return Status::OK();
  }
  size_t old = out->fixed.size();
  out->fixed.resize(old + count * out->width);
  uint8_t* dst = out->fixed.data() + old;
  switch (leaf.conversion) {
    case Conversion::kInt32:
    case Conversion::kInt64:
    case Conversion::kDouble:
      std::memcpy(dst, raw, count * pw);
      return Status::OK();
    case Conversion::kUInt32ToInt64:
      for (size_t i = 0; i < count; ++i) {
        int64_t v = Load<uint32_t>(raw + 4 * i);
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kInt32ToInt64:
      for (size_t i = 0; i < count; ++i) {
        int64_t v = Load<int32_t>(raw + 4 * i);
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kUInt64:
      for (size_t i = 0; i < count; ++i) {
        int64_t v = Load<int64_t>(raw + 8 * i);
        if (v < 0) return Status::DataError("unsigned value {} exceeds int64", static_cast<uint64_t>(v));
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kMillisToMicros:
      for (size_t i = 0; i < count; ++i) {
        int64_t v;
        if (__builtin_mul_overflow(Load<int64_t>(raw + 8 * i), int64_t{1000}, &v)) {
          return Status::DataError("timestamp in milliseconds out of range");
        }
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kNanosToMicros:
      for (size_t i = 0; i < count; ++i) {
        int64_t n = Load<int64_t>(raw + 8 * i);
        int64_t v = n / 1000 - (n % 1000 < 0 ? 1 : 0);
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kInt96ToMicros:
      for (size_t i = 0; i < count; ++i) {
        int64_t nanos = Load<int64_t>(raw + 12 * i);
        int64_t julian = Load<int32_t>(raw + 12 * i + 8);
        int64_t v = (julian - 2440588) * kMicrosPerDay + nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0);
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kFloatToDouble:
      for (size_t i = 0; i < count; ++i) {
        double v = Load<float>(raw + 4 * i);
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kBytesDecimal:
      for (size_t i = 0; i < count; ++i) {
        int64_t v;
        if (!BigEndianToInt64(raw + static_cast<size_t>(pw) * i, pw, &v)) {
          return Status::DataError("decimal value exceeds 18 digits");
        }
        std::memcpy(dst + 8 * i, &v, 8);
      }
      return Status::OK();
    case Conversion::kBool:
      for (size_t i = 0; i < count; ++i) dst[i] = raw[i] != 0;
      return Status::OK();
    default:
      return Status::Internal("bad fixed conversion");
  }
}

// Checks byte arrays [from, a.size()) of `a` as values of `leaf`: strings must be valid UTF-8.
Status CheckArrays(const LeafInfo& leaf, const encoding::ByteArrays& a, size_t from) {
  if (leaf.conversion == Conversion::kBinary) return Status::OK();
  if (leaf.conversion != Conversion::kString) return Status::Internal("bad byte array conversion");
  const size_t n = a.size();
  if (from >= n) return Status::OK();
  const uint32_t begin = a.offsets[from];
  // Whole-range check first (fast); a value boundary inside a code point cannot make an
  // invalid value valid, but could hide one, so fall back to per value on failure only.
  if (!IsValidUtf8(std::string_view(a.bytes.data() + begin, a.offsets[n] - begin))) {
    for (size_t i = from; i < n; ++i) {
      std::string_view v(a.bytes.data() + a.offsets[i], a.offsets[i + 1] - a.offsets[i]);
      if (!IsValidUtf8(v)) return Status::DataError("invalid UTF-8 in string value {}", i - from);
    }
  } else {
    for (size_t i = from; i < n; ++i) {
      // A value may not start with a continuation byte (that would split a code point).
      uint32_t b = a.offsets[i];
      if (b < a.offsets[i + 1] && (static_cast<uint8_t>(a.bytes[b]) & 0xc0) == 0x80) {
        return Status::DataError("invalid UTF-8 in string value {}", i - from);
      }
    }
  }
  return Status::OK();
}

// Big-endian decimals held as byte arrays -> int64 storage (appended to out).
Status AppendBytesDecimals(const encoding::ByteArrays& a, Values* out) {
  const size_t n = a.size();
  const size_t old = out->fixed.size();
  out->fixed.resize(old + n * 8);
  for (size_t i = 0; i < n; ++i) {
    int64_t v;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(a.bytes.data()) + a.offsets[i];
    if (!BigEndianToInt64(p, a.offsets[i + 1] - a.offsets[i], &v)) {
      return Status::DataError("decimal value exceeds 18 digits");
    }
    std::memcpy(out->fixed.data() + old + 8 * i, &v, 8);
  }
  return Status::OK();
}

// Byte arrays appended by `decode(ByteArrays*)`, converted into Sluice storage (appended to out):
// strings and binaries are decoded in place and checked, decimals go through `scratch`.
template <typename Decode>
Status AppendArrays(const LeafInfo& leaf, Values* out, encoding::ByteArrays* scratch, Decode&& decode) {
  if (leaf.conversion == Conversion::kBytesDecimal) {
    scratch->clear();
    SLUICE_RETURN_IF_ERROR(decode(scratch));
    return AppendBytesDecimals(*scratch, out);
  }
  const size_t from = out->arrays.size();
  SLUICE_RETURN_IF_ERROR(decode(&out->arrays));
  return CheckArrays(leaf, out->arrays, from);
}

Status DecodePlain(const LeafInfo& leaf, const uint8_t* p, size_t n, size_t count, Values* out) {
  if (leaf.physical == format::Type::BOOLEAN) {
    if (n < (count + 7) / 8) return Status::DataError("PLAIN booleans end early ({} values, {} bytes)", count, n);
    size_t old = out->fixed.size();
    out->fixed.resize(old + count);
    for (size_t i = 0; i < count; ++i) out->fixed[old + i] = (p[i >> 3] >> (i & 7)) & 1;
    return Status::OK();
  }
  if (leaf.physical == format::Type::BYTE_ARRAY) {
    encoding::ByteArrays scratch;
    return AppendArrays(leaf, out, &scratch, [&](encoding::ByteArrays* a) {
      size_t used;
      return encoding::DecodePlainByteArray(p, n, count, a, &used);
    });
  }
  size_t w = static_cast<size_t>(PhysicalWidth(leaf));
  if (count > n / w) return Status::DataError("PLAIN values end early ({} values of {} bytes, {} bytes)", count, w, n);
  return ConvertFixed(leaf, p, count, out);
}

}  // namespace

Status DecodePlainValues(const LeafInfo& leaf, const uint8_t* p, size_t n, size_t count, Values* out) {
  out->clear();
  out->width = StorageWidth(leaf.type);
  return DecodePlain(leaf, p, n, count, out);
}

uint64_t MinPlainBits(const LeafInfo& leaf) {
  switch (leaf.physical) {
    case format::Type::BOOLEAN: return 1;
    case format::Type::BYTE_ARRAY: return 32;
    default: return 8 * static_cast<uint64_t>(std::max(PhysicalWidth(leaf), 1));
  }
}

Value ValueAt(const Values& v, size_t i, DataType type) {
  if (!v.width) {
    std::string s(v.arrays.bytes.data() + v.arrays.offsets[i], v.arrays.offsets[i + 1] - v.arrays.offsets[i]);
    return type.id == TypeId::kString ? Value::String(std::move(s)) : Value::Binary(std::move(s));
  }
  const uint8_t* p = v.fixed.data() + i * v.width;
  switch (type.id) {
    case TypeId::kBool: return Value::Bool(p[0] != 0);
    case TypeId::kInt32: return Value::Int32(Load<int32_t>(p));
    case TypeId::kDate: return Value::Date(Load<int32_t>(p));
    case TypeId::kInt64: return Value::Int64(Load<int64_t>(p));
    case TypeId::kTimestamp: return Value::Timestamp(Load<int64_t>(p));
    case TypeId::kDecimal: return Value::Decimal(Load<int64_t>(p), type.precision, type.scale);
    case TypeId::kFloat64: return Value::Float64(Load<double>(p));
    default: return Value::Null(type);
  }
}

// ----------------------------------------------------------------------------- PageValueDecoder

Status PageValueDecoder::Reset(const LeafInfo& leaf, format::Encoding enc, const uint8_t* p, size_t n,
                               size_t max_values, bool exact, const Values* dictionary) {
  using E = format::Encoding;
  leaf_ = &leaf;
  enc_ = enc;
  p_ = p;
  n_ = n;
  pos_ = 0;
  dictionary_ = dictionary;
  rle_missing_ = false;
  uint64_t min_bits = 0;  // per value, when the data has a fixed minimum size
  switch (enc) {
    case E::PLAIN: min_bits = MinPlainBits(leaf); break;
    case E::PLAIN_DICTIONARY:
    case E::RLE_DICTIONARY: {
      if (!dictionary) return Status::DataError("dictionary-encoded page without a dictionary page");
      if (n < 1) {
        rle_missing_ = true;  // fine for a page without values
        break;
      }
      int width = p[0];
      if (width > 32) return Status::DataError("dictionary index bit width {} out of range", width);
      rle_.Reset(p + 1, n - 1, width);
      break;
    }
    case E::RLE: {
      if (leaf.physical != format::Type::BOOLEAN) return Status::DataError("RLE encoding on a non-boolean column");
      if (n < 4) return Status::DataError("RLE booleans: length missing");
      uint32_t len;
      std::memcpy(&len, p, 4);
      if (len > n - 4) return Status::DataError("RLE booleans: length {} exceeds the page", len);
      rle_.Reset(p + 4, len, 1);
      break;
    }
    case E::DELTA_BINARY_PACKED:
      if (leaf.physical == format::Type::INT32) return delta32_.Init(p, n, max_values);
      if (leaf.physical == format::Type::INT64) return delta64_.Init(p, n, max_values);
      return Status::DataError("DELTA_BINARY_PACKED on a {} column", format::TypeName(leaf.physical));
    case E::DELTA_LENGTH_BYTE_ARRAY:
      if (leaf.physical != format::Type::BYTE_ARRAY) {
        return Status::DataError("DELTA_LENGTH_BYTE_ARRAY on a non-byte-array column");
      }
      return delta_length_.Init(p, n, max_values);
    case E::DELTA_BYTE_ARRAY:
      if (leaf.physical != format::Type::BYTE_ARRAY && leaf.physical != format::Type::FIXED_LEN_BYTE_ARRAY) {
        return Status::DataError("DELTA_BYTE_ARRAY on a {} column", format::TypeName(leaf.physical));
      }
      return delta_bytes_.Init(p, n, max_values);
    case E::BYTE_STREAM_SPLIT: {
      int w = PhysicalWidth(leaf);
      if (w == 0 || leaf.physical == format::Type::INT96) {
        return Status::DataError("BYTE_STREAM_SPLIT on a {} column", format::TypeName(leaf.physical));
      }
      min_bits = 8 * static_cast<uint64_t>(w);
      break;
    }
    default: return Status::DataError("encoding {} is not supported", static_cast<int>(enc));
  }
  if (exact && min_bits > 0 && max_values > static_cast<uint64_t>(n) * 8 / min_bits) {
    return Status::DataError("page holds {} values but its {} bytes of {} data hold at most {}", max_values, n,
                             format::EncodingName(enc), static_cast<uint64_t>(n) * 8 / min_bits);
  }
  return Status::OK();
}

Status PageValueDecoder::NextPlain(size_t m, Values* out) {
  const LeafInfo& leaf = *leaf_;
  if (leaf.physical == format::Type::BOOLEAN) {  // pos_ counts bits
    if (m > n_ * 8 - pos_) {
      return Status::DataError("PLAIN booleans end early ({} bits left for {} values)", n_ * 8 - pos_, m);
    }
    size_t old = out->fixed.size();
    out->fixed.resize(old + m);
    uint8_t* dst = out->fixed.data() + old;
    for (size_t i = 0; i < m; ++i) {
      size_t bit = pos_ + i;
      dst[i] = (p_[bit >> 3] >> (bit & 7)) & 1;
    }
    pos_ += m;
    return Status::OK();
  }
  if (leaf.physical == format::Type::BYTE_ARRAY) {
    return AppendArrays(leaf, out, &arrays_, [&](encoding::ByteArrays* a) {
      size_t used = 0;
      SLUICE_RETURN_IF_ERROR(encoding::DecodePlainByteArray(p_ + pos_, n_ - pos_, m, a, &used));
      pos_ += used;
      return Status::OK();
    });
  }
  size_t w = static_cast<size_t>(PhysicalWidth(leaf));
  if (m > (n_ - pos_) / w) {
    return Status::DataError("PLAIN values end early ({} values of {} bytes, {} bytes left)", m, w, n_ - pos_);
  }
  SLUICE_RETURN_IF_ERROR(ConvertFixed(leaf, p_ + pos_, m, out));
  pos_ += m * w;
  return Status::OK();
}

Status PageValueDecoder::NextDictionary(size_t m, Values* out) {
  if (m == 0) return Status::OK();
  if (rle_missing_) return Status::DataError("dictionary indices missing");
  indices_.resize(m);
  SLUICE_RETURN_IF_ERROR(rle_.Get(indices_.data(), m));
  const Values& dict = *dictionary_;
  const size_t dict_size = dict.size();
  if (out->width) {
    const size_t w = static_cast<size_t>(out->width);
    const size_t old = out->fixed.size();
    out->fixed.resize(old + m * w);
    const uint8_t* src = dict.fixed.data();
    uint8_t* dst = out->fixed.data() + old;
    for (size_t i = 0; i < m; ++i) {
      uint32_t idx = indices_[i];
      if (idx >= dict_size) return Status::DataError("dictionary index {} out of range ({} entries)", idx, dict_size);
      std::memcpy(dst + i * w, src + static_cast<size_t>(idx) * w, w);
    }
    return Status::OK();
  }
  const auto& d = dict.arrays;
  uint64_t bytes = 0;
  for (size_t i = 0; i < m; ++i) {
    uint32_t idx = indices_[i];
    if (idx >= dict_size) return Status::DataError("dictionary index {} out of range ({} entries)", idx, dict_size);
    bytes += d.offsets[idx + 1] - d.offsets[idx];
  }
  auto& a = out->arrays;
  const size_t base = a.bytes.size();
  if (base + bytes > UINT32_MAX) return Status::DataError("byte arrays exceed 4 GiB");
  const size_t first = a.size();
  a.bytes.resize(base + bytes);
  a.offsets.resize(first + 1 + m);
  char* dst = a.bytes.data();
  uint32_t pos = static_cast<uint32_t>(base);
  for (size_t i = 0; i < m; ++i) {
    uint32_t idx = indices_[i];
    uint32_t b = d.offsets[idx], e = d.offsets[idx + 1];
    std::memcpy(dst + pos, d.bytes.data() + b, e - b);
    pos += e - b;
    a.offsets[first + 1 + i] = pos;
  }
  return Status::OK();
}

Status PageValueDecoder::Next(size_t m, Values* out) {
  using E = format::Encoding;
  const LeafInfo& leaf = *leaf_;
  switch (enc_) {
    case E::PLAIN: return NextPlain(m, out);
    case E::PLAIN_DICTIONARY:
    case E::RLE_DICTIONARY: return NextDictionary(m, out);
    case E::RLE: {
      size_t old = out->fixed.size();
      out->fixed.resize(old + m);
      return rle_.Get(out->fixed.data() + old, m);
    }
    case E::DELTA_BINARY_PACKED:
      if (leaf.physical == format::Type::INT32) {
        ints32_.resize(m);
        SLUICE_RETURN_IF_ERROR(delta32_.Get(ints32_.data(), m));
        return ConvertFixed(leaf, reinterpret_cast<const uint8_t*>(ints32_.data()), m, out);
      }
      ints64_.resize(m);
      SLUICE_RETURN_IF_ERROR(delta64_.Get(ints64_.data(), m));
      return ConvertFixed(leaf, reinterpret_cast<const uint8_t*>(ints64_.data()), m, out);
    case E::DELTA_LENGTH_BYTE_ARRAY:
      return AppendArrays(leaf, out, &arrays_, [&](encoding::ByteArrays* a) { return delta_length_.Get(m, a); });
    case E::DELTA_BYTE_ARRAY:
      if (leaf.physical == format::Type::FIXED_LEN_BYTE_ARRAY) {
        arrays_.clear();
        SLUICE_RETURN_IF_ERROR(delta_bytes_.Get(m, &arrays_));
        for (size_t i = 0; i < m; ++i) {
          if (arrays_.offsets[i + 1] - arrays_.offsets[i] != static_cast<uint32_t>(leaf.type_length)) {
            return Status::DataError("fixed-length value of the wrong length");
          }
        }
        return ConvertFixed(leaf, reinterpret_cast<const uint8_t*>(arrays_.bytes.data()), m, out);
      }
      return AppendArrays(leaf, out, &arrays_, [&](encoding::ByteArrays* a) { return delta_bytes_.Get(m, a); });
    case E::BYTE_STREAM_SPLIT: {
      const int w = PhysicalWidth(leaf);
      raw_.resize(m * static_cast<size_t>(w));
      SLUICE_RETURN_IF_ERROR(encoding::DecodeByteStreamSplit(p_, n_, w, pos_, m, raw_.data()));
      pos_ += m;
      return ConvertFixed(leaf, raw_.data(), m, out);
    }
    default: return Status::Internal("encoding {} was not checked", static_cast<int>(enc_));
  }
}

Status PageValueDecoder::Finish() const {
  using E = format::Encoding;
  uint64_t total = 0, left = 0;
  switch (enc_) {
    case E::DELTA_BINARY_PACKED:
      total = leaf_->physical == format::Type::INT32 ? delta32_.total() : delta64_.total();
      left = leaf_->physical == format::Type::INT32 ? delta32_.remaining() : delta64_.remaining();
      break;
    case E::DELTA_LENGTH_BYTE_ARRAY:
      total = delta_length_.total();
      left = delta_length_.remaining();
      break;
    case E::DELTA_BYTE_ARRAY:
      total = delta_bytes_.total();
      left = delta_bytes_.remaining();
      break;
    default: return Status::OK();
  }
  if (left > 0) return Status::DataError("page decodes to {} values, its levels need {}", total, total - left);
  return Status::OK();
}

// ----------------------------------------------------------------------------- ChunkReader

Status ChunkReader::Error(int64_t offset, std::string_view what) const {
  return Status::DataError("{}: column '{}': corrupt page at offset {}: {}", file_, column_, offset, what);
}

Result<std::unique_ptr<ChunkReader>> ChunkReader::Open(const FileFooter& footer, const ByteSource& source,
                                                       std::string column, const LeafInfo& leaf, int max_def,
                                                       int max_rep, const format::ColumnMetaData& md) {
  std::unique_ptr<ChunkReader> r(new ChunkReader());
  r->file_ = footer.name;
  r->column_ = std::move(column);
  r->leaf_ = leaf;
  r->max_def_ = max_def;
  r->max_rep_ = max_rep;
  r->codec_ = md.codec;
  if (!CodecSupported(md.codec)) {
    return Status::InvalidArgument("{}: column '{}': compression codec {} is not supported", footer.name, r->column_,
                                   format::CodecName(md.codec));
  }
  int64_t start = md.data_page_offset;
  if (md.dictionary_page_offset && *md.dictionary_page_offset > 0 && *md.dictionary_page_offset < start) {
    start = *md.dictionary_page_offset;
  }
  int64_t len = md.total_compressed_size;
  if (start < 4 || len < 0 || len > footer.file_size || start > footer.file_size - len) {
    return Status::DataError("{}: column chunk of '{}' at offset {} ({} bytes) exceeds the file size {}", footer.name,
                             r->column_, start, len, footer.file_size);
  }
  if (md.num_values < 0) {
    return Status::DataError("{}: column chunk of '{}' at offset {} has a negative value count", footer.name,
                             r->column_, start);
  }
  r->chunk_start_ = start;
  r->chunk_.resize(static_cast<size_t>(len));
  SLUICE_RETURN_IF_ERROR(source.ReadAt(start, static_cast<size_t>(len), r->chunk_.data()));
  r->values_total_ = md.num_values;
  r->values_.width = StorageWidth(leaf.type);
  r->dictionary_.width = r->values_.width;
  return r;
}

Status ChunkReader::NextPage() {
  while (true) {
    int64_t page_offset = chunk_start_ + static_cast<int64_t>(pos_);
    if (pos_ >= chunk_.size()) {
      return Status::DataError("{}: column '{}': column chunk ends at offset {} after {} of {} values", file_, column_,
                               page_offset, values_read_, values_total_);
    }
    size_t header_size = 0;
    auto hr = format::ParsePageHeader(chunk_.data() + pos_, chunk_.size() - pos_, page_offset, &header_size);
    if (!hr.ok()) {
      return Status::DataError("{}: column '{}': corrupt page header at offset {}: {}", file_, column_, page_offset,
                               hr.status().message());
    }
    const format::PageHeader& h = *hr;
    pos_ += header_size;
    size_t comp = static_cast<size_t>(h.compressed_page_size);
    size_t unc = static_cast<size_t>(h.uncompressed_page_size);
    if (comp > chunk_.size() - pos_) {
      return Error(page_offset, fmt::format("compressed size {} exceeds the column chunk ({} bytes left)", comp,
                                            chunk_.size() - pos_));
    }
    if (unc > kMaxPageBytes) {
      return Error(page_offset,
                   fmt::format("uncompressed size {} exceeds the limit of {} bytes per page", unc, kMaxPageBytes));
    }
    const uint8_t* body = chunk_.data() + pos_;
    int64_t body_offset = chunk_start_ + static_cast<int64_t>(pos_);
    pos_ += comp;
    // The size the header claims must be one the codec can reach from the bytes present; only
    // then is the buffer allocated.
    auto decompress = [&](const uint8_t* in, size_t in_size, size_t out_size) -> Status {
      uint64_t most = MaxDecompressedSize(codec_, in_size);
      if (out_size > most) {
        return Error(page_offset, fmt::format("uncompressed size {} is more than {} bytes of {} data can hold ({})",
                                              out_size, in_size, format::CodecName(codec_), most));
      }
      page_buf_.resize(out_size);
      Status st = Decompress(codec_, in, in_size, page_buf_.data(), out_size);
      if (!st.ok()) return Error(body_offset, st.message());
      return Status::OK();
    };
    switch (h.type) {
      case format::PageType::INDEX_PAGE:
        continue;
      case format::PageType::DICTIONARY_PAGE: {
        if (!h.dictionary_page_header) return Error(page_offset, "dictionary page without its header");
        if (has_dictionary_) return Error(page_offset, "a second dictionary page");
        const auto& d = *h.dictionary_page_header;
        if (d.encoding != format::Encoding::PLAIN && d.encoding != format::Encoding::PLAIN_DICTIONARY) {
          return Error(page_offset, fmt::format("dictionary page encoding {} is not supported", static_cast<int>(d.encoding)));
        }
        uint64_t most = static_cast<uint64_t>(unc) * 8 / MinPlainBits(leaf_);
        if (static_cast<uint64_t>(d.num_values) > most) {
          return Error(page_offset, fmt::format("dictionary of {} entries exceeds its page: {} bytes hold at most {}",
                                                d.num_values, unc, most));
        }
        SLUICE_RETURN_IF_ERROR(decompress(body, comp, unc));
        Status st = DecodePlainValues(leaf_, page_buf_.data(), unc, d.num_values, &dictionary_);
        if (!st.ok()) return Error(page_offset, st.message());
        has_dictionary_ = true;
        continue;
      }
      case format::PageType::DATA_PAGE:
      case format::PageType::DATA_PAGE_V2: {
        bool v2 = h.type == format::PageType::DATA_PAGE_V2;
        if (!v2 && !h.data_page_header) return Error(page_offset, "data page without its header");
        if (v2 && !h.data_page_header_v2) return Error(page_offset, "data page v2 without its header");
        int64_t num_values = v2 ? h.data_page_header_v2->num_values : h.data_page_header->num_values;
        format::Encoding enc = v2 ? h.data_page_header_v2->encoding : h.data_page_header->encoding;
        if (num_values > values_total_ - values_read_) {
          return Error(page_offset, fmt::format("page holds {} values, more than the {} left in the column chunk",
                                                num_values, values_total_ - values_read_));
        }
        size_t count = static_cast<size_t>(num_values);
        const uint8_t* p;
        size_t n;
        const uint8_t* rep_data = nullptr;
        const uint8_t* def_data = nullptr;
        size_t rep_len = 0, def_len = 0;
        if (!v2) {
          SLUICE_RETURN_IF_ERROR(decompress(body, comp, unc));
          p = page_buf_.data();
          n = unc;
          auto take_levels = [&](int max, format::Encoding le, const uint8_t** data, size_t* len) -> Status {
            if (max == 0) return Status::OK();
            if (le != format::Encoding::RLE) return Error(page_offset, "only RLE levels are supported");
            if (n < 4) return Error(page_offset, "levels length missing");
            uint32_t l;
            std::memcpy(&l, p, 4);
            if (l > n - 4) return Error(page_offset, fmt::format("levels length {} exceeds the page", l));
            *data = p + 4;
            *len = l;
            p += 4 + l;
            n -= 4 + l;
            return Status::OK();
          };
          SLUICE_RETURN_IF_ERROR(take_levels(max_rep_, h.data_page_header->repetition_level_encoding, &rep_data, &rep_len));
          SLUICE_RETURN_IF_ERROR(take_levels(max_def_, h.data_page_header->definition_level_encoding, &def_data, &def_len));
        } else {
          const auto& d = *h.data_page_header_v2;
          size_t rl = static_cast<size_t>(d.repetition_levels_byte_length);
          size_t dl = static_cast<size_t>(d.definition_levels_byte_length);
          if (rl + dl > comp || rl + dl > unc) return Error(page_offset, "level lengths exceed the page");
          rep_data = body;
          rep_len = rl;
          def_data = body + rl;
          def_len = dl;
          bool compressed = d.is_compressed && codec_ != format::Codec::UNCOMPRESSED;
          if (compressed) {
            SLUICE_RETURN_IF_ERROR(decompress(body + rl + dl, comp - rl - dl, unc - rl - dl));
            p = page_buf_.data();
            n = page_buf_.size();
          } else {
            if (comp != unc) return Error(page_offset, "uncompressed page v2 with differing sizes");
            p = body + rl + dl;  // in chunk_, which outlives the page
            n = comp - rl - dl;
          }
        }
        rep_dec_.Reset(rep_data, rep_len, encoding::BitWidth(max_rep_));
        def_dec_.Reset(def_data, def_len, encoding::BitWidth(max_def_));
        Status st = value_dec_.Reset(leaf_, enc, p, n, count, max_def_ == 0, has_dictionary_ ? &dictionary_ : nullptr);
        if (!st.ok()) return Error(page_offset, st.message());
        page_offset_ = page_offset;
        page_count_ = count;
        level_pos_ = 0;
        values_read_ += num_values;
        return Status::OK();
      }
    }
  }
}

Status ChunkReader::DecodeWindow(size_t k) {
  size_t non_null = k;
  if (max_rep_ > 0) {
    rep_.resize(k);
    Status st = rep_dec_.Get(rep_.data(), k);
    if (!st.ok()) return Error(page_offset_, "repetition levels: " + st.message());
    for (uint8_t l : rep_) {
      if (l > max_rep_) {
        return Error(page_offset_, fmt::format("repetition level {} above the maximum {}", l, max_rep_));
      }
    }
  }
  if (max_def_ > 0) {
    def_.resize(k);
    Status st = def_dec_.Get(def_.data(), k);
    if (!st.ok()) return Error(page_offset_, "definition levels: " + st.message());
    non_null = 0;
    for (uint8_t l : def_) {
      if (l > max_def_) {
        return Error(page_offset_, fmt::format("definition level {} above the maximum {}", l, max_def_));
      }
      non_null += l == max_def_;
    }
  }
  values_.clear();
  Status st = value_dec_.Next(non_null, &values_);
  if (!st.ok()) return Error(page_offset_, st.message());
  if (values_.size() != non_null) {
    return Error(page_offset_, fmt::format("page decodes to {} values, its levels need {}", values_.size(), non_null));
  }
  level_pos_ += k;
  if (level_pos_ == page_count_) {
    st = value_dec_.Finish();
    if (!st.ok()) return Error(page_offset_, st.message());
  }
  return Status::OK();
}

Status ChunkReader::ReadFlat(size_t n, Column* out, size_t out_pos) {
  const size_t w = static_cast<size_t>(values_.width);
  while (n > 0) {
    if (level_pos_ == page_count_) {
      SLUICE_RETURN_IF_ERROR(NextPage());
      continue;
    }
    size_t k = std::min(n, page_count_ - level_pos_);
    SLUICE_RETURN_IF_ERROR(DecodeWindow(k));
    size_t v = 0;  // next value of the window
    if (w) {
      uint8_t* dst = out->mutable_data<uint8_t>() + out_pos * w;
      const uint8_t* src = values_.fixed.data();
      if (max_def_ == 0) {
        std::memcpy(dst, src, k * w);
      } else {
        const uint8_t* def = def_.data();
        for (size_t j = 0; j < k; ++j) {
          if (def[j] == max_def_) {
            std::memcpy(dst + j * w, src + v * w, w);
            ++v;
          } else {
            std::memset(dst + j * w, 0, w);
            out->SetNull(out_pos + j);
          }
        }
      }
    } else {
      const auto& a = values_.arrays;
      if (max_def_ == 0) {
        for (size_t j = 0; j < k; ++j) {
          out->AppendString(std::string_view(a.bytes.data() + a.offsets[j], a.offsets[j + 1] - a.offsets[j]));
        }
      } else {
        const uint8_t* def = def_.data();
        for (size_t j = 0; j < k; ++j) {
          if (def[j] == max_def_) {
            out->AppendString(std::string_view(a.bytes.data() + a.offsets[v], a.offsets[v + 1] - a.offsets[v]));
            ++v;
          } else {
            out->AppendNull();
          }
        }
      }
    }
    out_pos += k;
    n -= k;
  }
  return Status::OK();
}

Status ChunkReader::ReadAll(std::vector<uint8_t>* def, std::vector<uint8_t>* rep, Values* values) {
  // Windows of this many level entries: the outputs grow as data is decoded, never by the
  // counts pages declare.
  constexpr size_t kWindow = size_t{1} << 16;
  values->clear();
  values->width = values_.width;
  while (values_read_ < values_total_ || level_pos_ < page_count_) {
    if (level_pos_ == page_count_) {
      SLUICE_RETURN_IF_ERROR(NextPage());
      continue;
    }
    size_t k = std::min(kWindow, page_count_ - level_pos_);
    SLUICE_RETURN_IF_ERROR(DecodeWindow(k));
    if (max_def_ > 0) {
      def->insert(def->end(), def_.begin(), def_.end());
    } else {
      def->insert(def->end(), k, 0);
    }
    if (max_rep_ > 0) {
      rep->insert(rep->end(), rep_.begin(), rep_.end());
    } else {
      rep->insert(rep->end(), k, 0);
    }
    if (values_.width) {
      values->fixed.insert(values->fixed.end(), values_.fixed.begin(), values_.fixed.end());
    } else {
      uint32_t base = static_cast<uint32_t>(values->arrays.bytes.size());
      if (values->arrays.bytes.size() + values_.arrays.bytes.size() > UINT32_MAX) {
        return Error(page_offset_, "byte arrays exceed 4 GiB");
      }
      values->arrays.bytes.append(values_.arrays.bytes);
      for (size_t i = 1; i < values_.arrays.offsets.size(); ++i) {
        values->arrays.offsets.push_back(base + values_.arrays.offsets[i]);
      }
    }
  }
  return Status::OK();
}

}  // namespace internal

// ============================================================================= Reader

namespace {

using internal::LeafInfo;

// One statistics value (PLAIN bytes of one value, without a length prefix) as a Value.
std::optional<Value> StatValue(const std::string& bytes, const LeafInfo& leaf) {
  std::string plain;
  if (leaf.physical == format::Type::BYTE_ARRAY) {
    uint32_t len = static_cast<uint32_t>(bytes.size());
    plain.assign(reinterpret_cast<const char*>(&len), 4);
    plain += bytes;
  } else if (leaf.physical == format::Type::BOOLEAN) {
    if (bytes.size() != 1) return std::nullopt;
    plain = bytes;
  } else {
    int w = leaf.physical == format::Type::INT32 || leaf.physical == format::Type::FLOAT ? 4
            : leaf.physical == format::Type::FIXED_LEN_BYTE_ARRAY                       ? leaf.type_length
                                                                                         : 8;
    if (bytes.size() != static_cast<size_t>(w)) return std::nullopt;
    plain = bytes;
  }
  internal::Values v;
  Status st = internal::DecodePlainValues(leaf, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), 1, &v);
  if (!st.ok() || v.size() != 1) return std::nullopt;
  Value out = internal::ValueAt(v, 0, leaf.type);
  if (out.type().id == TypeId::kFloat64 && std::isnan(out.double_value())) return std::nullopt;
  return out;
}

ColumnStats MakeStats(const format::ColumnMetaData& md, const LeafInfo& leaf) {
  ColumnStats cs;
  if (!md.statistics) return cs;
  const format::Statistics& s = *md.statistics;
  cs.null_count = s.null_count;
  using C = internal::Conversion;
  if (leaf.conversion == C::kUInt64 || leaf.conversion == C::kInt96ToMicros) return cs;
  bool legacy_ok = leaf.physical != format::Type::BYTE_ARRAY && leaf.physical != format::Type::FIXED_LEN_BYTE_ARRAY &&
                   leaf.conversion != C::kUInt32ToInt64;
  const std::string* lo = s.min_value ? &*s.min_value : (legacy_ok && s.min ? &*s.min : nullptr);
  const std::string* hi = s.max_value ? &*s.max_value : (legacy_ok && s.max ? &*s.max : nullptr);
  if (lo && hi) {
    cs.min = StatValue(*lo, leaf);
    cs.max = StatValue(*hi, leaf);
    if (!cs.min || !cs.max) {
      cs.min.reset();
      cs.max.reset();
    }
  }
  return cs;
}

struct FlatColumn {
  std::string name;
  LeafInfo leaf;
  int max_def = 0;
};

}  // namespace

struct Reader::Impl {
  std::string name;
  std::unique_ptr<internal::ByteSource> source;
  internal::FileFooter footer;
  FileInfo info;
  std::vector<FlatColumn> columns;

  Status Init() {
    SLUICE_ASSIGN_OR_RETURN(footer, internal::ReadFooter(name, *source));
    const auto& schema = footer.meta.schema;
    const auto& root = schema[0];
    int32_t n = root.num_children.value_or(0);
    if (n < 0 || static_cast<size_t>(n) != schema.size() - 1) {
      for (size_t i = 1; i < schema.size(); ++i) {
        if (schema[i].num_children.value_or(0) > 0 || !schema[i].type) {
          return Status::InvalidArgument(
              "{}: column '{}' is nested (a group); the flat reader reads primitive columns only (use ReadNestedFile)",
              name, schema[i].name);
        }
      }
      return Status::DataError("{}: the schema root declares {} columns but {} follow", name, n, schema.size() - 1);
    }
    std::vector<Field> fields;
    for (size_t i = 1; i < schema.size(); ++i) {
      const auto& e = schema[i];
      if (e.num_children.value_or(0) > 0 || !e.type) {
        return Status::InvalidArgument(
            "{}: column '{}' is nested (a group); the flat reader reads primitive columns only (use ReadNestedFile)",
            name, e.name);
      }
      if (e.repetition == format::Repetition::REPEATED) {
        return Status::InvalidArgument("{}: column '{}' is repeated; the flat reader reads primitive columns only",
                                       name, e.name);
      }
      auto leaf = internal::ResolveLeaf(e, e.name);
      if (!leaf.ok()) return leaf.status().WithContext(name);
      FlatColumn c;
      c.name = e.name;
      c.leaf = *leaf;
      c.max_def = e.repetition == format::Repetition::REQUIRED ? 0 : 1;
      fields.push_back(Field{e.name, leaf->type, c.max_def == 0});
      columns.push_back(std::move(c));
    }
    info.schema = std::make_shared<const Schema>(std::move(fields));
    info.num_rows = footer.meta.num_rows;
    info.created_by = footer.meta.created_by.value_or("");
    for (const auto& kv : footer.meta.key_value_metadata) info.key_value_metadata.emplace_back(kv.key, kv.value.value_or(""));
    for (size_t g = 0; g < footer.meta.row_groups.size(); ++g) {
      const auto& rg = footer.meta.row_groups[g];
      if (rg.columns.size() != columns.size()) {
        return Status::DataError("{}: row group {} has {} column chunks, the schema {} columns", name, g,
                                 rg.columns.size(), columns.size());
      }
      RowGroupInfo ri;
      ri.num_rows = rg.num_rows;
      ri.total_byte_size = rg.total_byte_size;
      for (size_t c = 0; c < columns.size(); ++c) {
        const auto& cc = rg.columns[c];
        if (!cc.meta_data) {
          return Status::DataError("{}: row group {} column '{}' has no metadata (external or encrypted chunks are not supported)",
                                   name, g, columns[c].name);
        }
        if (cc.meta_data->type != columns[c].leaf.physical) {
          return Status::DataError("{}: row group {} column '{}' is {} in its chunk but {} in the schema", name, g,
                                   columns[c].name, format::TypeName(cc.meta_data->type),
                                   format::TypeName(columns[c].leaf.physical));
        }
        // A flat column holds one value (or null) per row.
        if (cc.meta_data->num_values < rg.num_rows) {
          return Status::DataError(
              "{}: row group {} declares {} rows but its column '{}' (chunk at offset {}) holds {} values", name, g,
              rg.num_rows, columns[c].name, cc.meta_data->data_page_offset, cc.meta_data->num_values);
        }
        ri.columns.push_back(MakeStats(*cc.meta_data, columns[c].leaf));
      }
      info.row_groups.push_back(std::move(ri));
    }
    return Status::OK();
  }
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->name = path;
  SLUICE_ASSIGN_OR_RETURN(impl->source, internal::OpenFileSource(path));
  SLUICE_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Result<std::unique_ptr<Reader>> Reader::OpenBuffer(std::string name, std::string data) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->source = internal::MakeBufferSource(std::move(data), impl->name);
  SLUICE_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

const FileInfo& Reader::info() const { return impl_->info; }

Status Reader::Read(const ReadOptions& options, const std::function<Status(Batch)>& on_batch) {
  Impl& r = *impl_;
  std::vector<size_t> proj;
  if (options.columns.empty()) {
    for (size_t i = 0; i < r.columns.size(); ++i) proj.push_back(i);
  } else {
    for (const auto& name : options.columns) {
      auto idx = r.info.schema->IndexOf(name);
      if (!idx) {
        return Status::NotFound("{}: no column '{}' in the file{}", r.name, name,
                                DidYouMeanSuffix(name, r.info.schema->names()));
      }
      proj.push_back(*idx);
    }
  }
  std::vector<Field> fields;
  for (size_t i : proj) fields.push_back(r.info.schema->field(i));
  auto schema = std::make_shared<const Schema>(std::move(fields));
  auto origin = std::make_shared<const BatchOrigin>(BatchOrigin{"", r.name});
  size_t batch_rows = options.batch_rows ? options.batch_rows : 4096;
  for (size_t g = 0; g < r.footer.meta.row_groups.size(); ++g) {
    if (options.row_group_filter && !options.row_group_filter(r.info.row_groups[g])) continue;
    const auto& rg = r.footer.meta.row_groups[g];
    std::vector<std::unique_ptr<internal::ChunkReader>> readers;
    for (size_t i : proj) {
      const auto& c = r.columns[i];
      SLUICE_ASSIGN_OR_RETURN(auto cr, internal::ChunkReader::Open(r.footer, *r.source, c.name, c.leaf, c.max_def, 0,
                                                                  *rg.columns[i].meta_data));
      readers.push_back(std::move(cr));
    }
    int64_t done = 0;
    while (done < rg.num_rows) {
      size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(batch_rows), rg.num_rows - done));
      std::vector<ColumnPtr> cols;
      for (size_t k = 0; k < proj.size(); ++k) {
        auto col = std::make_shared<Column>(schema->field(k).type);
        if (internal::StorageWidth(col->type())) {
          col->Resize(n);
        } else {
          col->Reserve(n);
        }
        SLUICE_RETURN_IF_ERROR(readers[k]->ReadFlat(n, col.get(), 0));
        cols.push_back(std::move(col));
      }
      Batch b(schema, std::move(cols), n);
      b.set_origin(origin);
      SLUICE_RETURN_IF_ERROR(on_batch(std::move(b)));
      done += static_cast<int64_t>(n);
    }
  }
  return Status::OK();
}

Result<std::vector<Batch>> ReadFile(const std::string& path, const ReadOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, Reader::Open(path));
  std::vector<Batch> out;
  SLUICE_RETURN_IF_ERROR(reader->Read(options, [&](Batch b) {
    out.push_back(std::move(b));
    return Status::OK();
  }));
  return out;
}

}  // namespace sluice::parquet
