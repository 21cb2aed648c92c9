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

// DELTA_BINARY_PACKED: decodes all values the header announces (at most `max_values`, else an
// error) from data; *consumed receives the bytes used. T is int32_t or int64_t (wrapping
// arithmetic, as the format specifies).
template <typename T>
Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t max_values, std::vector<T>* out,
                               size_t* consumed);

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
Status DecodeDeltaLengthByteArray(const uint8_t* data, size_t size, size_t expected, ByteArrays* out);
Status DecodeDeltaByteArray(const uint8_t* data, size_t size, size_t expected, ByteArrays* out);
// PLAIN BYTE_ARRAY: 4-byte length + bytes, `n` values.
Status DecodePlainByteArray(const uint8_t* data, size_t size, size_t n, ByteArrays* out, size_t* consumed);
// BYTE_STREAM_SPLIT of n values of `width` bytes into `out` (n * width bytes).
Status DecodeByteStreamSplit(const uint8_t* data, size_t size, size_t n, int width, uint8_t* out);

}  // namespace sluice::parquet::encoding
