#include "sluice/formats/row_assembler.h"

#include <algorithm>

namespace sluice::formats {

RowAssembler::RowAssembler(SchemaPtr schema, const DecodeOptions& options)
    : schema_(std::move(schema)),
      batch_rows_(std::max<size_t>(options.batch_rows, 1)),
      builder_(schema_, std::min<size_t>(batch_rows_, 1 << 16)),
      origin_(std::make_shared<const BatchOrigin>(
          BatchOrigin{options.origin_source, options.origin_location})),
      values_(schema_->size()),
      stamps_(schema_->size(), 0) {
  types_.reserve(schema_->size());
  for (size_t i = 0; i < schema_->size(); ++i) {
    const Field& f = schema_->field(i);
    types_.push_back(f.type.id);
    if (f.name == "_raw" && f.type.id == TypeId::kString) raw_field_ = static_cast<int>(i);
  }
}

Status RowAssembler::CommitRow(int64_t offset, std::string_view raw) {
  const size_t n = types_.size();
  for (size_t i = 0; i < n; ++i) {
    Column& col = builder_.column(i);
    if (static_cast<int>(i) == raw_field_) {
      col.AppendString(raw);
      continue;
    }
    const FieldValue& v = values_[i];
    if (stamps_[i] != generation_ || v.is_null) {
      col.AppendNull();
      continue;
    }
    switch (types_[i]) {
      case TypeId::kBool: col.Append<uint8_t>(v.int_value != 0); break;
      case TypeId::kInt32:
      case TypeId::kDate: col.Append<int32_t>(static_cast<int32_t>(v.int_value)); break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
      case TypeId::kDecimal: col.Append<int64_t>(v.int_value); break;
      case TypeId::kFloat64: col.Append<double>(v.float_value); break;
      case TypeId::kString:
      case TypeId::kBinary: col.AppendString(v.bytes); break;
      case TypeId::kNull: col.AppendNull(); break;
    }
  }
  builder_.CommitRow(offset);
  if (builder_.num_rows() >= batch_rows_) return Emit();
  return Status::OK();
}

Status RowAssembler::Flush() {
  if (builder_.num_rows() == 0) return Status::OK();
  return Emit();
}

Status RowAssembler::Emit() {
  Batch b = builder_.Finish(origin_);
  if (on_batch_ == nullptr || !*on_batch_) return Status::OK();
  return (*on_batch_)(std::move(b));
}

}  // namespace sluice::formats
