#include "sluice/columnar/batch.h"

#include <algorithm>

namespace sluice {

Batch::Batch(SchemaPtr schema, std::vector<ColumnPtr> columns, size_t num_rows)
    : schema_(std::move(schema)), columns_(std::move(columns)), num_rows_(num_rows) {
  SLUICE_CHECK(columns_.size() == schema_->size());
  for (const auto& c : columns_) SLUICE_CHECK(c->size() == num_rows_) << c->size() << " vs " << num_rows_;
}

ColumnPtr Batch::ColumnByName(std::string_view name) const {
  auto i = schema_->IndexOf(name);
  return i ? columns_[*i] : nullptr;
}

SelectionVector Batch::ActiveSelection() const {
  if (selection_) return *selection_;
  SelectionVector s(num_rows_);
  for (uint32_t i = 0; i < num_rows_; ++i) s[i] = i;
  return s;
}

Batch Batch::WithColumns(SchemaPtr schema, std::vector<ColumnPtr> columns) const {
  Batch b(std::move(schema), std::move(columns), num_rows_);
  b.selection_ = selection_;
  b.origin_ = origin_;
  b.row_offsets_ = row_offsets_;
  return b;
}

Batch Batch::Compact() const {
  if (!selection_) return *this;
  std::vector<ColumnPtr> cols;
  cols.reserve(columns_.size());
  for (const auto& c : columns_) cols.push_back(c->Gather(selection_->data(), selection_->size()));
  Batch b(schema_, std::move(cols), selection_->size());
  b.origin_ = origin_;
  if (row_offsets_) {
    auto offs = std::make_shared<std::vector<int64_t>>();
    offs->reserve(selection_->size());
    for (uint32_t r : *selection_) offs->push_back(RowOffset(r));
    b.row_offsets_ = std::move(offs);
  }
  return b;
}

BatchBuilder::BatchBuilder(SchemaPtr schema, size_t reserve_rows) : schema_(std::move(schema)) {
  Reset(reserve_rows);
}

void BatchBuilder::Reset(size_t reserve_rows) {
  reserve_rows_ = reserve_rows;
  // String columns reserve what the previous batch needed (plus a margin), so appending rarely
  // reallocates and copies the bytes again.
  std::vector<size_t> last_chars(schema_->size(), 0);
  for (size_t i = 0; i < columns_.size() && i < last_chars.size(); ++i) last_chars[i] = columns_[i]->chars_size();
  columns_.clear();
  for (size_t i = 0; i < schema_->size(); ++i) {
    const Field& f = schema_->field(i);
    auto c = std::make_shared<Column>(f.type);
    if (reserve_rows) {
      c->Reserve(reserve_rows, f.type.is_variable_width() ? std::max(reserve_rows * 16, last_chars[i] + last_chars[i] / 8) : 0);
    }
    columns_.push_back(std::move(c));
  }
  offsets_ = std::make_shared<std::vector<int64_t>>();
  offsets_->reserve(reserve_rows);
  num_rows_ = 0;
}

void BatchBuilder::AbandonRow() {
  for (auto& c : columns_) {
    if (c->size() == num_rows_) continue;
    // Rebuild the column without its trailing rows. Rare (decode errors), so a copy is fine.
    std::vector<uint32_t> keep(num_rows_);
    for (uint32_t i = 0; i < num_rows_; ++i) keep[i] = i;
    c = c->Gather(keep.data(), keep.size());
  }
}

void BatchBuilder::AppendRow(const std::vector<Value>& row, int64_t offset) {
  SLUICE_CHECK(row.size() == columns_.size());
  for (size_t i = 0; i < row.size(); ++i) columns_[i]->AppendValue(row[i]);
  CommitRow(offset);
}

Batch BatchBuilder::Finish(std::shared_ptr<const BatchOrigin> origin) {
  Batch b(schema_, columns_, num_rows_);
  b.set_origin(std::move(origin));
  b.set_row_offsets(offsets_);
  Reset(reserve_rows_);
  return b;
}

}  // namespace sluice
