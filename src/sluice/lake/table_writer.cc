#include "sluice/lake/data_files.h"
#include "sluice/lake/delta_table.h"

namespace sluice::lake {

struct TableWriter::Impl {
  std::shared_ptr<DeltaTable> table;
  Status init;  // why the writer cannot write, if it cannot
  std::unique_ptr<DataFileWriter> writer;
};

TableWriter::TableWriter(std::shared_ptr<DeltaTable> table, TableWriterOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->table = std::move(table);
  // The schema of the latest version: files follow it, so a commit on a newer version with the
  // same schema accepts them (a concurrent schema change aborts the commit).
  auto snap = impl_->table->GetSnapshot();
  if (!snap.ok()) {
    impl_->init = snap.status();
    return;
  }
  impl_->writer = std::make_unique<DataFileWriter>(impl_->table->dir(), snap->schema, snap->partition_columns,
                                                   std::move(options));
}

TableWriter::~TableWriter() = default;

Status TableWriter::Write(const Batch& batch) {
  SLUICE_RETURN_IF_ERROR(impl_->init);
  return impl_->writer->Write(batch);
}

Result<std::vector<AddFile>> TableWriter::Finish() {
  SLUICE_RETURN_IF_ERROR(impl_->init);
  return impl_->writer->Finish();
}

}  // namespace sluice::lake
