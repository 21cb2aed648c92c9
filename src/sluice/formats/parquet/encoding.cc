#include "sluice/formats/parquet/encoding.h"

#include <algorithm>

namespace sluice::parquet::encoding {

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void BitPack(const uint32_t* values, size_t n, int width, std::string& out) {
  if (width == 0 || n == 0) return;
  size_t bytes = n * width / 8;
  size_t start = out.size();
  out.resize(start + bytes + 8);  // slack for the 4-byte stores below
  char* p = out.data() + start;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc |= static_cast<uint64_t>(values[i]) << bits;
    bits += width;
    if (bits >= 32) {
      uint32_t lo = static_cast<uint32_t>(acc);
      std::memcpy(p, &lo, 4);
      p += 4;
      acc >>= 32;
      bits -= 32;
    }
  }
  while (bits > 0) {
    *p++ = static_cast<char>(acc);
    acc >>= 8;
    bits -= 8;
  }
  out.resize(start + bytes);
}

namespace {

void AppendRleRun(std::string& out, size_t count, uint32_t value, int width) {
  AppendVarint(out, static_cast<uint64_t>(count) << 1);
  int bytes = (width + 7) / 8;
  for (int b = 0; b < bytes; ++b) out.push_back(static_cast<char>(value >> (8 * b)));
}

void AppendPackedGroups(std::string& out, const uint32_t* values, size_t available, size_t groups, int width) {
  AppendVarint(out, (static_cast<uint64_t>(groups) << 1) | 1);
  size_t n = groups * 8;
  if (available >= n) {
    BitPack(values, n, width, out);
  } else {
    uint32_t tmp[8] = {0};
    size_t full = available / 8 * 8;
    BitPack(values, full, width, out);
    std::copy(values + full, values + available, tmp);
    BitPack(tmp, 8, width, out);
  }
}

}  // namespace

void EncodeRleHybrid(const uint32_t* v, size_t n, int width, std::string& out) {
  size_t i = 0;
  size_t pending_start = 0, pending_groups = 0;
  auto flush = [&]() {
    if (pending_groups == 0) return;
    AppendPackedGroups(out, v + pending_start, n - pending_start, pending_groups, width);
    pending_groups = 0;
  };
  while (i < n) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i]) ++j;
    if (j - i >= 8) {
      flush();
      AppendRleRun(out, j - i, v[i], width);
      i = j;
    } else {
      if (pending_groups == 0) pending_start = i;
      ++pending_groups;
      i += 8;
    }
  }
  flush();
}

void EncodeBitmapLevels(const uint64_t* bits, size_t n, std::string& out) {
  if (n == 0) return;
  size_t ones = 0;
  size_t words = n / 64;
  for (size_t w = 0; w < words; ++w) ones += __builtin_popcountll(bits[w]);
  if (n & 63) ones += __builtin_popcountll(bits[words] & ((uint64_t{1} << (n & 63)) - 1));
  if (ones == n || ones == 0) {
    AppendRleRun(out, n, ones == n ? 1 : 0, 1);
    return;
  }
  const uint8_t* b = reinterpret_cast<const uint8_t*>(bits);
  size_t full = n / 8;
  size_t i = 0, pending_start = 0, pending = 0;
  auto flush = [&]() {
    if (pending == 0) return;
    AppendVarint(out, (static_cast<uint64_t>(pending) << 1) | 1);
    out.append(reinterpret_cast<const char*>(b + pending_start), pending);
    pending = 0;
  };
  while (i < full) {
    uint8_t x = b[i];
    if (x == 0 || x == 0xff) {
      size_t j = i + 1;
      while (j < full && b[j] == x) ++j;
      if (j - i >= 2) {
        flush();
        AppendRleRun(out, (j - i) * 8, x & 1, 1);
        i = j;
        continue;
      }
    }
    if (pending == 0) pending_start = i;
    ++pending;
    ++i;
  }
  if (n & 7) {
    if (pending == 0) pending_start = full;
    ++pending;
  }
  flush();
}

namespace {

inline uint64_t ReadWord(const uint64_t* src, size_t nwords, size_t pos) {
  size_t w = pos >> 6, o = pos & 63;
  uint64_t v = src[w] >> o;
  if (o && w + 1 < nwords) v |= src[w + 1] << (64 - o);
  return v;
}

inline void PushBits(std::vector<uint64_t>& dst, size_t* size, uint64_t w, size_t take) {
  size_t off = *size & 63;
  if (off == 0) {
    dst.push_back(w);
  } else {
    dst.back() |= w << off;
    if (off + take > 64) dst.push_back(w >> (64 - off));
  }
  *size += take;
}

}  // namespace

void AppendBits(std::vector<uint64_t>& dst, size_t* size, const uint64_t* src, size_t src_start, size_t count) {
  size_t nwords = (src_start + count + 63) / 64;
  while (count > 0) {
    size_t take = std::min<size_t>(64, count);
    uint64_t w = ReadWord(src, nwords, src_start);
    if (take < 64) w &= (uint64_t{1} << take) - 1;
    PushBits(dst, size, w, take);
    src_start += take;
    count -= take;
  }
}

void AppendBitsConstant(std::vector<uint64_t>& dst, size_t* size, bool value, size_t count) {
  while (count > 0) {
    size_t take = std::min<size_t>(64, count);
    uint64_t w = value ? (take == 64 ? ~uint64_t{0} : (uint64_t{1} << take) - 1) : 0;
    PushBits(dst, size, w, take);
    count -= take;
  }
}

// ----------------------------------------------------------------------------- decoding

uint32_t UnpackOne(const uint8_t* p, size_t bytes, uint64_t i, int width) {
  uint64_t bit = i * width;
  size_t byte = bit >> 3;
  int shift = bit & 7;
  uint64_t v = 0;
  if (byte + 8 <= bytes) {
    std::memcpy(&v, p + byte, 8);
  } else {
    for (size_t k = 0; k < 8 && byte + k < bytes; ++k) v |= static_cast<uint64_t>(p[byte + k]) << (8 * k);
  }
  return static_cast<uint32_t>((v >> shift) & ((uint64_t{1} << width) - 1));
}

void RleDecoder::Reset(const uint8_t* data, size_t size, int width) {
  data_ = data;
  size_ = size;
  pos_ = 0;
  width_ = width;
  remaining_ = 0;
  rle_ = false;
}

Status RleDecoder::NextRun() {
  if (width_ < 0 || width_ > 32) return Status::DataError("bit width {} out of range", width_);
  uint64_t header = 0;
  for (int shift = 0;; shift += 7) {
    if (pos_ >= size_) return Status::DataError("RLE/bit-packed data ends early");
    if (shift > 56) return Status::DataError("RLE run header too long");
    uint8_t b = data_[pos_++];
    header |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (header & 1) {
    uint64_t groups = header >> 1;
    if (groups == 0) return Status::DataError("empty bit-packed run");
    uint64_t bytes = groups * width_;
    if (groups > (uint64_t{1} << 40)) return Status::DataError("bit-packed run too long");
    uint64_t avail = size_ - pos_;
    if (bytes > avail) {
      // A truncated last run: keep the values that are present.
      bytes = avail;
    }
    rle_ = false;
    packed_ = data_ + pos_;
    packed_index_ = 0;
    remaining_ = width_ == 0 ? groups * 8 : std::min<uint64_t>(groups * 8, bytes * 8 / width_);
    packed_bytes_ = bytes;
    pos_ += bytes;
    if (remaining_ == 0) return Status::DataError("RLE/bit-packed data ends early");
  } else {
    uint64_t count = header >> 1;
    if (count == 0) return Status::DataError("empty RLE run");
    int bytes = (width_ + 7) / 8;
    if (size_ - pos_ < static_cast<size_t>(bytes)) return Status::DataError("RLE run value ends early");
    uint32_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= static_cast<uint32_t>(data_[pos_ + b]) << (8 * b);
    pos_ += bytes;
    rle_ = true;
    rle_value_ = v;
    remaining_ = count;
  }
  return Status::OK();
}

template <typename T>
Status RleDecoder::Get(T* out, size_t n) {
  while (n > 0) {
    if (remaining_ == 0) SLUICE_RETURN_IF_ERROR(NextRun());
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
    if (rle_) {
      std::fill(out, out + k, static_cast<T>(rle_value_));
    } else if (width_ == 0) {
      std::fill(out, out + k, T{0});
      packed_index_ += k;
    } else if (width_ == 1) {
      for (size_t i = 0; i < k; ++i) {
        uint64_t idx = packed_index_ + i;
        out[i] = static_cast<T>((packed_[idx >> 3] >> (idx & 7)) & 1);
      }
      packed_index_ += k;
    } else {
      for (size_t i = 0; i < k; ++i) out[i] = static_cast<T>(UnpackOne(packed_, packed_bytes_, packed_index_ + i, width_));
      packed_index_ += k;
    }
    out += k;
    n -= k;
    remaining_ -= k;
  }
  return Status::OK();
}

template Status RleDecoder::Get<uint8_t>(uint8_t*, size_t);
template Status RleDecoder::Get<uint16_t>(uint16_t*, size_t);
template Status RleDecoder::Get<uint32_t>(uint32_t*, size_t);

namespace {

Status ReadVarint(const uint8_t* data, size_t size, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= size) return Status::DataError("varint ends early");
    uint8_t b = data[(*pos)++];
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return Status::OK();
    }
  }
  return Status::DataError("varint too long");
}

inline uint64_t UnZigZag64(uint64_t v) { return (v >> 1) ^ -(v & 1); }

}  // namespace

template <typename T>
Status DeltaBinaryPackedDecoder<T>::Init(const uint8_t* data, size_t size, size_t max_values) {
  *this = DeltaBinaryPackedDecoder();
  data_ = data;
  size_ = size;
  uint64_t block_size = 0, miniblocks = 0, total = 0, first_zz = 0;
  SLUICE_RETURN_IF_ERROR(ReadVarint(data_, size_, &pos_, &block_size));
  SLUICE_RETURN_IF_ERROR(ReadVarint(data_, size_, &pos_, &miniblocks));
  SLUICE_RETURN_IF_ERROR(ReadVarint(data_, size_, &pos_, &total));
  SLUICE_RETURN_IF_ERROR(ReadVarint(data_, size_, &pos_, &first_zz));
  if (block_size == 0 || block_size % 128 != 0 || block_size > (1u << 20) || miniblocks == 0 ||
      block_size % miniblocks != 0 || (block_size / miniblocks) % 32 != 0) {
    return Status::DataError("bad DELTA_BINARY_PACKED header (block {} miniblocks {})", block_size, miniblocks);
  }
  if (total > max_values) {
    return Status::DataError("DELTA_BINARY_PACKED announces {} values, more than the {} expected", total, max_values);
  }
  miniblocks_ = miniblocks;
  per_mini_ = block_size / miniblocks;
  total_ = remaining_ = total;
  first_pending_ = total > 0;
  prev_ = UnZigZag64(first_zz);
  next_mini_ = miniblocks_;  // no block read yet
  return Status::OK();
}

template <typename T>
Status DeltaBinaryPackedDecoder<T>::NextMiniblock() {
  if (next_mini_ == miniblocks_) {
    uint64_t min_zz;
    if (!ReadVarint(data_, size_, &pos_, &min_zz).ok()) {
      return Status::DataError("DELTA_BINARY_PACKED data ends early after {} of the {} values it announces",
                               total_ - remaining_, total_);
    }
    min_delta_ = UnZigZag64(min_zz);
    if (size_ - pos_ < miniblocks_) return Status::DataError("DELTA_BINARY_PACKED bit widths end early");
    widths_ = data_ + pos_;
    pos_ += miniblocks_;
    next_mini_ = 0;
  }
  int w = widths_[next_mini_++];
  if (w > 64) return Status::DataError("DELTA_BINARY_PACKED bit width {} out of range", w);
  uint64_t bytes = per_mini_ * w / 8;
  if (size_ - pos_ < bytes) return Status::DataError("DELTA_BINARY_PACKED miniblock ends early");
  mini_ = data_ + pos_;
  mini_width_ = w;
  mini_pos_ = 0;
  mini_left_ = std::min(per_mini_, remaining_);
  pos_ += bytes;
  return Status::OK();
}

template <typename T>
uint64_t DeltaBinaryPackedDecoder<T>::Unpack(uint64_t i) const {
  const int w = mini_width_;
  uint64_t bit = i * w;
  const uint8_t* q = mini_ + (bit >> 3);
  int shift = bit & 7;
  uint64_t lo = 0, hi = 0;
  if (static_cast<size_t>(q - data_) + 16 <= size_) {
    std::memcpy(&lo, q, 8);
    std::memcpy(&hi, q + 8, 8);
  } else {
    // The last bytes of the input: assemble what is there (the value's own bits always are).
    size_t avail = size_ - static_cast<size_t>(q - data_);
    uint8_t tmp[16] = {0};
    std::memcpy(tmp, q, std::min<size_t>(avail, 16));
    std::memcpy(&lo, tmp, 8);
    std::memcpy(&hi, tmp + 8, 8);
  }
  uint64_t v = lo >> shift;
  if (shift) v |= hi << (64 - shift);
  return w == 64 ? v : v & ((uint64_t{1} << w) - 1);
}

template <typename T>
Status DeltaBinaryPackedDecoder<T>::Get(T* out, size_t n) {
  if (n > remaining_) {
    return Status::DataError("DELTA_BINARY_PACKED holds {} values, {} more are needed", total_, n - remaining_);
  }
  if (n > 0 && first_pending_) {
    *out++ = static_cast<T>(prev_);
    first_pending_ = false;
    --remaining_;
    --n;
  }
  while (n > 0) {
    if (mini_left_ == 0) SLUICE_RETURN_IF_ERROR(NextMiniblock());
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, mini_left_));
    uint64_t prev = prev_;
    if (mini_width_ == 0) {
      for (size_t j = 0; j < k; ++j) {
        prev += min_delta_;
        out[j] = static_cast<T>(prev);
      }
    } else {
      for (size_t j = 0; j < k; ++j) {
        prev += min_delta_ + Unpack(mini_pos_ + j);
        out[j] = static_cast<T>(prev);
      }
    }
    prev_ = prev;
    mini_pos_ += k;
    mini_left_ -= k;
    remaining_ -= k;
    out += k;
    n -= k;
  }
  return Status::OK();
}

template <typename T>
Status DeltaBinaryPackedDecoder<T>::SkipRest(size_t* end) {
  if (remaining_ > 0 && first_pending_) {
    first_pending_ = false;
    --remaining_;
  }
  while (remaining_ > 0) {
    if (mini_left_ == 0) SLUICE_RETURN_IF_ERROR(NextMiniblock());
    remaining_ -= mini_left_;
    mini_left_ = 0;
  }
  *end = pos_;
  return Status::OK();
}

template class DeltaBinaryPackedDecoder<int32_t>;
template class DeltaBinaryPackedDecoder<int64_t>;

template <typename T>
Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t max_values, std::vector<T>* out,
                               size_t* consumed) {
  DeltaBinaryPackedDecoder<T> dec;
  SLUICE_RETURN_IF_ERROR(dec.Init(data, size, max_values));
  out->resize(dec.total());  // at most max_values: the caller's bound
  SLUICE_RETURN_IF_ERROR(dec.Get(out->data(), out->size()));
  return dec.SkipRest(consumed);
}

template Status DecodeDeltaBinaryPacked<int32_t>(const uint8_t*, size_t, size_t, std::vector<int32_t>*, size_t*);
template Status DecodeDeltaBinaryPacked<int64_t>(const uint8_t*, size_t, size_t, std::vector<int64_t>*, size_t*);

Status DeltaLengthByteArrayDecoder::Init(const uint8_t* data, size_t size, size_t max_values) {
  SLUICE_RETURN_IF_ERROR(lengths_.Init(data, size, max_values));
  // The bytes start where the lengths end: walk a copy of the decoder to find it.
  DeltaBinaryPackedDecoder<int32_t> walk = lengths_;
  size_t used = 0;
  SLUICE_RETURN_IF_ERROR(walk.SkipRest(&used));
  bytes_ = data + used;
  bytes_size_ = size - used;
  bytes_pos_ = 0;
  return Status::OK();
}

Status DeltaLengthByteArrayDecoder::Get(size_t n, ByteArrays* out) {
  scratch_.resize(n);
  SLUICE_RETURN_IF_ERROR(lengths_.Get(scratch_.data(), n));
  uint64_t total = 0;
  for (int32_t l : scratch_) {
    if (l < 0) return Status::DataError("negative byte array length");
    total += static_cast<uint64_t>(l);
  }
  if (total > bytes_size_ - bytes_pos_) return Status::DataError("DELTA_LENGTH_BYTE_ARRAY data ends early");
  if (out->bytes.size() + total > UINT32_MAX) return Status::DataError("byte arrays exceed 4 GiB");
  out->offsets.reserve(out->offsets.size() + n);
  uint32_t pos = static_cast<uint32_t>(out->bytes.size());
  out->bytes.append(reinterpret_cast<const char*>(bytes_ + bytes_pos_), total);
  bytes_pos_ += total;
  for (int32_t l : scratch_) {
    pos += static_cast<uint32_t>(l);
    out->offsets.push_back(pos);
  }
  return Status::OK();
}

Status DeltaByteArrayDecoder::Init(const uint8_t* data, size_t size, size_t max_values) {
  SLUICE_RETURN_IF_ERROR(prefixes_.Init(data, size, max_values));
  DeltaBinaryPackedDecoder<int32_t> walk = prefixes_;
  size_t used = 0;
  SLUICE_RETURN_IF_ERROR(walk.SkipRest(&used));
  SLUICE_RETURN_IF_ERROR(suffixes_.Init(data + used, size - used, max_values));
  if (suffixes_.total() != prefixes_.total()) {
    return Status::DataError("DELTA_BYTE_ARRAY holds {} prefixes but {} suffixes", prefixes_.total(),
                             suffixes_.total());
  }
  prev_.clear();
  return Status::OK();
}

Status DeltaByteArrayDecoder::Get(size_t n, ByteArrays* out) {
  prefix_scratch_.resize(n);
  SLUICE_RETURN_IF_ERROR(prefixes_.Get(prefix_scratch_.data(), n));
  suffix_scratch_.clear();
  SLUICE_RETURN_IF_ERROR(suffixes_.Get(n, &suffix_scratch_));
  const auto& sfx = suffix_scratch_;
  out->offsets.reserve(out->offsets.size() + n);
  for (size_t i = 0; i < n; ++i) {
    int32_t p = prefix_scratch_[i];
    if (p < 0 || static_cast<size_t>(p) > prev_.size()) {
      return Status::DataError("DELTA_BYTE_ARRAY prefix length {} out of range", p);
    }
    prev_.resize(p);
    prev_.append(sfx.bytes, sfx.offsets[i], sfx.offsets[i + 1] - sfx.offsets[i]);
    if (out->bytes.size() + prev_.size() > UINT32_MAX) return Status::DataError("byte arrays exceed 4 GiB");
    out->bytes.append(prev_);
    out->offsets.push_back(static_cast<uint32_t>(out->bytes.size()));
  }
  return Status::OK();
}

Status DecodePlainByteArray(const uint8_t* data, size_t size, size_t n, ByteArrays* out, size_t* consumed) {
  // Every value takes at least its 4-byte length: check before reserving for n values.
  if (n > size / 4) {
    return Status::DataError("PLAIN byte arrays end early ({} values need at least {} bytes, {} present)", n,
                             static_cast<uint64_t>(n) * 4, size);
  }
  size_t pos = 0;
  out->offsets.reserve(out->offsets.size() + n);
  for (size_t i = 0; i < n; ++i) {
    if (size - pos < 4) return Status::DataError("PLAIN byte array length ends early (value {} of {})", i, n);
    uint32_t len;
    std::memcpy(&len, data + pos, 4);
    pos += 4;
    if (len > size - pos) return Status::DataError("PLAIN byte array of {} bytes exceeds the page (value {} of {})", len, i, n);
    if (out->bytes.size() + len > UINT32_MAX) return Status::DataError("byte arrays exceed 4 GiB");
    out->bytes.append(reinterpret_cast<const char*>(data + pos), len);
    out->offsets.push_back(static_cast<uint32_t>(out->bytes.size()));
    pos += len;
  }
  *consumed = pos;
  return Status::OK();
}

Status DecodeByteStreamSplit(const uint8_t* data, size_t size, int width, size_t first, size_t n, uint8_t* out) {
  size_t stride = size / static_cast<size_t>(width);
  if (first > stride || n > stride - first) return Status::DataError("BYTE_STREAM_SPLIT data ends early");
  for (int b = 0; b < width; ++b) {
    const uint8_t* stream = data + static_cast<size_t>(b) * stride + first;
    for (size_t i = 0; i < n; ++i) out[i * width + b] = stream[i];
  }
  return Status::OK();
}

}  // namespace sluice::parquet::encoding
