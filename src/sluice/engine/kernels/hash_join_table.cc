#include "sluice/engine/kernels/hash_join_table.h"

#include <numeric>

namespace sluice::engine::kernels {
namespace {

bool Comparable(const DataType& probe, const DataType& build) {
  if (probe == build) return true;
  if (probe.is_integer() && build.is_integer()) return true;
  return probe.id == TypeId::kDecimal && build.id == TypeId::kDecimal && probe.scale == build.scale;
}

void ActiveRows(const Batch& b, std::vector<uint32_t>& rows) {
  rows.resize(b.active_rows());
  if (b.has_selection()) std::copy(b.selection()->begin(), b.selection()->end(), rows.begin());
  else std::iota(rows.begin(), rows.end(), 0u);
}

}  // namespace

Result<std::unique_ptr<HashJoinTable>> HashJoinTable::Make(JoinBuildSpec spec) {
  SLUICE_CHECK(spec.build_schema != nullptr);
  const Schema& s = *spec.build_schema;
  SLUICE_USER_CHECK(!spec.build_keys.empty(), "a join needs at least one key column");
  std::vector<DataType> key_types;
  for (size_t k : spec.build_keys) {
    SLUICE_USER_CHECK(k < s.size(), "join key column index {} is out of range ({} columns)", k, s.size());
    key_types.push_back(s.field(k).type);
  }
  if (spec.output_names.empty()) {
    for (size_t c : spec.output_columns) {
      SLUICE_USER_CHECK(c < s.size(), "join output column index {} is out of range ({} columns)", c, s.size());
      spec.output_names.push_back(s.field(c).name);
    }
  }
  SLUICE_USER_CHECK(spec.output_names.size() == spec.output_columns.size(),
                    "join: {} output names for {} output columns", spec.output_names.size(), spec.output_columns.size());
  std::unique_ptr<HashJoinTable> t(new HashJoinTable());
  t->keys_ = KeyTable(std::move(key_types));
  for (size_t c : spec.output_columns) {
    SLUICE_USER_CHECK(c < s.size(), "join output column index {} is out of range ({} columns)", c, s.size());
    t->columns_.push_back(std::make_shared<Column>(s.field(c).type));
  }
  t->spec_ = std::move(spec);
  return t;
}

Status HashJoinTable::Add(const Batch& build) {
  SLUICE_CHECK(build.num_columns() == spec_.build_schema->size()) << "build batch has the wrong schema";
  std::vector<uint32_t> all;
  ActiveRows(build, all);
  std::vector<const Column*> key_cols;
  for (size_t k : spec_.build_keys) key_cols.push_back(build.column(k).get());
  // NULL keys can never match: do not index them.
  std::vector<uint32_t> rows;
  rows.reserve(all.size());
  for (uint32_t r : all) {
    if (!KeyTable::HasNullKey(key_cols, r)) rows.push_back(r);
  }
  const size_t n = rows.size();
  std::vector<uint64_t> hashes(n);
  std::vector<uint32_t> ids(n);
  KeyTable::HashRows(key_cols, rows.data(), n, hashes.data());
  const size_t keys_before = keys_.size();
  if (spec_.duplicates == DuplicateKeys::kError) {
    // Check before changing anything, so a refused batch leaves the table as it was.
    keys_.Find(key_cols, rows.data(), hashes.data(), n, ids.data());
    for (size_t k = 0; k < n; ++k) {
      if (ids[k] != KeyTable::kNotFound) {
        return Status::DataError("duplicate join key at build row {} (offset {})", rows[k], build.RowOffset(rows[k]));
      }
    }
  }
  keys_.FindOrInsert(key_cols, rows.data(), hashes.data(), n, ids.data());
  if (spec_.duplicates == DuplicateKeys::kError) {
    // Duplicates inside this batch: a key inserted by this batch seen twice.
    std::vector<uint8_t> seen(keys_.size() - keys_before, 0);
    for (size_t k = 0; k < n; ++k) {
      if (seen[ids[k] - keys_before]++) {
        return Status::DataError("duplicate join key at build row {} (offset {})", rows[k], build.RowOffset(rows[k]));
      }
    }
  }
  first_row_.resize(keys_.size(), kNoMatch);
  last_row_.resize(keys_.size(), kNoMatch);
  for (size_t k = 0; k < n; ++k) {
    const uint32_t row = static_cast<uint32_t>(key_of_row_.size());
    const uint32_t id = ids[k];
    key_of_row_.push_back(id);
    next_row_.push_back(kNoMatch);
    if (first_row_[id] == kNoMatch) {
      first_row_[id] = row;
    } else {
      next_row_[last_row_[id]] = row;
      ++duplicate_rows_;
    }
    last_row_[id] = row;
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& src = *build.column(spec_.output_columns[c]);
    for (uint32_t r : rows) columns_[c]->AppendFrom(src, r);
  }
  return Status::OK();
}

size_t HashJoinTable::memory_bytes() const {
  size_t b = keys_.memory_bytes() + (key_of_row_.capacity() + first_row_.capacity() + last_row_.capacity() +
                                     next_row_.capacity()) * 4;
  for (const auto& c : columns_) b += c->size() * static_cast<size_t>(std::max(c->type().byte_width(), 4)) + c->chars_size();
  return b;
}

Status HashJoinTable::CheckProbeKeys(const Schema& probe, const std::vector<size_t>& probe_keys) const {
  SLUICE_USER_CHECK(probe_keys.size() == spec_.build_keys.size(), "join: {} probe keys for {} build keys",
                    probe_keys.size(), spec_.build_keys.size());
  for (size_t i = 0; i < probe_keys.size(); ++i) {
    SLUICE_USER_CHECK(probe_keys[i] < probe.size(), "join probe key index {} is out of range ({} columns)",
                      probe_keys[i], probe.size());
    const Field& p = probe.field(probe_keys[i]);
    const Field& b = spec_.build_schema->field(spec_.build_keys[i]);
    SLUICE_USER_CHECK(Comparable(p.type, b.type), "join key '{}' ({}) cannot be compared with '{}' ({})", p.name,
                      p.type.ToString(), b.name, b.type.ToString());
  }
  return Status::OK();
}

Result<SchemaPtr> HashJoinTable::OutputSchema(const Schema& probe, const std::vector<size_t>& probe_keys,
                                              JoinType type) const {
  SLUICE_RETURN_IF_ERROR(CheckProbeKeys(probe, probe_keys));
  std::vector<Field> fields = probe.fields();
  for (size_t c = 0; c < spec_.output_columns.size(); ++c) {
    Field f = spec_.build_schema->field(spec_.output_columns[c]);
    f.name = spec_.output_names[c];
    if (type == JoinType::kLeft) f.required = false;
    SLUICE_USER_CHECK(!probe.IndexOf(f.name).has_value(), "join output column '{}' already exists in the input; rename it",
                      f.name);
    fields.push_back(std::move(f));
  }
  return SchemaPtr(std::make_shared<Schema>(std::move(fields)));
}

void HashJoinTable::ProbeIds(const Batch& probe, const std::vector<size_t>& probe_keys, std::vector<uint32_t>& rows,
                             std::vector<uint32_t>& ids) const {
  ActiveRows(probe, rows);
  std::vector<const Column*> key_cols;
  for (size_t k : probe_keys) key_cols.push_back(probe.column(k).get());
  const size_t n = rows.size();
  std::vector<uint64_t> hashes(n);
  ids.resize(n);
  KeyTable::HashRows(key_cols, rows.data(), n, hashes.data());
  keys_.Find(key_cols, rows.data(), hashes.data(), n, ids.data());
  bool any_null = false;
  for (const Column* c : key_cols) any_null |= c->has_nulls();
  if (any_null) {
    for (size_t k = 0; k < n; ++k) {
      if (KeyTable::HasNullKey(key_cols, rows[k])) ids[k] = KeyTable::kNotFound;
    }
  }
}

std::vector<ColumnPtr> HashJoinTable::GatherBuild(const std::vector<uint32_t>& build_rows) const {
  std::vector<ColumnPtr> out;
  const size_t n = build_rows.size();
  std::vector<uint32_t> idx(n);
  for (size_t k = 0; k < n; ++k) idx[k] = build_rows[k] == kNoMatch ? 0 : build_rows[k];
  for (const auto& col : columns_) {
    ColumnPtr c;
    if (col->size() == 0) {
      c = std::make_shared<Column>(col->type());
      for (size_t k = 0; k < n; ++k) c->AppendNull();
    } else {
      c = col->Gather(idx.data(), n);
      for (size_t k = 0; k < n; ++k) {
        if (build_rows[k] == kNoMatch) c->SetNull(k);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<uint32_t>> HashJoinTable::Lookup(const Batch& probe, const std::vector<size_t>& probe_keys) const {
  SLUICE_RETURN_IF_ERROR(CheckProbeKeys(*probe.schema(), probe_keys));
  std::vector<uint32_t> rows, ids;
  ProbeIds(probe, probe_keys, rows, ids);
  std::vector<uint32_t> out(probe.num_rows(), kNoMatch);
  for (size_t k = 0; k < rows.size(); ++k) {
    if (ids[k] != KeyTable::kNotFound) out[rows[k]] = last_row_[ids[k]];
  }
  return out;
}

Result<Batch> HashJoinTable::LookupColumns(const Batch& probe, const std::vector<size_t>& probe_keys,
                                           std::vector<uint32_t>* matches_out) const {
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, OutputSchema(*probe.schema(), probe_keys, JoinType::kLeft));
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint32_t> matches, Lookup(probe, probe_keys));
  std::vector<ColumnPtr> cols = probe.columns();
  for (auto& c : GatherBuild(matches)) cols.push_back(std::move(c));
  if (matches_out) *matches_out = std::move(matches);
  return probe.WithColumns(std::move(schema), std::move(cols));
}

Result<Batch> HashJoinTable::Join(const Batch& probe, const std::vector<size_t>& probe_keys, JoinType type) const {
  SLUICE_ASSIGN_OR_RETURN(SchemaPtr schema, OutputSchema(*probe.schema(), probe_keys, type));
  std::vector<uint32_t> rows, ids;
  ProbeIds(probe, probe_keys, rows, ids);
  std::vector<uint32_t> probe_rows, build_rows;
  probe_rows.reserve(rows.size());
  build_rows.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    if (ids[k] == KeyTable::kNotFound) {
      if (type == JoinType::kLeft) {
        probe_rows.push_back(rows[k]);
        build_rows.push_back(kNoMatch);
      }
      continue;
    }
    for (uint32_t b = first_row_[ids[k]]; b != kNoMatch; b = next_row_[b]) {
      probe_rows.push_back(rows[k]);
      build_rows.push_back(b);
    }
  }
  std::vector<ColumnPtr> cols;
  for (const auto& c : probe.columns()) cols.push_back(c->Gather(probe_rows.data(), probe_rows.size()));
  for (auto& c : GatherBuild(build_rows)) cols.push_back(std::move(c));
  Batch out(std::move(schema), std::move(cols), probe_rows.size());
  out.set_origin(probe.origin());
  if (probe.row_offsets()) {
    auto offsets = std::make_shared<std::vector<int64_t>>(probe_rows.size());
    for (size_t k = 0; k < probe_rows.size(); ++k) (*offsets)[k] = probe.RowOffset(probe_rows[k]);
    out.set_row_offsets(std::move(offsets));
  }
  return out;
}

}  // namespace sluice::engine::kernels
