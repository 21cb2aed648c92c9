// `files` source: expands the path and streams each file through a bounded buffer into the
// decoder (NDJSON and CSV are decoded chunk by chunk; a JSON array is read whole).
#include <algorithm>

#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/exec/files_operators.h"
#include "sluice/formats/csv/csv.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {
namespace {

// Small enough that a chunk is still in cache when the decoder reads it after the copy in.
constexpr size_t kChunkBytes = 1 << 20;

bool StartsWithArray(std::string_view data) {
  for (char c : data) {
    if (c == '[') return true;
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\xEF' && c != '\xBB' && c != '\xBF') return false;
  }
  return false;
}

}  // namespace

Status FilesSource::DeadLetterErrors(const std::string& file, std::vector<formats::DecodeError>& errors) {
  for (const auto& e : errors) {
    ++counters_.in;
    ++counters_.dead_letter;
    ctx_.dead_letters->AddRaw(node_.name, node_.name, file, e.line, e.error_class, e.message, e.raw,
                              node_.outputs[0].schema->HasPii());
  }
  errors.clear();
  return Status::OK();
}

Status FilesSource::ReadOne(const std::string& file) {
  const auto& cfg = node_.Config<FilesSourceConfig>();
  const SchemaPtr& schema = node_.outputs[0].schema;
  formats::DecodeOptions opts;
  opts.origin_source = node_.name;
  opts.origin_location = file;
  auto on_batch = [&](Batch b) -> Status {
    counters_.in += static_cast<int64_t>(b.active_rows());
    if (progress_) progress_->AddRecords(static_cast<int64_t>(b.active_rows()));
    return Emit(0, b);
  };
  if (cfg.format == FileFormat::kParquet) return ReadParquetFile(file, schema, node_.name, on_batch);
  std::vector<formats::DecodeError> errors;
  SLUICE_ASSIGN_OR_RETURN(auto reader, io::ChunkedReader::Open(file, kChunkBytes, formats::kInputPadding));
  std::unique_ptr<formats::CsvDecoder> csv;
  std::unique_ptr<formats::JsonDecoder> json;
  if (cfg.format == FileFormat::kCsv) {
    formats::CsvOptions o;
    o.delimiter = cfg.csv.delimiter;
    o.header = cfg.csv.header;
    o.null_values = cfg.csv.null_values;
    csv = std::make_unique<formats::CsvDecoder>(schema, o, opts);
  } else {
    json = std::make_unique<formats::JsonDecoder>(schema, opts);
  }
  size_t unconsumed = 0;
  int64_t line = 1;
  bool first = true;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(std::string_view chunk, reader->Next(unconsumed));
    const bool last = reader->at_end();
    if (json && first && StartsWithArray(chunk)) {
      // A JSON array is one document: decode it whole.
      reader.reset();
      SLUICE_ASSIGN_OR_RETURN(auto buffer, io::ReadFile(file, formats::kInputPadding));
      SLUICE_RETURN_IF_ERROR(json->Decode(buffer.view(), 1, on_batch, errors).WithContext(file));
      break;
    }
    first = false;
    size_t take;
    if (csv) {
      auto consumed = csv->DecodeChunk(chunk, last, on_batch, errors);
      if (!consumed.ok()) return consumed.status().WithContext(file);
      take = *consumed;
    } else {
      // NDJSON: decode up to the last line end; the cut line comes again with the next chunk.
      size_t nl = chunk.rfind('\n');
      take = last ? chunk.size() : (nl == std::string_view::npos ? 0 : nl + 1);
      std::string_view part = chunk.substr(0, take);
      SLUICE_RETURN_IF_ERROR(json->Decode(part, line, on_batch, errors).WithContext(file));
      line = json->next_line();
    }
    SLUICE_RETURN_IF_ERROR(DeadLetterErrors(file, errors));
    unconsumed = chunk.size() - take;
    if (last) break;
  }
  SLUICE_RETURN_IF_ERROR(DeadLetterErrors(file, errors));
  if (progress_) progress_->FileDone(reader ? reader->file_size() : 0);
  return Status::OK();
}

Status FilesSource::Run() {
  const auto& cfg = node_.Config<FilesSourceConfig>();
  SLUICE_ASSIGN_OR_RETURN(auto files, io::ExpandPath(cfg.path));
  if (progress_) progress_->AddExpectedFiles(static_cast<int64_t>(files.size()));
  for (const auto& file : files) {
    // Checked again as the file is opened: a symlink may have been swapped in since the plan.
    SLUICE_RETURN_IF_ERROR(ctx_.plan->data_roots.Check(file));
    SLUICE_RETURN_IF_ERROR(ReadOne(file));
  }
  return Status::OK();
}

}  // namespace sluice::engine
