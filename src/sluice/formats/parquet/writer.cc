// The flat Parquet writer: batches are encoded column by column straight from the column
// buffers into pages (dictionary or PLAIN, definition levels from the validity bitmap),
// statistics in the same pass; a row group's pages are held in memory until it is cut, then
// written column chunk after column chunk.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include "sluice/base/hash.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/formats/parquet/parquet_internal.h"

namespace sluice::parquet {

namespace internal {

int StorageWidth(DataType type) {
  switch (type.id) {
    case TypeId::kBool: return 1;
    case TypeId::kInt32:
    case TypeId::kDate: return 4;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal:
    case TypeId::kFloat64: return 8;
    default: return 0;
  }
}

format::SchemaElement LeafElement(const std::string& name, DataType type, format::Repetition rep) {
  using format::ConvertedType;
  using format::LogicalType;
  format::SchemaElement e;
  e.name = name;
  e.repetition = rep;
  switch (type.id) {
    case TypeId::kBool:
      e.type = format::Type::BOOLEAN;
      break;
    case TypeId::kInt32:
      e.type = format::Type::INT32;
      e.converted_type = ConvertedType::INT_32;
      e.logical_type.kind = LogicalType::Kind::kInteger;
      e.logical_type.bit_width = 32;
      e.logical_type.is_signed = true;
      break;
    case TypeId::kInt64:
      e.type = format::Type::INT64;
      e.converted_type = ConvertedType::INT_64;
      e.logical_type.kind = LogicalType::Kind::kInteger;
      e.logical_type.bit_width = 64;
      e.logical_type.is_signed = true;
      break;
    case TypeId::kFloat64:
      e.type = format::Type::DOUBLE;
      break;
    case TypeId::kDecimal:
      e.type = type.precision <= 9 ? format::Type::INT32 : format::Type::INT64;
      e.converted_type = ConvertedType::DECIMAL;
      e.scale = type.scale;
      e.precision = type.precision;
      e.logical_type.kind = LogicalType::Kind::kDecimal;
      e.logical_type.scale = type.scale;
      e.logical_type.precision = type.precision;
      break;
    case TypeId::kString:
      e.type = format::Type::BYTE_ARRAY;
      e.converted_type = ConvertedType::UTF8;
      e.logical_type.kind = LogicalType::Kind::kString;
      break;
    case TypeId::kBinary:
      e.type = format::Type::BYTE_ARRAY;
      break;
    case TypeId::kDate:
      e.type = format::Type::INT32;
      e.converted_type = ConvertedType::DATE;
      e.logical_type.kind = LogicalType::Kind::kDate;
      break;
    case TypeId::kTimestamp:
      e.type = format::Type::INT64;
      e.converted_type = ConvertedType::TIMESTAMP_MICROS;
      e.logical_type.kind = LogicalType::Kind::kTimestamp;
      e.logical_type.adjusted_to_utc = true;
      e.logical_type.unit = format::TimeUnit::kMicros;
      break;
    case TypeId::kNull:
      e.type = format::Type::INT32;
      e.logical_type.kind = LogicalType::Kind::kUnknown;
      break;
  }
  return e;
}

namespace {

Status AppendPage(Compressor& compressor, format::PageHeader h, std::string_view body, std::string* scratch,
                  std::string* out, int64_t* uncompressed_total, int64_t* compressed_total) {
  SLUICE_RETURN_IF_ERROR(compressor.Compress(body, scratch));
  if (body.size() > static_cast<size_t>(INT32_MAX) || scratch->size() > static_cast<size_t>(INT32_MAX)) {
    return Status::Internal("a Parquet page of {} bytes exceeds 2 GiB", body.size());
  }
  h.uncompressed_page_size = static_cast<int32_t>(body.size());
  h.compressed_page_size = static_cast<int32_t>(scratch->size());
  size_t before = out->size();
  format::SerializePageHeader(h, out);
  size_t header = out->size() - before;
  out->append(*scratch);
  *uncompressed_total += static_cast<int64_t>(header + body.size());
  *compressed_total += static_cast<int64_t>(header + scratch->size());
  return Status::OK();
}

}  // namespace

Status AppendDataPageV1(Compressor& compressor, int32_t num_values, format::Encoding encoding, std::string_view body,
                        std::optional<format::Statistics> stats, std::string* scratch, std::string* out,
                        int64_t* uncompressed_total, int64_t* compressed_total) {
  format::PageHeader h;
  h.type = format::PageType::DATA_PAGE;
  format::DataPageHeader d;
  d.num_values = num_values;
  d.encoding = encoding;
  d.definition_level_encoding = format::Encoding::RLE;
  d.repetition_level_encoding = format::Encoding::RLE;
  d.statistics = std::move(stats);
  h.data_page_header = std::move(d);
  return AppendPage(compressor, std::move(h), body, scratch, out, uncompressed_total, compressed_total);
}

Status AppendDictionaryPage(Compressor& compressor, int32_t num_values, std::string_view body, std::string* scratch,
                            std::string* out, int64_t* uncompressed_total, int64_t* compressed_total) {
  format::PageHeader h;
  h.type = format::PageType::DICTIONARY_PAGE;
  format::DictionaryPageHeader d;
  d.num_values = num_values;
  d.encoding = format::Encoding::PLAIN;
  h.dictionary_page_header = d;
  return AppendPage(compressor, std::move(h), body, scratch, out, uncompressed_total, compressed_total);
}

void AppendPlainValues(const Column& col, size_t begin, size_t end, std::string* out) {
  const DataType& t = col.type();
  auto put = [&](auto v) { out->append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  if (t.id == TypeId::kBool) {
    uint8_t acc = 0;
    int bits = 0;
    for (size_t i = begin; i < end; ++i) {
      if (col.IsNull(i)) continue;
      acc |= static_cast<uint8_t>((col.Get<uint8_t>(i) != 0) << bits);
      if (++bits == 8) {
        out->push_back(static_cast<char>(acc));
        acc = 0;
        bits = 0;
      }
    }
    if (bits) out->push_back(static_cast<char>(acc));
    return;
  }
  for (size_t i = begin; i < end; ++i) {
    if (col.IsNull(i)) continue;
    switch (t.id) {
      case TypeId::kInt32:
      case TypeId::kDate: put(col.Get<int32_t>(i)); break;
      case TypeId::kDecimal:
        if (t.precision <= 9) {
          put(static_cast<int32_t>(col.Get<int64_t>(i)));
        } else {
          put(col.Get<int64_t>(i));
        }
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp: put(col.Get<int64_t>(i)); break;
      case TypeId::kFloat64: put(col.Get<double>(i)); break;
      case TypeId::kString:
      case TypeId::kBinary: {
        std::string_view s = col.GetString(i);
        put(static_cast<uint32_t>(s.size()));
        out->append(s.data(), s.size());
        break;
      }
      default: break;
    }
  }
}

format::Encoding TakePageValues(bool use_dict, size_t dict_size, std::vector<uint32_t>& indices, std::string& plain,
                                size_t& plain_count, std::string* body, size_t* non_null) {
  if (use_dict && !indices.empty()) {
    int width = std::max(1, encoding::BitWidth(dict_size - 1));
    body->push_back(static_cast<char>(width));
    encoding::EncodeRleHybrid(indices.data(), indices.size(), width, *body);
    *non_null = indices.size();
    indices.clear();
    return format::Encoding::RLE_DICTIONARY;
  }
  body->append(plain);
  *non_null = plain_count;
  plain.clear();
  plain_count = 0;
  return format::Encoding::PLAIN;
}

Status WriteFooterAndClose(io::FileWriter& file, const format::FileMetaData& meta) {
  std::string footer;
  format::SerializeFileMetaData(meta, &footer);
  uint32_t len = static_cast<uint32_t>(footer.size());
  footer.append(reinterpret_cast<const char*>(&len), 4);
  footer.append(format::kMagic, 4);
  SLUICE_RETURN_IF_ERROR(file.Append(footer));
  SLUICE_RETURN_IF_ERROR(file.Sync());
  return file.Close();
}

}  // namespace internal

namespace {

using parquet::Compressor;
constexpr size_t kMaxPageRows = 1 << 20;
constexpr size_t kMaxStatBytes = 512;  // longer string min/max are left out of the statistics

template <typename T>
std::string StatBytes(T v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Common state of a column chunk: the current page's levels, the chunk's finished pages.
class ColumnWriter {
 public:
  ColumnWriter(const Field& field, format::Type physical, const WriterOptions& options, Compressor* compressor)
      : field_(field), physical_(physical), options_(options), compressor_(compressor), optional_(!field.required) {}
  virtual ~ColumnWriter() = default;

  // Appends rows [begin, end) of `col`.
  virtual Status Append(const Column& col, size_t begin, size_t end) = 0;
  // Encoded bytes of this chunk so far (finished pages, dictionary, and the pending page).
  size_t EstimatedBytes() const { return static_cast<size_t>(uncompressed_) + DictionaryBytes() + PendingBytes(); }
  // Flushes the pending page and appends the whole chunk to `out` (which will start at file
  // offset `chunk_offset`); fills `md` and resets for the next row group.
  Status FinishChunk(std::string* out, int64_t chunk_offset, format::ColumnMetaData* md) {
    SLUICE_RETURN_IF_ERROR(FlushPage());
    size_t start = out->size();
    int64_t unc = uncompressed_, comp = compressed_;
    md->dictionary_page_offset.reset();
    if (DictionarySize() > 0) {
      std::string body;
      EncodeDictionary(&body);
      SLUICE_RETURN_IF_ERROR(internal::AppendDictionaryPage(*compressor_, static_cast<int32_t>(DictionarySize()), body,
                                                            &scratch_, out, &unc, &comp));
      md->dictionary_page_offset = chunk_offset;
    }
    md->data_page_offset = chunk_offset + static_cast<int64_t>(out->size() - start);
    out->append(pages_);
    md->type = physical_;
    md->encodings.clear();
    md->encodings.push_back(format::Encoding::PLAIN);
    md->encodings.push_back(format::Encoding::RLE);
    if (used_dictionary_pages_) md->encodings.push_back(format::Encoding::RLE_DICTIONARY);
    md->path_in_schema = {field_.name};
    md->codec = compressor_->codec();
    md->num_values = chunk_rows_;
    md->total_uncompressed_size = unc;
    md->total_compressed_size = comp;
    format::Statistics st;
    st.null_count = chunk_nulls_;
    ChunkMinMax(&st);
    md->statistics = std::move(st);
    // Reset for the next chunk.
    pages_.clear();
    uncompressed_ = compressed_ = 0;
    chunk_rows_ = chunk_nulls_ = 0;
    used_dictionary_pages_ = false;
    ResetChunk();
    return Status::OK();
  }

 protected:
  virtual size_t PendingBytes() const = 0;
  virtual size_t DictionaryBytes() const { return 0; }
  virtual size_t DictionarySize() const { return 0; }
  virtual void EncodeDictionary(std::string* body) {}
  // Appends the page's values to body; returns their encoding, non-null count and page stats.
  virtual format::Encoding EncodePageValues(std::string* body, size_t* non_null, format::Statistics* st) = 0;
  virtual void ChunkMinMax(format::Statistics* st) = 0;
  virtual void ResetChunk() = 0;

  Status CheckRequired(const Column& col, size_t begin, size_t end) {
    if (optional_ || !col.has_nulls()) return Status::OK();
    for (size_t i = begin; i < end; ++i) {
      if (col.IsNull(i)) return Status::InvalidArgument("column '{}' is required but row {} is null", field_.name, i);
    }
    return Status::OK();
  }

  void AppendLevels(const Column& col, size_t begin, size_t end) {
    page_rows_ += end - begin;
    if (!optional_) return;
    const uint64_t* v = col.validity();
    if (v) {
      encoding::AppendBits(levels_, &level_count_, v, begin, end - begin);
    } else {
      encoding::AppendBitsConstant(levels_, &level_count_, true, end - begin);
    }
  }

  size_t LevelBytes() const { return optional_ ? level_count_ / 8 + 8 : 0; }

  Status MaybeFlushPage() {
    if (PendingBytes() >= options_.data_page_bytes || page_rows_ >= kMaxPageRows) return FlushPage();
    return Status::OK();
  }

  Status FlushPage() {
    if (page_rows_ == 0) return Status::OK();
    body_.clear();
    if (optional_) {
      body_.append(4, '\0');
      encoding::EncodeBitmapLevels(levels_.data(), level_count_, body_);
      uint32_t len = static_cast<uint32_t>(body_.size() - 4);
      std::memcpy(body_.data(), &len, 4);
    }
    size_t non_null = 0;
    format::Statistics st;
    format::Encoding enc = EncodePageValues(&body_, &non_null, &st);
    if (enc == format::Encoding::RLE_DICTIONARY) used_dictionary_pages_ = true;
    st.null_count = static_cast<int64_t>(page_rows_ - non_null);
    SLUICE_RETURN_IF_ERROR(internal::AppendDataPageV1(*compressor_, static_cast<int32_t>(page_rows_), enc, body_,
                                                      std::move(st), &scratch_, &pages_, &uncompressed_, &compressed_));
    chunk_rows_ += static_cast<int64_t>(page_rows_);
    chunk_nulls_ += static_cast<int64_t>(page_rows_ - non_null);
    page_rows_ = 0;
    levels_.clear();
    level_count_ = 0;
    return Status::OK();
  }

  Field field_;
  format::Type physical_;
  const WriterOptions& options_;
  Compressor* compressor_;
  bool optional_;
  // Current page.
  size_t page_rows_ = 0;
  std::vector<uint64_t> levels_;
  size_t level_count_ = 0;
  // Chunk.
  std::string pages_;
  int64_t uncompressed_ = 0, compressed_ = 0;
  int64_t chunk_rows_ = 0, chunk_nulls_ = 0;
  bool used_dictionary_pages_ = false;
  std::string body_, scratch_;
};

// ----------------------------------------------------------------------------- fixed width

template <typename P>
uint64_t KeyBits(P v) {
  if constexpr (sizeof(P) == 4) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
  } else {
    uint64_t b;
    std::memcpy(&b, &v, 8);
    return b;
  }
}

// Open-addressing map from a value's bits to its dictionary index.
template <typename P>
class FixedDictionary {
 public:
  FixedDictionary() { Reset(); }
  void Reset() {
    values_.clear();
    slots_.assign(1024, 0);
    shift_ = 64 - 10;
  }
  uint32_t Insert(P v) {
    uint64_t bits = KeyBits(v);
    size_t mask = slots_.size() - 1;
    size_t h = static_cast<size_t>((bits * 0x9E3779B97F4A7C15ull) >> shift_);
    while (true) {
      uint32_t s = slots_[h];
      if (s == 0) {
        values_.push_back(v);
        slots_[h] = static_cast<uint32_t>(values_.size());
        if (values_.size() * 2 > slots_.size()) Grow();
        return static_cast<uint32_t>(values_.size() - 1);
      }
      if (KeyBits(values_[s - 1]) == bits) return s - 1;
      h = (h + 1) & mask;
    }
  }
  size_t size() const { return values_.size(); }
  const std::vector<P>& values() const { return values_; }

 private:
  void Grow() {
    slots_.assign(slots_.size() * 2, 0);
    --shift_;
    size_t mask = slots_.size() - 1;
    for (size_t i = 0; i < values_.size(); ++i) {
      size_t h = static_cast<size_t>((KeyBits(values_[i]) * 0x9E3779B97F4A7C15ull) >> shift_);
      while (slots_[h] != 0) h = (h + 1) & mask;
      slots_[h] = static_cast<uint32_t>(i + 1);
    }
  }
  std::vector<P> values_;
  std::vector<uint32_t> slots_;
  int shift_;
};

// Min/max over the values of a page; NaN never enters (Parquet readers ignore NaN bounds).
template <typename P>
struct MinMax {
  P min{}, max{};
  bool any = false;
  void Update(P v) {
    if constexpr (std::is_floating_point_v<P>) {
      if (std::isnan(v)) return;
    }
    if (!any) {
      min = max = v;
      any = true;
      return;
    }
    min = v < min ? v : min;
    max = v > max ? v : max;
  }
  void Merge(const MinMax& o) {
    if (!o.any) return;
    Update(o.min);
    Update(o.max);
  }
  void Fill(format::Statistics* st) const {
    if (!any) return;
    P lo = min, hi = max;
    if constexpr (std::is_floating_point_v<P>) {
      if (lo == 0) lo = -0.0;
      if (hi == 0) hi = 0.0;
    }
    st->min_value = StatBytes(lo);
    st->max_value = StatBytes(hi);
  }
};

// S: the Sluice storage type; P: the Parquet physical type.
template <typename S, typename P>
class FixedColumnWriter final : public ColumnWriter {
 public:
  FixedColumnWriter(const Field& field, format::Type physical, const WriterOptions& options, Compressor* compressor)
      : ColumnWriter(field, physical, options, compressor), use_dict_(options.dictionary) {}

  Status Append(const Column& col, size_t begin, size_t end) override {
    SLUICE_RETURN_IF_ERROR(CheckRequired(col, begin, end));
    const S* data = col.data<S>();
    const bool nulls = col.has_nulls();
    if (use_dict_) {
      size_t i = begin;
      bool overflow = false;
      size_t limit = options_.dictionary_page_bytes / sizeof(P);
      for (; i < end; ++i) {
        if (nulls && col.IsNull(i)) continue;
        P v = static_cast<P>(data[i]);
        page_stats_.Update(v);
        indices_.push_back(dict_.Insert(v));
        if (dict_.size() > limit) {
          ++i;
          overflow = true;
          break;
        }
      }
      AppendLevels(col, begin, i);
      if (overflow) {
        // The dictionary is full: the chunk goes on in PLAIN (its dictionary is kept for the
        // pages already encoded).
        SLUICE_RETURN_IF_ERROR(FlushPage());
        use_dict_ = false;
        if (i < end) return Append(col, i, end);
        return Status::OK();
      }
    } else {
      size_t old = plain_.size();
      plain_.resize(old + (end - begin) * sizeof(P));
      P* out = reinterpret_cast<P*>(plain_.data() + old);
      size_t k = 0;
      if (!nulls) {
        for (size_t i = begin; i < end; ++i) {
          P v = static_cast<P>(data[i]);
          page_stats_.Update(v);
          out[k++] = v;
        }
      } else {
        for (size_t i = begin; i < end; ++i) {
          if (col.IsNull(i)) continue;
          P v = static_cast<P>(data[i]);
          page_stats_.Update(v);
          out[k++] = v;
        }
      }
      plain_.resize(old + k * sizeof(P));
      plain_count_ += k;
      AppendLevels(col, begin, end);
    }
    return MaybeFlushPage();
  }

 protected:
  size_t PendingBytes() const override {
    size_t values = use_dict_ ? indices_.size() * static_cast<size_t>(encoding::BitWidth(dict_.size())) / 8
                              : plain_.size();
    return values + LevelBytes();
  }
  size_t DictionaryBytes() const override { return dict_.size() * sizeof(P); }
  size_t DictionarySize() const override { return dict_.size(); }
  void EncodeDictionary(std::string* body) override {
    body->append(reinterpret_cast<const char*>(dict_.values().data()), dict_.size() * sizeof(P));
  }
  format::Encoding EncodePageValues(std::string* body, size_t* non_null, format::Statistics* st) override {
    page_stats_.Fill(st);
    chunk_stats_.Merge(page_stats_);
    page_stats_ = MinMax<P>();
    return internal::TakePageValues(use_dict_, dict_.size(), indices_, plain_, plain_count_, body, non_null);
  }
  void ChunkMinMax(format::Statistics* st) override {
    chunk_stats_.Fill(st);
    chunk_stats_ = MinMax<P>();
  }
  void ResetChunk() override {
    dict_.Reset();
    use_dict_ = options_.dictionary;
  }

 private:
  bool use_dict_;
  FixedDictionary<P> dict_;
  std::vector<uint32_t> indices_;
  std::string plain_;
  size_t plain_count_ = 0;
  MinMax<P> page_stats_, chunk_stats_;
};

// ----------------------------------------------------------------------------- booleans

class BoolColumnWriter final : public ColumnWriter {
 public:
  using ColumnWriter::ColumnWriter;

  Status Append(const Column& col, size_t begin, size_t end) override {
    SLUICE_RETURN_IF_ERROR(CheckRequired(col, begin, end));
    const uint8_t* data = col.data<uint8_t>();
    const bool nulls = col.has_nulls();
    for (size_t i = begin; i < end; ++i) {
      if (nulls && col.IsNull(i)) continue;
      bool b = data[i] != 0;
      seen_[b] = true;
      page_seen_[b] = true;
      acc_ |= static_cast<uint64_t>(b) << (count_ & 63);
      if ((++count_ & 63) == 0) {
        bits_.append(reinterpret_cast<const char*>(&acc_), 8);
        acc_ = 0;
      }
    }
    AppendLevels(col, begin, end);
    return MaybeFlushPage();
  }

 protected:
  size_t PendingBytes() const override { return count_ / 8 + LevelBytes(); }
  format::Encoding EncodePageValues(std::string* body, size_t* non_null, format::Statistics* st) override {
    body->append(bits_);
    size_t tail = count_ & 63;
    for (size_t b = 0; b < (tail + 7) / 8; ++b) body->push_back(static_cast<char>(acc_ >> (8 * b)));
    FillMinMax(page_seen_, st);
    *non_null = count_;
    bits_.clear();
    acc_ = 0;
    count_ = 0;
    page_seen_[0] = page_seen_[1] = false;
    return format::Encoding::PLAIN;
  }
  void ChunkMinMax(format::Statistics* st) override {
    FillMinMax(seen_, st);
    seen_[0] = seen_[1] = false;
  }
  void ResetChunk() override {}

 private:
  static void FillMinMax(const bool seen[2], format::Statistics* st) {
    if (!seen[0] && !seen[1]) return;
    st->min_value = std::string(1, seen[0] ? '\0' : '\1');
    st->max_value = std::string(1, seen[1] ? '\1' : '\0');
  }
  std::string bits_;
  uint64_t acc_ = 0;
  size_t count_ = 0;
  bool seen_[2] = {false, false};
  bool page_seen_[2] = {false, false};
};

// ----------------------------------------------------------------------------- byte arrays

class BytesDictionary {
 public:
  BytesDictionary() { Reset(); }
  void Reset() {
    bytes_.clear();
    offsets_.assign(1, 0);
    hashes_.clear();
    slots_.assign(1024, 0);
  }
  // Index of `v`; *inserted tells whether it is new.
  uint32_t Insert(std::string_view v, bool* inserted) {
    uint64_t h = Hash64(v);
    size_t mask = slots_.size() - 1;
    size_t pos = static_cast<size_t>(h) & mask;
    while (true) {
      uint32_t s = slots_[pos];
      if (s == 0) {
        bytes_.append(v.data(), v.size());
        offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
        hashes_.push_back(h);
        slots_[pos] = static_cast<uint32_t>(hashes_.size());
        if (hashes_.size() * 2 > slots_.size()) Grow();
        *inserted = true;
        return static_cast<uint32_t>(hashes_.size() - 1);
      }
      uint32_t idx = s - 1;
      if (hashes_[idx] == h && Get(idx) == v) {
        *inserted = false;
        return idx;
      }
      pos = (pos + 1) & mask;
    }
  }
  std::string_view Get(uint32_t i) const {
    return std::string_view(bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  size_t size() const { return hashes_.size(); }
  size_t PlainBytes() const { return bytes_.size() + 4 * hashes_.size(); }

 private:
  void Grow() {
    slots_.assign(slots_.size() * 2, 0);
    size_t mask = slots_.size() - 1;
    for (size_t i = 0; i < hashes_.size(); ++i) {
      size_t pos = static_cast<size_t>(hashes_[i]) & mask;
      while (slots_[pos] != 0) pos = (pos + 1) & mask;
      slots_[pos] = static_cast<uint32_t>(i + 1);
    }
  }
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> slots_;
};

struct BytesMinMax {
  std::string min, max;
  bool any = false;
  void Update(std::string_view v) {
    if (!any) {
      min.assign(v);
      max.assign(v);
      any = true;
      return;
    }
    if (v < std::string_view(min)) min.assign(v);
    if (v > std::string_view(max)) max.assign(v);
  }
  void Fill(format::Statistics* st) const {
    if (!any || min.size() > kMaxStatBytes || max.size() > kMaxStatBytes) return;
    st->min_value = min;
    st->max_value = max;
  }
};

class BytesColumnWriter final : public ColumnWriter {
 public:
  BytesColumnWriter(const Field& field, format::Type physical, const WriterOptions& options, Compressor* compressor)
      : ColumnWriter(field, physical, options, compressor), use_dict_(options.dictionary) {}

  Status Append(const Column& col, size_t begin, size_t end) override {
    SLUICE_RETURN_IF_ERROR(CheckRequired(col, begin, end));
    const uint32_t* offsets = col.offsets();
    const char* chars = col.chars();
    const bool nulls = col.has_nulls();
    if (use_dict_) {
      size_t i = begin;
      bool overflow = false;
      for (; i < end; ++i) {
        if (nulls && col.IsNull(i)) continue;
        std::string_view v(chars + offsets[i], offsets[i + 1] - offsets[i]);
        bool inserted;
        indices_.push_back(dict_.Insert(v, &inserted));
        if (inserted) {
          chunk_stats_.Update(v);
          if (dict_.PlainBytes() > options_.dictionary_page_bytes) {
            ++i;
            overflow = true;
            break;
          }
        }
      }
      AppendLevels(col, begin, i);
      if (overflow) {
        SLUICE_RETURN_IF_ERROR(FlushPage());
        use_dict_ = false;
        if (i < end) return Append(col, i, end);
        return Status::OK();
      }
    } else {
      size_t bytes = offsets[end] - offsets[begin];
      plain_.reserve(plain_.size() + bytes + 4 * (end - begin));
      for (size_t i = begin; i < end; ++i) {
        if (nulls && col.IsNull(i)) continue;
        uint32_t len = offsets[i + 1] - offsets[i];
        std::string_view v(chars + offsets[i], len);
        chunk_stats_.Update(v);
        plain_.append(reinterpret_cast<const char*>(&len), 4);
        plain_.append(v.data(), v.size());
        ++plain_count_;
      }
      AppendLevels(col, begin, end);
    }
    return MaybeFlushPage();
  }

 protected:
  size_t PendingBytes() const override {
    size_t values = use_dict_ ? indices_.size() * static_cast<size_t>(encoding::BitWidth(dict_.size())) / 8
                              : plain_.size();
    return values + LevelBytes();
  }
  size_t DictionaryBytes() const override { return dict_.PlainBytes(); }
  size_t DictionarySize() const override { return dict_.size(); }
  void EncodeDictionary(std::string* body) override {
    body->reserve(dict_.PlainBytes());
    for (uint32_t i = 0; i < dict_.size(); ++i) {
      std::string_view v = dict_.Get(i);
      uint32_t len = static_cast<uint32_t>(v.size());
      body->append(reinterpret_cast<const char*>(&len), 4);
      body->append(v.data(), v.size());
    }
  }
  format::Encoding EncodePageValues(std::string* body, size_t* non_null, format::Statistics* st) override {
    return internal::TakePageValues(use_dict_, dict_.size(), indices_, plain_, plain_count_, body, non_null);
  }
  void ChunkMinMax(format::Statistics* st) override {
    chunk_stats_.Fill(st);
    chunk_stats_ = BytesMinMax();
  }
  void ResetChunk() override {
    dict_.Reset();
    use_dict_ = options_.dictionary;
  }

 private:
  bool use_dict_;
  BytesDictionary dict_;
  std::vector<uint32_t> indices_;
  std::string plain_;
  size_t plain_count_ = 0;
  BytesMinMax chunk_stats_;
};

std::unique_ptr<ColumnWriter> MakeColumnWriter(const Field& f, const WriterOptions& o, Compressor* c) {
  format::Type phys = *internal::LeafElement(f.name, f.type, format::Repetition::OPTIONAL).type;
  switch (f.type.id) {
    case TypeId::kBool: return std::make_unique<BoolColumnWriter>(f, phys, o, c);
    case TypeId::kInt32:
    case TypeId::kDate: return std::make_unique<FixedColumnWriter<int32_t, int32_t>>(f, phys, o, c);
    case TypeId::kDecimal:
      if (f.type.precision <= 9) return std::make_unique<FixedColumnWriter<int64_t, int32_t>>(f, phys, o, c);
      return std::make_unique<FixedColumnWriter<int64_t, int64_t>>(f, phys, o, c);
    case TypeId::kInt64:
    case TypeId::kTimestamp: return std::make_unique<FixedColumnWriter<int64_t, int64_t>>(f, phys, o, c);
    case TypeId::kFloat64: return std::make_unique<FixedColumnWriter<double, double>>(f, phys, o, c);
    case TypeId::kString:
    case TypeId::kBinary: return std::make_unique<BytesColumnWriter>(f, phys, o, c);
    case TypeId::kNull: break;
  }
  return nullptr;
}

}  // namespace

// ============================================================================= Writer

struct Writer::Impl {
  std::string path;
  SchemaPtr schema;
  WriterOptions options;
  std::unique_ptr<io::FileWriter> sink;
  std::unique_ptr<Compressor> compressor;
  std::vector<std::unique_ptr<ColumnWriter>> columns;
  format::FileMetaData meta;
  int64_t rows = 0;
  int64_t group_rows = 0;
  bool closed = false;
  Status failed;
  std::string chunk_buf;

  Status FlushRowGroup() {
    if (group_rows == 0) return Status::OK();
    format::RowGroup rg;
    rg.num_rows = group_rows;
    rg.file_offset = sink->size();
    int64_t total_unc = 0, total_comp = 0;
    for (auto& c : columns) {
      chunk_buf.clear();
      format::ColumnChunk cc;
      cc.meta_data.emplace();
      int64_t start = sink->size();
      SLUICE_RETURN_IF_ERROR(c->FinishChunk(&chunk_buf, start, &*cc.meta_data));
      cc.file_offset = start;
      total_unc += cc.meta_data->total_uncompressed_size;
      total_comp += cc.meta_data->total_compressed_size;
      SLUICE_RETURN_IF_ERROR(sink->Append(chunk_buf));
      rg.columns.push_back(std::move(cc));
    }
    rg.total_byte_size = total_unc;
    rg.total_compressed_size = total_comp;
    rg.ordinal = static_cast<int16_t>(std::min<size_t>(meta.row_groups.size(), INT16_MAX));
    meta.row_groups.push_back(std::move(rg));
    group_rows = 0;
    if (chunk_buf.capacity() > (64u << 20)) std::string().swap(chunk_buf);
    return Status::OK();
  }

  size_t EstimatedGroupBytes() const {
    size_t total = 0;
    for (const auto& c : columns) total += c->EstimatedBytes();
    return total;
  }

  Status WriteRows(const Batch& batch) {
    size_t n = batch.num_rows();
    size_t pos = 0;
    while (pos < n) {
      size_t slice = std::min<size_t>(n - pos, 8192);
      if (group_rows > 0) {
        size_t est = EstimatedGroupBytes();
        size_t per_row = std::max<size_t>(1, est / static_cast<size_t>(group_rows));
        size_t left = est >= options.row_group_bytes ? 1 : (options.row_group_bytes - est) / per_row + 1;
        slice = std::min(slice, left);
      } else {
        slice = std::min<size_t>(slice, 1024);
      }
      for (size_t c = 0; c < columns.size(); ++c) {
        SLUICE_RETURN_IF_ERROR(columns[c]->Append(*batch.column(c), pos, pos + slice));
      }
      pos += slice;
      group_rows += static_cast<int64_t>(slice);
      rows += static_cast<int64_t>(slice);
      if (EstimatedGroupBytes() >= options.row_group_bytes) SLUICE_RETURN_IF_ERROR(FlushRowGroup());
    }
    return Status::OK();
  }
};

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::~Writer() = default;

Result<std::unique_ptr<Writer>> Writer::Open(const std::string& path, SchemaPtr schema, WriterOptions options) {
  if (!schema || schema->size() == 0) return Status::InvalidArgument("{}: a Parquet file needs at least one column", path);
  for (const auto& f : schema->fields()) {
    if (f.type.id == TypeId::kNull) {
      return Status::InvalidArgument("{}: column '{}' has no type (null)", path, f.name);
    }
    if (f.type.id == TypeId::kDecimal && (f.type.precision < 1 || f.type.precision > kMaxDecimalPrecision)) {
      return Status::InvalidArgument("{}: column '{}' has unsupported type {}", path, f.name, f.type.ToString());
    }
  }
  if (options.data_page_bytes == 0) options.data_page_bytes = 1;
  if (options.row_group_bytes == 0) options.row_group_bytes = 1;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->schema = schema;
  impl->options = std::move(options);
  SLUICE_ASSIGN_OR_RETURN(impl->sink, io::FileWriter::Open(path, /*truncate=*/true));
  impl->compressor = std::make_unique<Compressor>(internal::CodecOf(impl->options.compression),
                                                  impl->options.zstd_level);
  for (const auto& f : schema->fields()) {
    impl->columns.push_back(MakeColumnWriter(f, impl->options, impl->compressor.get()));
  }
  // Schema: the root, then one leaf per field.
  format::SchemaElement root;
  root.name = "schema";
  root.repetition = format::Repetition::REQUIRED;
  root.num_children = static_cast<int32_t>(schema->size());
  impl->meta.schema.push_back(root);
  for (const auto& f : schema->fields()) {
    impl->meta.schema.push_back(internal::LeafElement(
        f.name, f.type, f.required ? format::Repetition::REQUIRED : format::Repetition::OPTIONAL));
  }
  impl->meta.version = 2;
  impl->meta.created_by = impl->options.created_by;
  for (const auto& [k, v] : impl->options.key_value_metadata) impl->meta.key_value_metadata.push_back({k, v});
  impl->meta.column_orders = static_cast<int32_t>(schema->size());
  SLUICE_RETURN_IF_ERROR(impl->sink->Append(std::string_view(format::kMagic, 4)));
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

Status Writer::Write(const Batch& batch) {
  Impl& w = *impl_;
  if (w.closed) return Status::FailedPrecondition("{}: write after close", w.path);
  if (!w.failed.ok()) return w.failed;
  if (batch.num_columns() != w.schema->size()) {
    return Status::InvalidArgument("{}: batch has {} columns, the file has {}", w.path, batch.num_columns(),
                                   w.schema->size());
  }
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    if (batch.column(c)->type() != w.schema->field(c).type) {
      return Status::InvalidArgument("{}: column '{}' is {} in the batch but {} in the file", w.path,
                                     w.schema->field(c).name, batch.column(c)->type().ToString(),
                                     w.schema->field(c).type.ToString());
    }
    if (batch.column(c)->size() < batch.num_rows()) {
      return Status::Internal("{}: column '{}' has {} rows, the batch {}", w.path, w.schema->field(c).name,
                              batch.column(c)->size(), batch.num_rows());
    }
  }
  Status st = batch.has_selection() ? w.WriteRows(batch.Compact()) : w.WriteRows(batch);
  if (!st.ok()) {
    // A required column holding a null is the caller's error; nothing half-written survives a
    // failed writer anyway (the file is invalid until Close).
    w.failed = st.WithContext(w.path);
    return w.failed;
  }
  return Status::OK();
}

Status Writer::Close() { return internal::CloseWriter(*impl_); }

int64_t Writer::rows_written() const { return impl_->rows; }
int64_t Writer::bytes_written() const { return impl_->sink->size(); }

}  // namespace sluice::parquet
