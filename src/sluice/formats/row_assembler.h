// RowAssembler: how decoders turn records into batches. A decoder stages one FieldValue per
// schema field while it reads a record, then either commits the row (values are appended to the
// columns of the batch being built) or drops it (a rejected record: nothing was appended, so
// there is nothing to roll back). Full batches go to the BatchCallback; every batch carries the
// BatchOrigin and a row offset (line number) per row.
//
// Fields that were not set since BeginRow() are NULL. A string field named "_raw" (if the schema
// has one) receives the record text passed to CommitRow().
// Thread-safety: one thread per instance.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/columnar/batch.h"
#include "sluice/formats/formats.h"
#include "sluice/formats/text_convert.h"

namespace sluice::formats {

class RowAssembler {
 public:
  RowAssembler(SchemaPtr schema, const DecodeOptions& options);

  // The index of the "_raw" field, or -1.
  int raw_field() const { return raw_field_; }
  const SchemaPtr& schema() const { return schema_; }

  // Starts decoding into a new sink (one Decode() call).
  void Start(const BatchCallback* on_batch) { on_batch_ = on_batch; }
  // Forgets the values of the previous record.
  void BeginRow() {
    if (++generation_ == 0) {  // wrapped: clear stale stamps once every 2^32 rows
      std::fill(stamps_.begin(), stamps_.end(), 0);
      generation_ = 1;
    }
  }
  // The value of field `i` for the current record (marks it as set; a later call for the same
  // field overwrites it).
  FieldValue& Set(size_t i) {
    stamps_[i] = generation_;
    return values_[i];
  }
  bool IsSet(size_t i) const { return stamps_[i] == generation_; }

  // Appends the staged record as a row numbered `offset`; hands out the batch when it is full.
  Status CommitRow(int64_t offset, std::string_view raw);
  // Hands out the partial batch, if it has rows.
  Status Flush();

 private:
  Status Emit();

  SchemaPtr schema_;
  size_t batch_rows_;
  std::vector<TypeId> types_;
  int raw_field_ = -1;
  BatchBuilder builder_;
  std::shared_ptr<const BatchOrigin> origin_;
  const BatchCallback* on_batch_ = nullptr;
  std::vector<FieldValue> values_;
  std::vector<uint32_t> stamps_;
  uint32_t generation_ = 1;
};

}  // namespace sluice::formats
