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

// Converts decoded byte arrays into Sluice storage (appended to out).
Status ConvertArrays(const LeafInfo& leaf, encoding::ByteArrays&& in, Values* out) {
  size_t n = in.size();
  if (leaf.conversion == Conversion::kBytesDecimal) {
    size_t old = out->fixed.size();
    out->fixed.resize(old + n * 8);
    for (size_t i = 0; i < n; ++i) {
      int64_t v;
      const uint8_t* p = reinterpret_cast<const uint8_t*>(in.bytes.data()) + in.offsets[i];
      if (!BigEndianToInt64(p, in.offsets[i + 1] - in.offsets[i], &v)) {
        return Status::DataError("decimal value exceeds 18 digits");
      }
      std::memcpy(out->fixed.data() + old + 8 * i, &v, 8);
    }
    return Status::OK();
  }
  if (leaf.conversion == Conversion::kString) {
    // Whole-buffer check first (fast); a value boundary inside a code point cannot make an
    // invalid value valid, but could hide one, so fall back to per value on failure only.
    if (!IsValidUtf8(in.bytes)) {
      for (size_t i = 0; i < n; ++i) {
        std::string_view v(in.bytes.data() + in.offsets[i], in.offsets[i + 1] - in.offsets[i]);
        if (!IsValidUtf8(v)) return Status::DataError("invalid UTF-8 in string value {}", i);
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        // A value may not start with a continuation byte (that would split a code point).
        uint32_t b = in.offsets[i];
        if (b < in.offsets[i + 1] && (static_cast<uint8_t>(in.bytes[b]) & 0xc0) == 0x80) {
          return Status::DataError("invalid UTF-8 in string value {}", i);
        }
      }
    }
  } else if (leaf.conversion != Conversion::kBinary) {
    return Status::Internal("bad byte array conversion");
  }
  if (out->arrays.size() == 0) {
    out->arrays = std::move(in);
    return Status::OK();
  }
  uint32_t base = static_cast<uint32_t>(out->arrays.bytes.size());
  out->arrays.bytes.append(in.bytes);
  for (size_t i = 1; i < in.offsets.size(); ++i) out->arrays.offsets.push_back(base + in.offsets[i]);
  return Status::OK();
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
    encoding::ByteArrays arrays;
    size_t used;
    SLUICE_RETURN_IF_ERROR(encoding::DecodePlainByteArray(p, n, count, &arrays, &used));
    return ConvertArrays(leaf, std::move(arrays), out);
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

Status ChunkReader::DecodeValues(format::Encoding enc, const uint8_t* p, size_t n, size_t count, Values* out,
                                 bool dictionary_page) {
  out->clear();
  out->width = StorageWidth(leaf_.type);
  using E = format::Encoding;
  switch (enc) {
    case E::PLAIN:
      return DecodePlain(leaf_, p, n, count, out);
    case E::PLAIN_DICTIONARY:
    case E::RLE_DICTIONARY: {
      if (dictionary_page) return DecodePlain(leaf_, p, n, count, out);
      if (!has_dictionary_) return Status::DataError("dictionary-encoded page without a dictionary page");
      if (count == 0) return Status::OK();
      if (n < 1) return Status::DataError("dictionary indices missing");
      int width = p[0];
      if (width > 32) return Status::DataError("dictionary index bit width {} out of range", width);
      encoding::RleDecoder dec(p + 1, n - 1, width);
      indices_.resize(count);
      SLUICE_RETURN_IF_ERROR(dec.Get(indices_.data(), count));
      size_t dict_size = dictionary_.size();
      if (out->width) {
        size_t w = out->width;
        out->fixed.resize(count * w);
        const uint8_t* src = dictionary_.fixed.data();
        uint8_t* dst = out->fixed.data();
        for (size_t i = 0; i < count; ++i) {
          uint32_t idx = indices_[i];
          if (idx >= dict_size) return Status::DataError("dictionary index {} out of range ({} entries)", idx, dict_size);
          std::memcpy(dst + i * w, src + static_cast<size_t>(idx) * w, w);
        }
      } else {
        const auto& d = dictionary_.arrays;
        size_t bytes = 0;
        for (size_t i = 0; i < count; ++i) {
          uint32_t idx = indices_[i];
          if (idx >= dict_size) return Status::DataError("dictionary index {} out of range ({} entries)", idx, dict_size);
          bytes += d.offsets[idx + 1] - d.offsets[idx];
        }
        if (bytes > UINT32_MAX) return Status::DataError("page values exceed 4 GiB");
        out->arrays.bytes.resize(bytes);
        out->arrays.offsets.resize(count + 1);
        char* dst = out->arrays.bytes.data();
        uint32_t pos = 0;
        for (size_t i = 0; i < count; ++i) {
          uint32_t idx = indices_[i];
          uint32_t b = d.offsets[idx], e = d.offsets[idx + 1];
          std::memcpy(dst + pos, d.bytes.data() + b, e - b);
          pos += e - b;
          out->arrays.offsets[i + 1] = pos;
        }
      }
      return Status::OK();
    }
    case E::RLE: {
      if (leaf_.physical != format::Type::BOOLEAN) return Status::DataError("RLE encoding on a non-boolean column");
      if (n < 4) return Status::DataError("RLE booleans: length missing");
      uint32_t len;
      std::memcpy(&len, p, 4);
      if (len > n - 4) return Status::DataError("RLE booleans: length {} exceeds the page", len);
      encoding::RleDecoder dec(p + 4, len, 1);
      out->fixed.resize(count);
      return dec.Get(out->fixed.data(), count);
    }
    case E::DELTA_BINARY_PACKED: {
      size_t used;
      if (leaf_.physical == format::Type::INT32) {
        std::vector<int32_t> v;
        SLUICE_RETURN_IF_ERROR(encoding::DecodeDeltaBinaryPacked<int32_t>(p, n, count, &v, &used));
        if (v.size() != count) return Status::DataError("DELTA_BINARY_PACKED holds {} values, expected {}", v.size(), count);
        return ConvertFixed(leaf_, reinterpret_cast<const uint8_t*>(v.data()), count, out);
      }
      if (leaf_.physical == format::Type::INT64) {
        std::vector<int64_t> v;
        SLUICE_RETURN_IF_ERROR(encoding::DecodeDeltaBinaryPacked<int64_t>(p, n, count, &v, &used));
        if (v.size() != count) return Status::DataError("DELTA_BINARY_PACKED holds {} values, expected {}", v.size(), count);
        return ConvertFixed(leaf_, reinterpret_cast<const uint8_t*>(v.data()), count, out);
      }
      return Status::DataError("DELTA_BINARY_PACKED on a {} column", format::TypeName(leaf_.physical));
    }
    case E::DELTA_LENGTH_BYTE_ARRAY:
    case E::DELTA_BYTE_ARRAY: {
      encoding::ByteArrays arrays;
      if (enc == E::DELTA_LENGTH_BYTE_ARRAY) {
        if (leaf_.physical != format::Type::BYTE_ARRAY) return Status::DataError("DELTA_LENGTH_BYTE_ARRAY on a non-byte-array column");
        SLUICE_RETURN_IF_ERROR(encoding::DecodeDeltaLengthByteArray(p, n, count, &arrays));
      } else {
        if (leaf_.physical != format::Type::BYTE_ARRAY && leaf_.physical != format::Type::FIXED_LEN_BYTE_ARRAY) {
          return Status::DataError("DELTA_BYTE_ARRAY on a {} column", format::TypeName(leaf_.physical));
        }
        SLUICE_RETURN_IF_ERROR(encoding::DecodeDeltaByteArray(p, n, count, &arrays));
      }
      if (leaf_.physical == format::Type::FIXED_LEN_BYTE_ARRAY) {
        for (size_t i = 0; i < arrays.size(); ++i) {
          if (arrays.offsets[i + 1] - arrays.offsets[i] != static_cast<uint32_t>(leaf_.type_length)) {
            return Status::DataError("fixed-length value of the wrong length");
          }
        }
        return ConvertFixed(leaf_, reinterpret_cast<const uint8_t*>(arrays.bytes.data()), count, out);
      }
      return ConvertArrays(leaf_, std::move(arrays), out);
    }
    case E::BYTE_STREAM_SPLIT: {
      size_t w = static_cast<size_t>(PhysicalWidth(leaf_));
      if (w == 0 || leaf_.physical == format::Type::INT96) return Status::DataError("BYTE_STREAM_SPLIT on a {} column", format::TypeName(leaf_.physical));
      if (count > n / w) return Status::DataError("BYTE_STREAM_SPLIT data ends early");
      std::vector<uint8_t> raw(count * w);
      SLUICE_RETURN_IF_ERROR(encoding::DecodeByteStreamSplit(p, n, count, static_cast<int>(w), raw.data()));
      return ConvertFixed(leaf_, raw.data(), count, out);
    }
    default:
      return Status::DataError("encoding {} is not supported", static_cast<int>(enc));
  }
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
    if (unc > kMaxPageBytes) return Error(page_offset, fmt::format("uncompressed size {} is too large", unc));
    const uint8_t* body = chunk_.data() + pos_;
    int64_t body_offset = chunk_start_ + static_cast<int64_t>(pos_);
    pos_ += comp;
    auto decompress = [&](const uint8_t* in, size_t in_size, size_t out_size) -> Status {
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
        SLUICE_RETURN_IF_ERROR(decompress(body, comp, unc));
        if (static_cast<size_t>(d.num_values) > unc * 8 + 8) return Error(page_offset, "dictionary size exceeds its page");
        Status st = DecodeValues(format::Encoding::PLAIN, page_buf_.data(), unc, d.num_values, &dictionary_, true);
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
          } else {
            if (comp != unc) return Error(page_offset, "uncompressed page v2 with differing sizes");
            page_buf_.assign(body + rl + dl, body + comp);
          }
          p = page_buf_.data();
          n = page_buf_.size();
        }
        if (count > (size_t{1} << 31)) return Error(page_offset, "too many values in one page");
        size_t non_null = count;
        if (max_rep_ > 0) {
          rep_.resize(count);
          encoding::RleDecoder dec(rep_data, rep_len, encoding::BitWidth(max_rep_));
          Status st = dec.Get(rep_.data(), count);
          if (!st.ok()) return Error(page_offset, "repetition levels: " + st.message());
          for (uint8_t l : rep_) {
            if (l > max_rep_) return Error(page_offset, fmt::format("repetition level {} above the maximum {}", l, max_rep_));
          }
        }
        if (max_def_ > 0) {
          def_.resize(count);
          encoding::RleDecoder dec(def_data, def_len, encoding::BitWidth(max_def_));
          Status st = dec.Get(def_.data(), count);
          if (!st.ok()) return Error(page_offset, "definition levels: " + st.message());
          non_null = 0;
          for (uint8_t l : def_) {
            if (l > max_def_) return Error(page_offset, fmt::format("definition level {} above the maximum {}", l, max_def_));
            non_null += l == max_def_;
          }
        }
        Status st = DecodeValues(enc, p, n, non_null, &values_, false);
        if (!st.ok()) return Error(page_offset, st.message());
        if (values_.size() != non_null) {
          return Error(page_offset, fmt::format("page decodes to {} values, its levels need {}", values_.size(), non_null));
        }
        page_count_ = count;
        level_pos_ = 0;
        value_pos_ = 0;
        values_read_ += num_values;
        return Status::OK();
      }
    }
  }
}

Status ChunkReader::ReadFlat(size_t n, Column* out, size_t out_pos) {
  const size_t w = static_cast<size_t>(values_.width);
  while (n > 0) {
    if (level_pos_ == page_count_) {
      SLUICE_RETURN_IF_ERROR(NextPage());
      continue;
    }
    size_t k = std::min(n, page_count_ - level_pos_);
    if (w) {
      uint8_t* dst = out->mutable_data<uint8_t>() + out_pos * w;
      const uint8_t* src = values_.fixed.data();
      if (max_def_ == 0) {
        std::memcpy(dst, src + value_pos_ * w, k * w);
        value_pos_ += k;
      } else {
        const uint8_t* def = def_.data() + level_pos_;
        for (size_t j = 0; j < k; ++j) {
          if (def[j] == max_def_) {
            std::memcpy(dst + j * w, src + value_pos_ * w, w);
            ++value_pos_;
          } else {
            std::memset(dst + j * w, 0, w);
            out->SetNull(out_pos + j);
          }
        }
      }
    } else {
      const auto& a = values_.arrays;
      if (max_def_ == 0) {
        for (size_t j = 0; j < k; ++j, ++value_pos_) {
          out->AppendString(std::string_view(a.bytes.data() + a.offsets[value_pos_],
                                             a.offsets[value_pos_ + 1] - a.offsets[value_pos_]));
        }
      } else {
        const uint8_t* def = def_.data() + level_pos_;
        for (size_t j = 0; j < k; ++j) {
          if (def[j] == max_def_) {
            out->AppendString(std::string_view(a.bytes.data() + a.offsets[value_pos_],
                                               a.offsets[value_pos_ + 1] - a.offsets[value_pos_]));
            ++value_pos_;
          } else {
            out->AppendNull();
          }
        }
      }
    }
    level_pos_ += k;
    out_pos += k;
    n -= k;
  }
  return Status::OK();
}

Status ChunkReader::ReadAll(std::vector<uint8_t>* def, std::vector<uint8_t>* rep, Values* values) {
  values->clear();
  values->width = values_.width;
  while (values_read_ < values_total_ || level_pos_ < page_count_) {
    if (level_pos_ == page_count_) {
      SLUICE_RETURN_IF_ERROR(NextPage());
      continue;
    }
    size_t k = page_count_ - level_pos_;
    if (max_def_ > 0) {
      def->insert(def->end(), def_.begin() + level_pos_, def_.begin() + level_pos_ + k);
    } else {
      def->insert(def->end(), k, 0);
    }
    if (max_rep_ > 0) {
      rep->insert(rep->end(), rep_.begin() + level_pos_, rep_.begin() + level_pos_ + k);
    } else {
      rep->insert(rep->end(), k, 0);
    }
    if (values_.width) {
      values->fixed.insert(values->fixed.end(), values_.fixed.begin(), values_.fixed.end());
    } else {
      uint32_t base = static_cast<uint32_t>(values->arrays.bytes.size());
      values->arrays.bytes.append(values_.arrays.bytes);
      for (size_t i = 1; i < values_.arrays.offsets.size(); ++i) {
        values->arrays.offsets.push_back(base + values_.arrays.offsets[i]);
      }
    }
    level_pos_ = page_count_;
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
