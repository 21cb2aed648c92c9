// `files` sink: NDJSON or CSV, written to a temporary file and moved into place at Close(), so a
// reader never sees half a file and a failed run leaves the previous output intact.
#include <cstdio>
#include <filesystem>

#include "sluice/engine/exec/operators.h"
#include "sluice/formats/csv/csv.h"
#include "sluice/formats/json/json.h"

namespace sluice::engine {

struct FilesSink::Writer {
  std::unique_ptr<io::FileWriter> file;
  std::unique_ptr<formats::JsonEncoder> json;
  std::unique_ptr<formats::CsvEncoder> csv;
  std::string buffer;
};

FilesSink::FilesSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
FilesSink::~FilesSink() = default;

Status FilesSink::Open() {
  const auto& cfg = std::get<FilesSinkConfig>(node_.config);
  writer_ = std::make_unique<Writer>();
  SLUICE_ASSIGN_OR_RETURN(writer_->file, io::FileWriter::Open(cfg.path + ".inprogress", true));
  if (cfg.format == FileFormat::kCsv) {
    formats::CsvOptions o;
    o.delimiter = cfg.csv.delimiter;
    o.header = cfg.csv.header;
    o.null_values = cfg.csv.null_values;
    writer_->csv = std::make_unique<formats::CsvEncoder>(node_.input_schema, o);
    if (o.header) writer_->csv->EncodeHeader(writer_->buffer);
  } else {
    writer_->json = std::make_unique<formats::JsonEncoder>(node_.input_schema);
  }
  return Status::OK();
}

Status FilesSink::Process(size_t, const Batch& batch) {
  if (!writer_) SLUICE_RETURN_IF_ERROR(Open());
  int64_t n = static_cast<int64_t>(batch.active_rows());
  counters_.in += n;
  if (writer_->csv) writer_->csv->Encode(batch, writer_->buffer);
  else writer_->json->Encode(batch, writer_->buffer);
  counters_.out += n;
  if (writer_->buffer.size() >= (1 << 20)) {
    SLUICE_RETURN_IF_ERROR(writer_->file->Append(writer_->buffer));
    writer_->buffer.clear();
  }
  return Status::OK();
}

Status FilesSink::Close() {
  if (!writer_) SLUICE_RETURN_IF_ERROR(Open());
  const auto& cfg = std::get<FilesSinkConfig>(node_.config);
  SLUICE_RETURN_IF_ERROR(writer_->file->Append(writer_->buffer));
  SLUICE_RETURN_IF_ERROR(writer_->file->Sync());
  SLUICE_RETURN_IF_ERROR(writer_->file->Close());
  std::string tmp = cfg.path + ".inprogress";
  if (std::rename(tmp.c_str(), cfg.path.c_str()) != 0) {
    return Status::IoError("{}: cannot move '{}' into place at '{}'", node_.name, tmp, cfg.path);
  }
  writer_.reset();
  return Status::OK();
}


}  // namespace sluice::engine
