// libFuzzer target: CSV decoding of arbitrary bytes. The first byte picks the dialect
// (delimiter, header, null markers). Besides not crashing, every batch must re-encode to CSV
// that decodes again without a single error.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_schema.h"
#include "sluice/base/strings.h"
#include "sluice/formats/csv/csv.h"

using namespace sluice;
using namespace sluice::formats;

namespace {

CsvOptions Dialect(uint8_t b) {
  static const char kDelimiters[] = {',', ';', '\t', '|'};
  CsvOptions o;
  o.delimiter = kDelimiters[b & 3];
  o.header = (b & 4) == 0;
  switch ((b >> 3) & 3) {
    case 0: o.null_values = {""}; break;
    case 1: o.null_values = {"NA"}; break;
    case 2: o.null_values = {"\\N", ""}; break;
    default: o.null_values = {"null", "NULL"}; break;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  CsvOptions csv = Dialect(data[0]);
  ++data;
  --size;
  DecodeOptions opts;
  opts.batch_rows = 3;
  opts.max_record_bytes = 512;
  CsvDecoder decoder(fuzz::FuzzSchema(), csv, opts);
  std::vector<char> buf(size + kInputPadding, '"');
  if (size) std::memcpy(buf.data(), data, size);

  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  Status st = decoder.Decode(std::string_view(buf.data(), size),
                             [&](Batch b) {
                               batches.push_back(std::move(b));
                               return Status::OK();
                             },
                             errors);
  // A header that cannot be read fails the input as a whole; nothing else may.
  if (!st.ok() && st.code() != StatusCode::kDataError) abort();
  size_t rows = 0;
  for (const auto& b : batches) {
    rows += b.num_rows();
    for (size_t c = 0; c < b.num_columns(); ++c) {
      const Column& col = *b.column(c);
      if (col.type().id != TypeId::kString) continue;
      for (size_t r = 0; r < col.size(); ++r) {
        if (!col.IsNull(r) && !IsValidUtf8(col.GetString(r))) abort();
      }
    }
  }
  for (const auto& e : errors) {
    if (e.raw.size() > kMaxRawBytes || e.line < 1 || !IsValidUtf8(e.message)) abort();
  }

  // Round trip with a header, whatever the input had.
  csv.header = true;
  CsvEncoder encoder(fuzz::FuzzSchema(), csv);
  std::string out;
  encoder.EncodeHeader(out);
  for (const auto& b : batches) encoder.Encode(b, out);
  size_t out_size = out.size();
  out.append(kInputPadding, '"');
  DecodeOptions opts2;
  opts2.max_record_bytes = 1 << 20;
  opts2.batch_rows = 64;  // small batches: builders reserve batch_rows per column
  CsvDecoder redecoder(fuzz::FuzzSchema(), csv, opts2);
  std::vector<DecodeError> errors2;
  size_t rows2 = 0;
  st = redecoder.Decode(std::string_view(out.data(), out_size),
                        [&](Batch b) {
                          rows2 += b.num_rows();
                          return Status::OK();
                        },
                        errors2);
  if (!st.ok() || !errors2.empty() || rows2 != rows) abort();
  return 0;
}
