#include "sluice/formats/parquet/compression.h"

#include <cstring>

#include <snappy.h>
#include <zstd.h>

#ifdef SLUICE_PARQUET_HAVE_ZLIB
#include <zlib.h>
#endif

namespace sluice::parquet {

Compressor::Compressor(format::Codec codec, int level) : codec_(codec), level_(level) {
  if (codec_ == format::Codec::ZSTD) zstd_ctx_ = ZSTD_createCCtx();
}

Compressor::~Compressor() {
  if (zstd_ctx_) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_));
}

Status Compressor::Compress(std::string_view in, std::string* out) {
  switch (codec_) {
    case format::Codec::UNCOMPRESSED:
      out->assign(in.data(), in.size());
      return Status::OK();
    case format::Codec::SNAPPY: {
      out->resize(snappy::MaxCompressedLength(in.size()));
      size_t n = 0;
      snappy::RawCompress(in.data(), in.size(), out->data(), &n);
      out->resize(n);
      return Status::OK();
    }
    case format::Codec::ZSTD: {
      out->resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_), out->data(), out->size(), in.data(), in.size(),
                                   level_);
      if (ZSTD_isError(n)) return Status::Internal("zstd compression failed: {}", ZSTD_getErrorName(n));
      out->resize(n);
      return Status::OK();
    }
    default:
      return Status::Internal("cannot write codec {}", format::CodecName(codec_));
  }
}

bool CodecSupported(format::Codec codec) {
  switch (codec) {
    case format::Codec::UNCOMPRESSED:
    case format::Codec::SNAPPY:
    case format::Codec::ZSTD:
      return true;
#ifdef SLUICE_PARQUET_HAVE_ZLIB
    case format::Codec::GZIP:
      return true;
#endif
    default:
      return false;
  }
}

uint64_t MaxDecompressedSize(format::Codec codec, uint64_t compressed_size) {
  uint64_t ratio;
  switch (codec) {
    case format::Codec::UNCOMPRESSED: ratio = 1; break;
    case format::Codec::SNAPPY: ratio = 22; break;
    case format::Codec::GZIP: ratio = 1032; break;
    case format::Codec::ZSTD: ratio = 32768; break;
    default: return UINT64_MAX;
  }
  return compressed_size > UINT64_MAX / ratio ? UINT64_MAX : compressed_size * ratio;
}

Status Decompress(format::Codec codec, const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
  switch (codec) {
    case format::Codec::UNCOMPRESSED:
      if (in_size != out_size) {
        return Status::DataError("uncompressed page of {} bytes declares {} bytes", in_size, out_size);
      }
      if (out_size) std::memcpy(out, in, out_size);
      return Status::OK();
    case format::Codec::SNAPPY: {
      size_t n = 0;
      const char* src = reinterpret_cast<const char*>(in);
      if (!snappy::GetUncompressedLength(src, in_size, &n)) return Status::DataError("corrupt snappy data");
      if (n != out_size) return Status::DataError("wrong decompressed size: expected {}, snappy data holds {}", out_size, n);
      if (!snappy::IsValidCompressedBuffer(src, in_size)) return Status::DataError("corrupt snappy data");
      if (!snappy::RawUncompress(src, in_size, reinterpret_cast<char*>(out))) return Status::DataError("corrupt snappy data");
      return Status::OK();
    }
    case format::Codec::ZSTD: {
      size_t n = ZSTD_decompress(out, out_size, in, in_size);
      if (ZSTD_isError(n)) return Status::DataError("corrupt zstd data: {}", ZSTD_getErrorName(n));
      if (n != out_size) return Status::DataError("wrong decompressed size: expected {}, got {}", out_size, n);
      return Status::OK();
    }
#ifdef SLUICE_PARQUET_HAVE_ZLIB
    case format::Codec::GZIP: {
      z_stream zs{};
      if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Internal("zlib init failed");
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = static_cast<uInt>(in_size);
      zs.next_out = out;
      zs.avail_out = static_cast<uInt>(out_size);
      int rc = inflate(&zs, Z_FINISH);
      size_t n = out_size - zs.avail_out;
      inflateEnd(&zs);
      if (rc != Z_STREAM_END) {
        if (rc == Z_BUF_ERROR || rc == Z_OK) {
          return Status::DataError("wrong decompressed size: expected {}, gzip data holds more or is truncated", out_size);
        }
        return Status::DataError("corrupt gzip data (zlib error {})", rc);
      }
      if (n != out_size) return Status::DataError("wrong decompressed size: expected {}, got {}", out_size, n);
      return Status::OK();
    }
#endif
    default:
      return Status::DataError("compression codec {} is not supported", format::CodecName(codec));
  }
}

}  // namespace sluice::parquet
