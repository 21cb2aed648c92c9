// Page compression codecs: Snappy and ZSTD (read and write), GZIP (read, when built with zlib),
// and uncompressed.
// Thread-safety: a Compressor is used by one thread (it keeps a ZSTD context); Decompress is
// reentrant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/base/status.h"
#include "sluice/formats/parquet/parquet_metadata.h"

namespace sluice::parquet {

// Reading limits on a page's declared uncompressed size, checked before anything is allocated
// for the page (docs/formats.md, "Parquet"):
// - at most kMaxPageBytes, whatever the codec (writers cut pages at about 1 MiB);
inline constexpr size_t kMaxPageBytes = size_t{512} << 20;
// - at most what `compressed_size` bytes of `codec` can expand to at the codec's largest possible
//   ratio: 1 uncompressed, 22 Snappy (a 3-byte copy of 64 bytes), 1032 GZIP (deflate's 258-byte
//   match in 2 bits), 32768 ZSTD (a 4-byte RLE block of 128 KiB). A larger claim cannot be true.
//   Unknown codecs: no bound (kMaxPageBytes still applies).
uint64_t MaxDecompressedSize(format::Codec codec, uint64_t compressed_size);

class Compressor {
 public:
  Compressor(format::Codec codec, int level);
  ~Compressor();
  format::Codec codec() const { return codec_; }
  // Replaces *out with the compressed form of `in` (a copy for UNCOMPRESSED).
  Status Compress(std::string_view in, std::string* out);

 private:
  format::Codec codec_;
  int level_;
  void* zstd_ctx_ = nullptr;
};

// Decompresses `in` into exactly `out_size` bytes at `out`; never writes past out + out_size,
// whatever the compressed data claims. Errors describe the mismatch (the caller adds the file
// and offset).
Status Decompress(format::Codec codec, const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

bool CodecSupported(format::Codec codec);

}  // namespace sluice::parquet
