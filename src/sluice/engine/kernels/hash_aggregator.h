// HashAggregator: GROUP BY over batches — the aggregate operator's engine.
//
//   auto agg = HashAggregator::Make(input_schema, {GroupKey::Column(i)}, expr::FindAggregates(*e));
//   for (const Batch& b : input) SLUICE_RETURN_IF_ERROR((*agg)->Consume(b));
//   SLUICE_ASSIGN_OR_RETURN(std::vector<Batch> out, (*agg)->Finish());
//
// Output schema: the group-by columns, then one column per aggregate call named by the call's
// canonical SQL (AggregateCall::sql, e.g. "sum(amount)") with AggregateCall::result_type — the
// batch over which the engine evaluates output expressions such as "sum(amount) / count(*)".
// Groups come out in order of first appearance. With no group-by columns there is exactly one
// group, even for empty input (SQL: count(*) = 0, sum = NULL).
//
// Semantics (SQL, checked against DuckDB in tests/integration/ops_oracle_test.cc):
//   - Only the active rows of a batch count. NULL group keys form one group per distinct key.
//   - count(*) counts rows; every other aggregate ignores NULL inputs; an aggregate over no
//     non-NULL input is NULL (counts are 0).
//   - sum(int32|int64) -> int64, sum(decimal(p,s)) -> decimal(18,s): accumulated exactly in
//     128 bits; a final value outside the result type is a DataError naming the aggregate.
//     sum(float64) -> float64.
//   - avg -> float64 (the binder's type): the exact 128-bit sum divided by the count, so
//     avg(decimal) is correctly rounded to double. If a future binder types avg(decimal(p,s)) as a
//     decimal, the result is the exact quotient rounded half away from zero to that scale.
//   - min/max keep the argument type; strings compare bytewise (UTF-8 code point order),
//     NaN is greater than every other float64.
//   - first/last: the first/last non-NULL value in arrival order (NULL only if every input was).
//   - count_distinct: exact, values compared like GROUP BY keys.
//   - approx_count_distinct: HyperLogLog with p = 14 (see hyperloglog.h: ±0.81 % standard error,
//     sparse for small groups).
//
// Work per batch is columnar: key columns are hashed column-wise into a hash array, an
// open-addressing table turns hashes into group ids (KeyTable), and each aggregate updates state
// arrays indexed by group id in one typed loop — no per-row allocation or virtual call.
// A failed Consume() (an expression that cannot be evaluated) leaves the state as it was; an
// overflow is reported by Finish().
//
// Snapshots (streaming checkpoints): SaveState() appends every group — its key values and each
// aggregate's exact state (counts, 128-bit sums, min/max/first/last values, the count_distinct
// sets, the HyperLogLog registers) — in a versioned, length-prefixed, checksummed encoding
// (snapshot_codec.h). LoadState() into an aggregator made with the same Make() arguments
// continues exactly where the saved one stood: groups keep their order of first appearance and
// later Consume()/Finish() calls give what they would have given without the round trip.
// Thread-safety: none; one owner.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/engine/kernels/key_table.h"
#include "sluice/expr/expr.h"

namespace sluice::engine::kernels {

// One GROUP BY key: an input column, or an expression bound against the input schema.
struct GroupKey {
  std::string name;          // output column name (defaults to the input field's name)
  int column = -1;           // input column index, or -1 when `expr` is set
  expr::BoundExprPtr expr;   // evaluated per batch when column < 0

  static GroupKey Column(size_t index) { return GroupKey{"", static_cast<int>(index), nullptr}; }
  static GroupKey Expr(std::string name, expr::BoundExprPtr e) { return GroupKey{std::move(name), -1, std::move(e)}; }
};

struct AggregatorOptions {
  size_t output_batch_rows = 4096;  // rows per batch returned by Finish()
};

class HashAggregator {
 public:
  static Result<std::unique_ptr<HashAggregator>> Make(SchemaPtr input, std::vector<GroupKey> group_by,
                                                      std::vector<expr::AggregateCall> aggregates,
                                                      AggregatorOptions options = {});
  ~HashAggregator();

  const SchemaPtr& output_schema() const { return output_schema_; }
  // Adds the active rows of `batch` (which has the input schema).
  Status Consume(const Batch& batch);
  // The result, in batches of at most output_batch_rows rows. The state is kept, so Finish()
  // may be called again (e.g. to emit a running result); Reset() starts over.
  Result<std::vector<Batch>> Finish();
  void Reset();

  // Appends the current state to `out` (what `out` held is kept).
  void SaveState(std::string& out) const;
  // Replaces the state with one SaveState() wrote (the whole of `in`). A truncated or corrupt
  // buffer, a newer format, or one from an aggregator with other group-by key types or other
  // aggregates (number, kind, argument/result type or SQL) is a DataError naming the problem, and
  // the aggregator is then reset (empty, as after Reset()).
  Status LoadState(std::string_view in);

  size_t num_groups() const;
  // Approximate bytes of state (keys, hash table, aggregate states).
  size_t memory_bytes() const;

  struct AggregateState;  // defined in hash_aggregator.cc

 private:
  HashAggregator() = default;
  void EnsureGroups(size_t n);
  Status LoadStateImpl(std::string_view in);

  SchemaPtr input_schema_;
  SchemaPtr output_schema_;
  std::vector<GroupKey> group_by_;
  std::vector<std::unique_ptr<AggregateState>> aggregates_;
  std::unique_ptr<KeyTable> keys_;
  AggregatorOptions options_;
  size_t groups_ = 0;  // groups with allocated state
  // Per-batch scratch, reused.
  std::vector<uint32_t> rows_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> group_ids_;
};

}  // namespace sluice::engine::kernels
