// libFuzzer target: Parquet files from arbitrary bytes, through the flat reader (footer, schema,
// statistics, every page of every column) and the nested reader. Besides not crashing: a failure
// must be an error about the input (never kInternal), every error names the file, and whatever
// decodes must be well formed (column sizes match the batch, strings are valid UTF-8).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sluice/base/strings.h"
#include "sluice/formats/parquet/parquet.h"

using namespace sluice;

namespace {

void CheckError(const Status& st) {
  if (st.ok()) return;
  if (st.code() == StatusCode::kInternal) abort();
  if (st.message().find("fuzz.parquet") == std::string::npos) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto reader = parquet::Reader::OpenBuffer("fuzz.parquet", bytes);
  if (!reader.ok()) {
    CheckError(reader.status());
  } else {
    parquet::ReadOptions options;
    options.batch_rows = 7;
    int64_t rows = 0;
    Status st = (*reader)->Read(options, [&](Batch b) {
      for (size_t c = 0; c < b.num_columns(); ++c) {
        const Column& col = *b.column(c);
        if (col.size() != b.num_rows()) abort();
        if (col.type().id != TypeId::kString) continue;
        for (size_t r = 0; r < col.size(); ++r) {
          if (!col.IsNull(r) && !IsValidUtf8(col.GetString(r))) abort();
        }
      }
      rows += static_cast<int64_t>(b.num_rows());
      // Corrupt row counts must not make the reader produce rows forever.
      return rows > (1 << 20) ? Status::DataError("fuzz.parquet: too many rows") : Status::OK();
    });
    CheckError(st);
  }
  auto nested = parquet::ReadNestedBuffer("fuzz.parquet", bytes);
  if (!nested.ok()) CheckError(nested.status());
  return 0;
}
