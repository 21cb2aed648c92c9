#include "sluice/columnar/column.h"

#include <algorithm>

namespace sluice {

Column::Column(DataType type) : type_(type) {
  if (type_.is_variable_width()) offsets_.push_back(0);
}

int64_t Column::GetInt(size_t i) const {
  switch (type_.byte_width()) {
    case 1: return data<uint8_t>()[i];
    case 4: return data<int32_t>()[i];
    case 8: return data<int64_t>()[i];
    default: SLUICE_CHECK(false) << "GetInt on " << type_.ToString();
  }
  return 0;
}

void Column::EnsureValidity() {
  if (!validity_.empty()) return;
  validity_.assign((std::max<size_t>(size_, 1) + 63) / 64 + 1, ~uint64_t{0});
}

void Column::GrowValidity() {
  size_t need = (size_ + 63) / 64 + 1;
  if (validity_.size() < need) validity_.resize(std::max(need, validity_.size() * 2), ~uint64_t{0});
  // A fresh row is valid: set its bit (the word may hold a stale 0 from a Clear()).
  size_t i = size_ - 1;
  validity_[i >> 6] |= uint64_t{1} << (i & 63);
}

void Column::SetNull(size_t i) {
  SLUICE_CHECK(i < size_);
  EnsureValidity();
  uint64_t bit = uint64_t{1} << (i & 63);
  if (validity_[i >> 6] & bit) {
    validity_[i >> 6] &= ~bit;
    ++null_count_;
  }
}

void Column::MergeNulls(const Column& other) {
  SLUICE_CHECK(other.size_ == size_);
  if (!other.has_nulls()) return;
  EnsureValidity();
  size_t words = (size_ + 63) / 64;
  size_t nulls = 0;
  for (size_t w = 0; w < words; ++w) {
    validity_[w] &= other.validity_[w];
    uint64_t word = validity_[w];
    if (w == words - 1 && (size_ & 63)) word |= ~uint64_t{0} << (size_ & 63);
    nulls += 64 - __builtin_popcountll(word);
  }
  null_count_ = nulls;
}

void Column::Reserve(size_t rows, size_t chars) {
  if (type_.is_variable_width()) {
    offsets_.reserve(rows + 1);
    chars_.reserve(chars);
  } else {
    data_.reserve(rows * type_.byte_width());
  }
}

void Column::Resize(size_t n) {
  SLUICE_CHECK(!type_.is_variable_width()) << "Resize on a variable-width column";
  if (data_.size() < n * type_.byte_width()) data_.resize(n * type_.byte_width());
  size_ = n;
  null_count_ = 0;
  validity_.clear();
}

void Column::Clear() {
  size_ = 0;
  null_count_ = 0;
  validity_.clear();
  if (type_.is_variable_width()) {
    offsets_.assign(1, 0);
    chars_.clear();
  }
}

void Column::AppendNull() {
  if (type_.is_variable_width()) {
    offsets_.push_back(static_cast<uint32_t>(chars_.size()));
  } else if (size_t w = type_.byte_width(); w > 0) {
    if (data_.size() < (size_ + 1) * w) data_.resize(std::max((size_ + 1) * w, data_.size() * 2));
    std::memset(data_.data() + size_ * w, 0, w);
  }
  ++size_;
  EnsureValidity();
  GrowValidity();
  SetNull(size_ - 1);
}

void Column::AppendString(std::string_view s) {
  SLUICE_CHECK(type_.is_variable_width()) << "AppendString on " << type_.ToString();
  chars_.insert(chars_.end(), s.begin(), s.end());
  offsets_.push_back(static_cast<uint32_t>(chars_.size()));
  ++size_;
  if (!validity_.empty()) GrowValidity();
}

void Column::AppendValue(const Value& v) {
  if (v.is_null()) {
    AppendNull();
    return;
  }
  switch (type_.id) {
    case TypeId::kBool: Append<uint8_t>(v.bool_value()); break;
    case TypeId::kInt32:
    case TypeId::kDate: Append<int32_t>(static_cast<int32_t>(v.int_value())); break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal: Append<int64_t>(v.int_value()); break;
    case TypeId::kFloat64: Append<double>(v.double_value()); break;
    case TypeId::kString:
    case TypeId::kBinary: AppendString(v.string_value()); break;
    case TypeId::kNull: AppendNull(); break;
  }
}

void Column::AppendFrom(const Column& src, size_t i) {
  if (src.IsNull(i)) {
    AppendNull();
    return;
  }
  if (type_.is_variable_width()) {
    AppendString(src.GetString(i));
    return;
  }
  switch (type_.byte_width()) {
    case 1: Append<uint8_t>(src.Get<uint8_t>(i)); break;
    case 4: Append<int32_t>(src.Get<int32_t>(i)); break;
    case 8: Append<int64_t>(src.Get<int64_t>(i)); break;
  }
}

Value Column::GetValue(size_t i) const {
  if (IsNull(i)) return Value::Null(type_);
  switch (type_.id) {
    case TypeId::kBool: return Value::Bool(Get<uint8_t>(i) != 0);
    case TypeId::kInt32: return Value::Int32(Get<int32_t>(i));
    case TypeId::kDate: return Value::Date(Get<int32_t>(i));
    case TypeId::kInt64: return Value::Int64(Get<int64_t>(i));
    case TypeId::kTimestamp: return Value::Timestamp(Get<int64_t>(i));
    case TypeId::kDecimal: return Value::Decimal(Get<int64_t>(i), type_.precision, type_.scale);
    case TypeId::kFloat64: return Value::Float64(Get<double>(i));
    case TypeId::kString: return Value::String(std::string(GetString(i)));
    case TypeId::kBinary: return Value::Binary(std::string(GetString(i)));
    case TypeId::kNull: return Value();
  }
  return Value();
}

ColumnPtr Column::Gather(const uint32_t* idx, size_t n) const {
  auto out = std::make_shared<Column>(type_);
  if (type_.is_variable_width()) {
    size_t bytes = 0;
    for (size_t k = 0; k < n; ++k) bytes += offsets_[idx[k] + 1] - offsets_[idx[k]];
    out->offsets_.resize(n + 1);
    out->chars_.resize(bytes);
    uint32_t pos = 0;
    out->offsets_[0] = 0;
    for (size_t k = 0; k < n; ++k) {
      uint32_t b = offsets_[idx[k]], e = offsets_[idx[k] + 1];
      if (e > b) std::memcpy(out->chars_.data() + pos, chars_.data() + b, e - b);
      pos += e - b;
      out->offsets_[k + 1] = pos;
    }
    out->size_ = n;
  } else {
    out->Resize(n);
    switch (type_.byte_width()) {
      case 1: for (size_t k = 0; k < n; ++k) out->mutable_data<uint8_t>()[k] = data<uint8_t>()[idx[k]]; break;
      case 4: for (size_t k = 0; k < n; ++k) out->mutable_data<int32_t>()[k] = data<int32_t>()[idx[k]]; break;
      case 8: for (size_t k = 0; k < n; ++k) out->mutable_data<int64_t>()[k] = data<int64_t>()[idx[k]]; break;
    }
  }
  if (has_nulls()) {
    for (size_t k = 0; k < n; ++k) {
      if (IsNull(idx[k])) out->SetNull(k);
    }
  }
  return out;
}

ColumnPtr MakeConstantColumn(const Value& v, size_t n) {
  auto c = std::make_shared<Column>(v.type());
  if (v.is_null()) {
    for (size_t i = 0; i < n; ++i) c->AppendNull();
    return c;
  }
  c->Reserve(n, v.type().is_variable_width() ? v.string_value().size() * n : 0);
  for (size_t i = 0; i < n; ++i) c->AppendValue(v);
  return c;
}

}  // namespace sluice
