// libFuzzer target: NDJSON / JSON-array decoding of arbitrary bytes. Besides not crashing, every
// batch must re-encode to NDJSON that decodes again without a single error.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_schema.h"
#include "sluice/base/strings.h"
#include "sluice/formats/json/json.h"

using namespace sluice;
using namespace sluice::formats;

namespace {

DecodeOptions Options() {
  DecodeOptions o;
  o.batch_rows = 3;          // exercise batch boundaries
  o.max_record_bytes = 512;  // and the size limit
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static JsonDecoder decoder(fuzz::FuzzSchema(), Options());
  static JsonEncoder encoder(fuzz::FuzzSchema());
  // The decoder's contract: kInputPadding readable bytes after the data.
  std::vector<char> buf(size + kInputPadding, 'x');
  if (size) std::memcpy(buf.data(), data, size);

  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  Status st = decoder.Decode(std::string_view(buf.data(), size), 1,
                             [&](Batch b) {
                               batches.push_back(std::move(b));
                               return Status::OK();
                             },
                             errors);
  if (!st.ok()) abort();  // only a callback can fail a decode
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
    if (e.raw.size() > kMaxRawBytes || e.error_class.empty() || !IsValidUtf8(e.message)) abort();
  }

  // Round trip: what the encoder writes, the decoder reads.
  std::string out;
  for (const auto& b : batches) encoder.Encode(b, out);
  size_t out_size = out.size();
  out.append(kInputPadding, 'x');
  static JsonDecoder redecoder(fuzz::FuzzSchema(), [] {
    DecodeOptions o;
    o.batch_rows = 64;
    return o;
  }());
  std::vector<DecodeError> errors2;
  size_t rows2 = 0;
  st = redecoder.Decode(std::string_view(out.data(), out_size), 1,
                        [&](Batch b) {
                          rows2 += b.num_rows();
                          return Status::OK();
                        },
                        errors2);
  if (!st.ok() || !errors2.empty() || rows2 != rows) abort();
  return 0;
}
