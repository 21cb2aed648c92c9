// `files` source: expands the path, reads each file whole and decodes it into batches.
#include "sluice/engine/exec/operators.h"

#include "sluice/formats/csv/csv.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {

Status FilesSource::Run() {
  const auto& cfg = std::get<FilesSourceConfig>(node_.config);
  SLUICE_ASSIGN_OR_RETURN(auto files, io::ExpandPath(cfg.path));
  if (progress_) progress_->AddExpectedFiles(static_cast<int64_t>(files.size()));
  const SchemaPtr& schema = node_.outputs[0].schema;
  std::vector<formats::DecodeError> errors;
  for (const auto& file : files) {
    SLUICE_ASSIGN_OR_RETURN(auto buffer, io::ReadFile(file, formats::kInputPadding));
    formats::DecodeOptions opts;
    opts.origin_source = node_.name;
    opts.origin_location = file;
    auto on_batch = [&](Batch b) -> Status {
      counters_.in += static_cast<int64_t>(b.active_rows());
      if (progress_) progress_->AddRecords(static_cast<int64_t>(b.active_rows()));
      return Emit(0, b);
    };
    errors.clear();
    Status st;
    if (cfg.format == FileFormat::kCsv) {
      formats::CsvOptions csv;
      csv.delimiter = cfg.csv.delimiter;
      csv.header = cfg.csv.header;
      csv.null_values = cfg.csv.null_values;
      formats::CsvDecoder dec(schema, csv, opts);
      st = dec.Decode(buffer.view(), on_batch, errors);
    } else {
      formats::JsonDecoder dec(schema, opts);
      st = dec.Decode(buffer.view(), 1, on_batch, errors);
    }
    SLUICE_RETURN_IF_ERROR(st.WithContext(file));
    for (const auto& e : errors) {
      ++counters_.in;
      ++counters_.dead_letter;
      ctx_.dead_letters->AddRaw(node_.name, node_.name, file, e.line, e.error_class, e.message, e.raw);
    }
    if (progress_) progress_->FileDone(static_cast<int64_t>(buffer.size()));
  }
  return Status::OK();
}

}  // namespace sluice::engine
