#include "sluice/engine/kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sluice::engine::kernels {
namespace {

// -1, 0, 1 comparing non-NULL values of one column.
int CompareValues(const Column& c, uint32_t a, uint32_t b) {
  const DataType& t = c.type();
  if (t.is_variable_width()) {
    int r = c.GetString(a).compare(c.GetString(b));
    return (r > 0) - (r < 0);
  }
  if (t.id == TypeId::kFloat64) {
    double x = c.data<double>()[a], y = c.data<double>()[b];
    bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn || yn) return xn == yn ? 0 : (xn ? 1 : -1);
    return (x > y) - (x < y);
  }
  int64_t x = c.GetInt(a), y = c.GetInt(b);
  return (x > y) - (x < y);
}

}  // namespace

Result<std::unique_ptr<Sorter>> Sorter::Make(SchemaPtr schema, std::vector<SortKey> keys, size_t output_batch_rows) {
  SLUICE_CHECK(schema != nullptr);
  for (const auto& k : keys) {
    SLUICE_USER_CHECK(k.column < schema->size(), "sort key column index {} is out of range ({} columns)", k.column,
                      schema->size());
  }
  std::unique_ptr<Sorter> s(new Sorter());
  s->schema_ = schema;
  s->keys_ = std::move(keys);
  s->output_batch_rows_ = output_batch_rows == 0 ? 4096 : output_batch_rows;
  for (const auto& f : schema->fields()) s->columns_.push_back(std::make_shared<Column>(f.type));
  return s;
}

Status Sorter::Add(const Batch& batch) {
  SLUICE_CHECK(batch.num_columns() == columns_.size()) << "sort input has the wrong schema";
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& src = *batch.column(c);
    batch.ForEachActive([&](uint32_t r) { columns_[c]->AppendFrom(src, r); });
  }
  batch.ForEachActive([&](uint32_t r) { offsets_.push_back(batch.RowOffset(r)); });
  rows_ += batch.active_rows();
  return Status::OK();
}

Result<std::vector<Batch>> Sorter::Finish(std::optional<size_t> limit, size_t offset) const {
  std::vector<uint32_t> order(rows_);
  std::iota(order.begin(), order.end(), 0u);
  auto less = [&](uint32_t a, uint32_t b) {
    for (const auto& k : keys_) {
      const Column& c = *columns_[k.column];
      bool an = c.IsNull(a), bn = c.IsNull(b);
      if (an || bn) {
        if (an && bn) continue;
        // NULL placement does not flip with the direction.
        return an ? k.nulls_first : !k.nulls_first;
      }
      int r = CompareValues(c, a, b);
      if (r != 0) return k.descending ? r > 0 : r < 0;
    }
    return a < b;  // stable: arrival order breaks ties
  };
  size_t end = rows_;
  if (limit) end = std::min(rows_, offset + *limit);
  if (offset >= end) return std::vector<Batch>{};
  if (end < rows_) {
    std::partial_sort(order.begin(), order.begin() + end, order.end(), less);
  } else {
    std::sort(order.begin(), order.end(), less);
  }
  std::vector<Batch> out;
  for (size_t begin = offset; begin < end; begin += output_batch_rows_) {
    size_t stop = std::min(end, begin + output_batch_rows_);
    std::vector<ColumnPtr> cols;
    for (const auto& c : columns_) cols.push_back(c->Gather(order.data() + begin, stop - begin));
    Batch b(schema_, std::move(cols), stop - begin);
    auto offs = std::make_shared<std::vector<int64_t>>();
    for (size_t i = begin; i < stop; ++i) offs->push_back(offsets_[order[i]]);
    b.set_row_offsets(std::move(offs));
    out.push_back(std::move(b));
  }
  return out;
}

Batch Limit::Apply(const Batch& batch) {
  SelectionVector sel;
  batch.ForEachActive([&](uint32_t r) {
    if (skipped_ < offset_) {
      ++skipped_;
      return;
    }
    if (passed_ < limit_) {
      sel.push_back(r);
      ++passed_;
    }
  });
  Batch out = batch;
  out.set_selection(std::move(sel));
  return out;
}

}  // namespace sluice::engine::kernels
