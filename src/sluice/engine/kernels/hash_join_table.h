// HashJoinTable: the build side of a hash join or lookup — the rows of a (dimension) table,
// indexed by one or more key columns — probed a batch at a time by a stream of facts.
//
//   auto table = HashJoinTable::Make({dim_schema, /*keys*/ {0}, /*output*/ {2, 3}});
//   for (const Batch& b : dim) SLUICE_RETURN_IF_ERROR((*table)->Add(b));
//   SLUICE_ASSIGN_OR_RETURN(Batch enriched, (*table)->LookupColumns(facts, /*probe keys*/ {4}));
//
// Semantics:
//   - NULL keys never match (SQL): build rows with a NULL key part are not indexed, probe rows
//     with one find nothing.
//   - Key types: bool, int32, int64, decimal, string, binary, date, timestamp, float64; compound
//     keys. A probe key must have the build key's type, except that int32 and int64 compare as
//     integers and decimals compare when their scales are equal.
//   - Duplicate build keys: Join() returns every match, in build order. Lookup()/LookupColumns()
//     use the LAST build row added for the key (a dimension loaded in order ends with its newest
//     version, as an upsert would leave it); with DuplicateKeys::kError, Add() refuses a second
//     row for a key instead.
//   - LookupColumns() is a left join that keeps the probe batch as it is (same physical rows,
//     selection vector, origin and row offsets — so a later dead letter still names its source)
//     and appends the selected build columns, NULL where nothing matched.
//   - Join() with kInner or kLeft returns a dense batch: the probe columns, then the selected
//     build columns (nullable for kLeft); probe order, and build order within one probe row.
// Thread-safety: Add() needs one owner; once built, Lookup*/Join are const and may run
// concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/engine/kernels/key_table.h"

namespace sluice::engine::kernels {

enum class JoinType { kInner, kLeft };
enum class DuplicateKeys { kLastWins, kError };

struct JoinBuildSpec {
  SchemaPtr build_schema;
  std::vector<size_t> build_keys;      // key columns of the build side
  std::vector<size_t> output_columns;  // build columns appended to probe rows
  std::vector<std::string> output_names;  // their names in the output; empty = the field names
  DuplicateKeys duplicates = DuplicateKeys::kLastWins;
};

class HashJoinTable {
 public:
  static constexpr uint32_t kNoMatch = UINT32_MAX;

  static Result<std::unique_ptr<HashJoinTable>> Make(JoinBuildSpec spec);

  // Indexes the active rows of a build batch (which has the build schema).
  Status Add(const Batch& build);

  size_t num_rows() const { return key_of_row_.size(); }  // indexed build rows
  size_t num_keys() const { return keys_.size(); }
  size_t duplicate_rows() const { return duplicate_rows_; }
  size_t memory_bytes() const;

  // The output schema for probe batches of `probe` schema: probe fields, then the build output
  // fields. Errors when a name collides or a probe key cannot be compared with its build key.
  Result<SchemaPtr> OutputSchema(const Schema& probe, const std::vector<size_t>& probe_keys, JoinType type) const;

  // Per physical row of `probe`: the index of the matching build row (the last one added for the
  // key), or kNoMatch (also for inactive rows and NULL keys). Build rows are numbered 0.. in the
  // order they were indexed.
  Result<std::vector<uint32_t>> Lookup(const Batch& probe, const std::vector<size_t>& probe_keys) const;
  // The probe batch plus the build output columns (see the file comment).
  // When `matches` is given it receives what Lookup() would return, without a second probe.
  Result<Batch> LookupColumns(const Batch& probe, const std::vector<size_t>& probe_keys,
                              std::vector<uint32_t>* matches = nullptr) const;
  // Inner or left join of the active probe rows with every matching build row.
  Result<Batch> Join(const Batch& probe, const std::vector<size_t>& probe_keys, JoinType type) const;

 private:
  HashJoinTable() = default;
  Status CheckProbeKeys(const Schema& probe, const std::vector<size_t>& probe_keys) const;
  // Probe ids for the active rows (kNotFound for misses and NULL keys).
  void ProbeIds(const Batch& probe, const std::vector<size_t>& probe_keys, std::vector<uint32_t>& rows,
                std::vector<uint32_t>& ids) const;
  // Build output columns gathered at `build_rows` (kNoMatch -> NULL).
  std::vector<ColumnPtr> GatherBuild(const std::vector<uint32_t>& build_rows) const;

  JoinBuildSpec spec_;
  KeyTable keys_{{}};
  std::vector<ColumnPtr> columns_;  // build output columns, row = build row
  std::vector<uint32_t> key_of_row_;
  std::vector<uint32_t> first_row_;  // per key: first build row (chain head)
  std::vector<uint32_t> last_row_;   // per key: last build row (chain tail, the lookup row)
  std::vector<uint32_t> next_row_;   // per build row: next row with the same key, or kNoMatch
  size_t duplicate_rows_ = 0;
};

}  // namespace sluice::engine::kernels
