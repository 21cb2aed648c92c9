// CSV -> Parquet throughput: the batch path of ENGINEERING.md §6 without the engine around it.
//   parquet_bench FILE.csv OUT.parquet "name:type,name:type,..." [zstd|snappy|none] [repeat]
// Decodes the CSV with the Sluice CSV decoder and writes each batch to the Parquet writer as it
// comes (as a pipeline does), best of `repeat` runs; prints one JSON line with seconds, MB/s of
// CSV input, rows/s, the output size, and the time spent in the writer alone.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "sluice/formats/csv/csv.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/io/file_system.h"

using namespace sluice;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s FILE.csv OUT.parquet name:type,... [zstd|snappy|none] [repeat]\n", argv[0]);
    return 2;
  }
  std::vector<Field> fields;
  std::string spec = argv[3];
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t comma = spec.find(';', pos);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = spec.substr(pos, comma - pos);
    size_t colon = item.find(':');
    auto t = ParseDataType(item.substr(colon + 1));
    if (colon == std::string::npos || !t.ok()) {
      std::fprintf(stderr, "bad field '%s' (use name:type;name:type)\n", item.c_str());
      return 2;
    }
    fields.push_back(Field{item.substr(0, colon), *t, false});
    pos = comma + 1;
  }
  auto schema = std::make_shared<const Schema>(fields);
  parquet::WriterOptions wo;
  std::string codec = argc > 4 ? argv[4] : "zstd";
  wo.compression = codec == "snappy" ? parquet::Compression::kSnappy
                   : codec == "none" ? parquet::Compression::kUncompressed
                                     : parquet::Compression::kZstd;
  int repeat = argc > 5 ? std::atoi(argv[5]) : 3;
  double best = 1e30, best_write = 0;
  int64_t rows = 0, out_bytes = 0;
  size_t in_bytes = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    auto buf = io::ReadFile(argv[1]);
    if (!buf.ok()) {
      std::fprintf(stderr, "%s\n", buf.status().ToString().c_str());
      return 1;
    }
    in_bytes = buf->size();
    auto writer = parquet::Writer::Open(argv[2], schema, wo);
    if (!writer.ok()) {
      std::fprintf(stderr, "%s\n", writer.status().ToString().c_str());
      return 1;
    }
    formats::CsvDecoder dec(schema, formats::CsvOptions{}, formats::DecodeOptions{});
    std::vector<formats::DecodeError> errors;
    double write_s = 0;
    Status st = dec.Decode(buf->view(),
                           [&](Batch b) {
                             auto w0 = std::chrono::steady_clock::now();
                             Status s = (*writer)->Write(b);
                             write_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
                             return s;
                           },
                           errors);
    auto w0 = std::chrono::steady_clock::now();
    if (st.ok()) st = (*writer)->Close();
    write_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    if (!errors.empty()) std::fprintf(stderr, "%zu decode errors, first: %s\n", errors.size(), errors[0].message.c_str());
    rows = (*writer)->rows_written();
    out_bytes = (*writer)->bytes_written();
    if (s < best) {
      best = s;
      best_write = write_s;
    }
  }
  std::printf(
      "{\"seconds\": %.4f, \"writer_seconds\": %.4f, \"rows\": %lld, \"input_bytes\": %zu, \"mb_per_second\": %.1f, "
      "\"rows_per_second\": %.0f, \"output_bytes\": %lld, \"codec\": \"%s\"}\n",
      best, best_write, static_cast<long long>(rows), in_bytes, in_bytes / best / 1e6, rows / best,
      static_cast<long long>(out_bytes), codec.c_str());
  return 0;
}
