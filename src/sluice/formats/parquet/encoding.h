// Parquet value and level encodings: the RLE/bit-packed hybrid (levels, dictionary indices,
// booleans), bit packing, PLAIN helpers, and decoders for DELTA_BINARY_PACKED,
// DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
//
// Encoders append to a std::string. Decoders read only inside the range they are given and
// report malformed input as a DataError (without an offset; the caller adds the page's).
// Thread-safety: stateless functions; decoder objects belong to one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::parquet::encoding {

// Bits needed for values 0..max_value (0 for max_value == 0).
inline int BitWidth(uint64_t max_value) { return max_value == 0 ? 0 : 64 - __builtin_clzll(max_value); }

void AppendVarint(std::string& out, uint64_t v);
inline void AppendLE32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

// Packs n values (n a multiple of 8) of `width` bits, LSB first, appending n*width/8 bytes.
void BitPack(const uint32_t* values, size_t n, int width, std::string& out);

// The RLE/bit-packed hybrid of `n` values of `width` bits (no length prefix): runs of >= 8
// equal values become RLE runs, the rest bit-packed groups of 8.
void EncodeRleHybrid(const uint32_t* values, size_t n, int width, std::string& out);

// Width-1 levels given as a bitmap (bit i of word i/64 = level of value i). All ones -> one RLE
// run; otherwise RLE runs for long runs of equal whole bytes and bit-packed groups in between.
void EncodeBitmapLevels(const uint64_t* bits, size_t n, std::string& out);

// Appends `count` bits of `src` from bit `src_start` to a bitmap holding `*size` bits (words
// past the last bit stay zero).
// `src` holds at least ceil((src_start + count) / 64) words.
void AppendBits(std::vector<uint64_t>& dst, size_t* size, const uint64_t* src, size_t src_start, size_t count);
void AppendBitsConstant(std::vector<uint64_t>& dst, size_t* size, bool value, size_t count);

// Decoder of the RLE/bit-packed hybrid.
class RleDecoder {
 public:
  RleDecoder() = default;
  RleDecoder(const uint8_t* data, size_t size, int width) { Reset(data, size, width); }
  void Reset(const uint8_t* data, size_t size, int width);
  // Decodes exactly n values into out (uint8_t for levels, uint32_t for indices), or fails
  // if the input ends first or is malformed.
  template <typename T>
  Status Get(T* out, size_t n);

 private:
  Status NextRun();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
  int width_ = 0;
  // Current run.
  bool rle_ = false;
  uint64_t remaining_ = 0;       // values left in the run
  uint32_t rle_value_ = 0;
  const uint8_t* packed_ = nullptr;  // bit-packed run data
  uint64_t packed_index_ = 0;        // next value index within the packed run
  uint64_t packed_bytes_ = 0;        // bytes of the packed run
};

// Unpacks value `i` of a bit-packed run of `width`-bit values at `p` that holds `bytes` bytes.
uint32_t UnpackOne(const uint8_t* p, size_t bytes, uint64_t i, int width);

// Byte arrays decoded into offsets (size n+1) and one contiguous buffer.
struct ByteArrays {
  std::vector<uint32_t> offsets{0};
  std::string bytes;
  size_t size() const { return offsets.size() - 1; }
  void clear() {
    offsets.assign(1, 0);
    bytes.clear();
  }
};

// The decoders below are streaming: Init reads a header, Get decodes the next values on demand.
// They hold no buffers sized by the counts a header announces (bit widths and packed bytes are
// read in place), so what they allocate follows what the caller asks for and the bytes present.

// DELTA_BINARY_PACKED. T is int32_t or int64_t (wrapping arithmetic, as the format specifies).
template <typename T>
class DeltaBinaryPackedDecoder {
 public:
  // Reads the header; fails if it is malformed or announces more than `max_values` values.
  Status Init(const uint8_t* data, size_t size, size_t max_values);
  uint64_t total() const { return total_; }          // values the header announces
  uint64_t remaining() const { return remaining_; }  // values not decoded yet
  // Decodes the next n values (fails if fewer than n remain or the data ends early).
  Status Get(T* out, size_t n);
  // Walks the remaining values without decoding them; *end receives the offset just past the
  // encoding (where the data that follows it starts).
  Status SkipRest(size_t* end);

 private:
  Status NextMiniblock();
  uint64_t Unpack(uint64_t i) const;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
  uint64_t miniblocks_ = 0, per_mini_ = 0, total_ = 0, remaining_ = 0;
  bool first_pending_ = false;  // the first value (in the header) is not returned yet
  uint64_t prev_ = 0;
  uint64_t min_delta_ = 0;
  const uint8_t* widths_ = nullptr;  // bit widths of the current block's miniblocks
  uint64_t next_mini_ = 0;           // next miniblock of the current block (== miniblocks_: none)
  const uint8_t* mini_ = nullptr;    // current miniblock's packed values
  int mini_width_ = 0;
  uint64_t mini_pos_ = 0, mini_left_ = 0;  // values read from / left in the current miniblock
};

// Decodes all `max_values` or fewer values the header announces; *consumed receives the bytes used.
template <typename T>
Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t max_values, std::vector<T>* out,
                               size_t* consumed);

// DELTA_LENGTH_BYTE_ARRAY: the lengths (DELTA_BINARY_PACKED), then the bytes.
class DeltaLengthByteArrayDecoder {
 public:
  Status Init(const uint8_t* data, size_t size, size_t max_values);
  uint64_t total() const { return lengths_.total(); }
  uint64_t remaining() const { return lengths_.remaining(); }
  // Appends the next n values to *out.
  Status Get(size_t n, ByteArrays* out);

 private:
  DeltaBinaryPackedDecoder<int32_t> lengths_;
  const uint8_t* bytes_ = nullptr;
  size_t bytes_size_ = 0, bytes_pos_ = 0;
  std::vector<int32_t> scratch_;
};

// DELTA_BYTE_ARRAY: prefix lengths (DELTA_BINARY_PACKED), then the suffixes
// (DELTA_LENGTH_BYTE_ARRAY); each value is a prefix of the previous one plus its suffix.
class DeltaByteArrayDecoder {
 public:
  Status Init(const uint8_t* data, size_t size, size_t max_values);
  uint64_t total() const { return prefixes_.total(); }
  uint64_t remaining() const { return prefixes_.remaining(); }
  // Appends the next n values to *out.
  Status Get(size_t n, ByteArrays* out);

 private:
  DeltaBinaryPackedDecoder<int32_t> prefixes_;
  DeltaLengthByteArrayDecoder suffixes_;
  std::string prev_;
  std::vector<int32_t> prefix_scratch_;
  ByteArrays suffix_scratch_;
};

// PLAIN BYTE_ARRAY: 4-byte length + bytes, `n` values appended to *out.
Status DecodePlainByteArray(const uint8_t* data, size_t size, size_t n, ByteArrays* out, size_t* consumed);
// BYTE_STREAM_SPLIT: `size / width` values of `width` bytes, stored as `width` streams of one
// byte each; values [first, first + n) are written to `out` (n * width bytes).
Status DecodeByteStreamSplit(const uint8_t* data, size_t size, int width, size_t first, size_t n, uint8_t* out);

}  // namespace sluice::parquet::encoding
