// Batch: the unit of data flow — a schema, one column per field, and an optional selection
// vector of the active rows.
//
// Rows are "physical" (0..num_rows()-1, as stored in the columns). A filter does not copy data:
// it narrows the selection vector (ascending physical indices). Operators read active rows through
// ForEachActive() / active_rows(); Compact() materializes a dense batch when that pays.
//
// Every batch also knows where its rows came from (`origin`: the source component and file or
// partition, and per physical row the line number or offset), so any rejected row can become a
// dead letter that names its source, offset and payload.
// Thread-safety: a Batch is built by one thread, then read-only; columns are shared.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/columnar/column.h"
#include "sluice/types/schema.h"

namespace sluice {

using SelectionVector = std::vector<uint32_t>;

struct BatchOrigin {
  std::string source;    // source component name
  std::string location;  // file path, topic/partition, ...
};

class Batch {
 public:
  Batch() = default;
  Batch(SchemaPtr schema, std::vector<ColumnPtr> columns, size_t num_rows);

  const SchemaPtr& schema() const { return schema_; }
  size_t num_columns() const { return columns_.size(); }
  const ColumnPtr& column(size_t i) const { return columns_[i]; }
  const std::vector<ColumnPtr>& columns() const { return columns_; }
  // The column of a field by name, or nullptr.
  ColumnPtr ColumnByName(std::string_view name) const;

  size_t num_rows() const { return num_rows_; }  // physical rows
  bool has_selection() const { return selection_ != nullptr; }
  // Active rows: the selection, or all physical rows.
  size_t active_rows() const { return selection_ ? selection_->size() : num_rows_; }
  const SelectionVector* selection() const { return selection_.get(); }
  void set_selection(SelectionVector sel) {
    selection_ = std::make_shared<const SelectionVector>(std::move(sel));
  }
  void clear_selection() { selection_.reset(); }
  // Physical index of the k-th active row.
  uint32_t ActiveRow(size_t k) const {
    return selection_ ? (*selection_)[k] : static_cast<uint32_t>(k);
  }
  // The active rows as a selection vector (materialized if there is none).
  SelectionVector ActiveSelection() const;
  template <typename F>
  void ForEachActive(F&& f) const {
    if (selection_) {
      for (uint32_t r : *selection_) f(r);
    } else {
      for (uint32_t r = 0; r < num_rows_; ++r) f(r);
    }
  }

  // Provenance.
  const std::shared_ptr<const BatchOrigin>& origin() const { return origin_; }
  void set_origin(std::shared_ptr<const BatchOrigin> o) { origin_ = std::move(o); }
  // Line number (files) or offset (streams) of a physical row; -1 if unknown.
  int64_t RowOffset(uint32_t physical_row) const {
    return row_offsets_ && physical_row < row_offsets_->size() ? (*row_offsets_)[physical_row] : -1;
  }
  void set_row_offsets(std::shared_ptr<const std::vector<int64_t>> o) { row_offsets_ = std::move(o); }
  const std::shared_ptr<const std::vector<int64_t>>& row_offsets() const { return row_offsets_; }

  // Same rows, different columns (the physical row count and selection are kept).
  Batch WithColumns(SchemaPtr schema, std::vector<ColumnPtr> columns) const;
  // A dense copy holding only the active rows (no selection vector).
  Batch Compact() const;

 private:
  SchemaPtr schema_;
  std::vector<ColumnPtr> columns_;
  size_t num_rows_ = 0;
  std::shared_ptr<const SelectionVector> selection_;
  std::shared_ptr<const BatchOrigin> origin_;
  std::shared_ptr<const std::vector<int64_t>> row_offsets_;
};

// Builds batches column by column; used by decoders and tests.
class BatchBuilder {
 public:
  explicit BatchBuilder(SchemaPtr schema, size_t reserve_rows = 0);
  const SchemaPtr& schema() const { return schema_; }
  Column& column(size_t i) { return *columns_[i]; }
  size_t num_rows() const { return num_rows_; }
  // Call after every column received one value for the row.
  void CommitRow(int64_t offset = -1) {
    ++num_rows_;
    offsets_->push_back(offset);
  }
  // Rolls back a half-appended row: truncates every column to num_rows().
  void AbandonRow();
  // Appends a whole row of Values (tests).
  void AppendRow(const std::vector<Value>& row, int64_t offset = -1);
  // Hands out the batch and starts a new one.
  Batch Finish(std::shared_ptr<const BatchOrigin> origin = nullptr);

 private:
  void Reset(size_t reserve_rows);
  SchemaPtr schema_;
  std::vector<ColumnPtr> columns_;
  std::shared_ptr<std::vector<int64_t>> offsets_;
  size_t num_rows_ = 0;
  size_t reserve_rows_ = 0;
};

}  // namespace sluice
