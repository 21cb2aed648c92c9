// `files` sink: NDJSON or CSV, written to a temporary file and moved into place at Close(), so a
// reader never sees half a file and a failed run leaves the previous output intact.
#include <cstdio>
#include <filesystem>

#include "sluice/engine/exec/background_writer.h"
#include "sluice/engine/exec/files_operators.h"
#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/kernels/sort.h"
#include "sluice/formats/csv/csv.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {

struct FilesSink::Writer {
  // A run that fails elsewhere destroys the sink before its Close(), possibly while the encoding
  // thread is still writing batches into `parquet`: the thread is stopped (it finishes the batch
  // in hand) before the members it uses go.
  ~Writer() { background.reset(); }

  std::unique_ptr<BackgroundWriter> background;  // parquet: encoding runs on its own thread
  std::unique_ptr<kernels::Sorter> sorter;  // order_by: everything is held until Close()
  std::unique_ptr<kernels::Limit> limit;
  std::unique_ptr<parquet::Writer> parquet;
  std::unique_ptr<io::FileWriter> file;
  std::unique_ptr<formats::JsonEncoder> json;
  std::unique_ptr<formats::CsvEncoder> csv;
  std::string buffer;
};

FilesSink::FilesSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
FilesSink::~FilesSink() = default;

Status FilesSink::Open() {
  const auto& cfg = node_.Config<FilesSinkConfig>();
  SLUICE_RETURN_IF_ERROR(ctx_.plan->data_roots.Check(cfg.path));
  writer_ = std::make_unique<Writer>();
  if (cfg.format == FileFormat::kParquet) {
    SLUICE_RETURN_IF_ERROR(io::MakeDirs(std::filesystem::path(cfg.path).parent_path().string()));
    SLUICE_ASSIGN_OR_RETURN(writer_->parquet, parquet::Writer::Open(cfg.path + ".inprogress", Nullable(*node_.input_schema),
                                                                    ParquetOptionsFor(cfg.compression)));
    parquet::Writer* w = writer_->parquet.get();
    writer_->background = std::make_unique<BackgroundWriter>([w](const Batch& b) { return w->Write(b); });
    return Status::OK();
  }
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

Status FilesSink::Process(size_t, const Batch& input) {
  if (!writer_) SLUICE_RETURN_IF_ERROR(Open());
  const auto& cfg = node_.Config<FilesSinkConfig>();
  counters_.in += static_cast<int64_t>(input.active_rows());
  if (!cfg.order_by.empty()) {
    if (!writer_->sorter) {
      std::vector<kernels::SortKey> keys;
      for (const auto& o : cfg.order_by) keys.push_back(kernels::SortKey{o.column, o.descending, false});
      SLUICE_ASSIGN_OR_RETURN(writer_->sorter, kernels::Sorter::Make(node_.input_schema, std::move(keys)));
    }
    return writer_->sorter->Add(input);
  }
  return WriteOut(input);
}

Status FilesSink::WriteOut(const Batch& input) {
  const auto& cfg = node_.Config<FilesSinkConfig>();
  Batch batch = input;
  if (cfg.limit >= 0) {
    if (!writer_->limit) writer_->limit = std::make_unique<kernels::Limit>(static_cast<size_t>(cfg.limit));
    int64_t before = static_cast<int64_t>(batch.active_rows());
    batch = writer_->limit->Apply(batch);
    counters_.dropped += before - static_cast<int64_t>(batch.active_rows());
  }
  int64_t n = static_cast<int64_t>(batch.active_rows());
  if (writer_->parquet) {
    SLUICE_RETURN_IF_ERROR(writer_->background->Submit(batch));
    counters_.out += n;
    return Status::OK();
  }
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
  const auto& cfg = node_.Config<FilesSinkConfig>();
  if (writer_->sorter) {
    SLUICE_ASSIGN_OR_RETURN(auto sorted, writer_->sorter->Finish());
    for (const auto& b : sorted) SLUICE_RETURN_IF_ERROR(WriteOut(b));
  }
  if (writer_->parquet) {
    SLUICE_RETURN_IF_ERROR(writer_->background->Finish());
    SLUICE_RETURN_IF_ERROR(writer_->parquet->Close());
  } else {
    SLUICE_RETURN_IF_ERROR(writer_->file->Append(writer_->buffer));
    SLUICE_RETURN_IF_ERROR(writer_->file->Sync());
    SLUICE_RETURN_IF_ERROR(writer_->file->Close());
  }
  SLUICE_RETURN_IF_ERROR(io::RenameDurably(cfg.path + ".inprogress", cfg.path).WithContext(node_.name));
  writer_.reset();
  return Status::OK();
}


}  // namespace sluice::engine
