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

// Pages larger than this are refused when reading (corrupt sizes must not allocate gigabytes).
inline constexpr size_t kMaxPageBytes = size_t{512} << 20;

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

// Decompresses `in` into exactly `out_size` bytes at `out`. Errors describe the mismatch
// (the caller adds the file and offset).
Status Decompress(format::Codec codec, const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

bool CodecSupported(format::Codec codec);

}  // namespace sluice::parquet
