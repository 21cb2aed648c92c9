// Parquet writer and reader throughput on the batches of an existing Parquet file (e.g. one
// DuckDB wrote from a CSV file), so the encoder is timed alone:
//   parquet_bench IN.parquet OUT.parquet [zstd|snappy|none] [repeat]
// Reads IN into memory with our reader (timed as "read"), then writes the batches to OUT (best
// of `repeat`), and prints one JSON line with seconds, rows/s and both file sizes.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sluice/formats/parquet/parquet.h"

using namespace sluice;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.parquet OUT.parquet [zstd|snappy|none] [repeat]\n", argv[0]);
    return 2;
  }
  std::string codec = argc > 3 ? argv[3] : "zstd";
  int repeat = argc > 4 ? std::atoi(argv[4]) : 3;
  parquet::WriterOptions wo;
  wo.compression = codec == "snappy" ? parquet::Compression::kSnappy
                   : codec == "none" ? parquet::Compression::kUncompressed
                                     : parquet::Compression::kZstd;
  auto t0 = std::chrono::steady_clock::now();
  auto batches = parquet::ReadFile(argv[1]);
  if (!batches.ok()) {
    std::fprintf(stderr, "%s\n", batches.status().ToString().c_str());
    return 1;
  }
  double read_s = Seconds(t0);
  int64_t rows = 0;
  for (const auto& b : *batches) rows += static_cast<int64_t>(b.num_rows());
  if (batches->empty()) return 1;
  double best = 1e30;
  int64_t out_bytes = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    auto w0 = std::chrono::steady_clock::now();
    auto writer = parquet::Writer::Open(argv[2], (*batches)[0].schema(), wo);
    if (!writer.ok()) {
      std::fprintf(stderr, "%s\n", writer.status().ToString().c_str());
      return 1;
    }
    for (const auto& b : *batches) {
      Status st = (*writer)->Write(b);
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        return 1;
      }
    }
    Status st = (*writer)->Close();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    best = std::min(best, Seconds(w0));
    out_bytes = (*writer)->bytes_written();
  }
  struct stat in_st;
  stat(argv[1], &in_st);
  std::printf(
      "{\"rows\": %lld, \"read_seconds\": %.4f, \"write_seconds\": %.4f, \"write_rows_per_second\": %.0f, "
      "\"input_bytes\": %lld, \"output_bytes\": %lld, \"codec\": \"%s\"}\n",
      static_cast<long long>(rows), read_s, best, rows / best, static_cast<long long>(in_st.st_size),
      static_cast<long long>(out_bytes), codec.c_str());
  return 0;
}
