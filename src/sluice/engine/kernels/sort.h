// Sorter and Limit: ORDER BY and LIMIT/OFFSET for outputs (an output's `order_by`, a `sql`
// transform's preview, `sluice lake read --limit`). In memory; an external sort is not needed for
// the outputs this serves.
//
// Order: SQL's. Multi-key; each key ascending or descending, NULLs first or last (default: NULLS
// LAST for either direction, as DuckDB). Strings compare bytewise (UTF-8 code point order),
// float64 puts NaN above every number, bool false < true. The sort is stable: rows with equal
// keys keep their arrival order, so results are deterministic.
// Thread-safety: none; one owner.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"

namespace sluice::engine::kernels {

struct SortKey {
  size_t column = 0;
  bool descending = false;
  bool nulls_first = false;
};

class Sorter {
 public:
  static Result<std::unique_ptr<Sorter>> Make(SchemaPtr schema, std::vector<SortKey> keys,
                                              size_t output_batch_rows = 4096);
  // Copies the active rows of `batch` (which has the schema).
  Status Add(const Batch& batch);
  size_t num_rows() const { return rows_; }
  // The rows in order, skipping `offset` and keeping at most `limit` (top-N when set).
  Result<std::vector<Batch>> Finish(std::optional<size_t> limit = std::nullopt, size_t offset = 0) const;

 private:
  Sorter() = default;
  SchemaPtr schema_;
  std::vector<SortKey> keys_;
  size_t output_batch_rows_ = 4096;
  std::vector<ColumnPtr> columns_;  // all rows added so far
  std::vector<int64_t> offsets_;    // row offsets (provenance) of the rows added
  size_t rows_ = 0;
};

// LIMIT n OFFSET m over a stream of batches: narrows each batch's selection vector.
class Limit {
 public:
  explicit Limit(size_t limit, size_t offset = 0) : limit_(limit), offset_(offset) {}
  // The rows of `batch` that pass (possibly none).
  Batch Apply(const Batch& batch);
  // True once `limit` rows have passed: the producer may stop.
  bool done() const { return passed_ >= limit_; }

 private:
  size_t limit_;
  size_t offset_;
  size_t skipped_ = 0;
  size_t passed_ = 0;
};

}  // namespace sluice::engine::kernels
