#include "sluice/engine/kernels/hash_aggregator.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "sluice/base/hash.h"
#include "sluice/engine/kernels/hyperloglog.h"
#include "sluice/engine/kernels/snapshot_codec.h"
#include "sluice/types/decimal.h"

namespace sluice::engine::kernels {
namespace {

using expr::AggregateKind;
using int128 = __int128;

// How an argument is stored in state.
enum class ArgClass { kNone, kInt, kDouble, kBytes };

ArgClass ArgClassOf(const DataType& t) {
  if (t.id == TypeId::kNull) return ArgClass::kNone;
  if (t.is_variable_width()) return ArgClass::kBytes;
  if (t.id == TypeId::kFloat64) return ArgClass::kDouble;
  return ArgClass::kInt;
}

std::string Int128ToString(int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

std::string Int128ToDecimalString(int128 v, int scale) {
  std::string digits = Int128ToString(v < 0 ? -v : v);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) digits.insert(0, scale + 1 - digits.size(), '0');
    digits.insert(digits.size() - scale, ".");
  }
  return (v < 0 ? "-" : "") + digits;
}

// float64 order for min/max: NaN above everything (as PostgreSQL and DuckDB order it).
inline bool DoubleLess(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

// Calls f(group, value) for each non-NULL value of the active rows; one type switch per batch.
template <typename T, typename F>
void ForEachTyped(const Column& col, const uint32_t* rows, const uint32_t* groups, size_t n, F&& f) {
  const T* data = col.data<T>();
  if (!col.has_nulls()) {
    for (size_t k = 0; k < n; ++k) f(groups[k], data[rows[k]]);
  } else {
    for (size_t k = 0; k < n; ++k) {
      if (!col.IsNull(rows[k])) f(groups[k], data[rows[k]]);
    }
  }
}

template <typename F>
void ForEachInt(const Column& col, const uint32_t* rows, const uint32_t* groups, size_t n, F&& f) {
  switch (col.type().byte_width()) {
    case 1: ForEachTyped<uint8_t>(col, rows, groups, n, [&](uint32_t g, uint8_t v) { f(g, int64_t{v}); }); break;
    case 4: ForEachTyped<int32_t>(col, rows, groups, n, [&](uint32_t g, int32_t v) { f(g, int64_t{v}); }); break;
    default: ForEachTyped<int64_t>(col, rows, groups, n, f); break;
  }
}

template <typename F>
void ForEachBytes(const Column& col, const uint32_t* rows, const uint32_t* groups, size_t n, F&& f) {
  for (size_t k = 0; k < n; ++k) {
    if (!col.IsNull(rows[k])) f(groups[k], col.GetString(rows[k]));
  }
}

// The exact set of (group, value) pairs behind count_distinct: one open-addressing table for all
// groups, values inline (integers, float bits) or in one byte arena (strings).
class DistinctSet {
 public:
  // True if (group, value) was not in the set.
  bool Insert(uint32_t group, uint64_t value_hash, int64_t value, std::string_view bytes, bool is_bytes) {
    if ((groups_.size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = HashCombine(HashInt(group), value_hash);
    size_t s = h & mask_;
    for (;;) {
      uint32_t e = slots_[s];
      if (e == kEmpty) break;
      if (hashes_[e] == h && groups_[e] == group &&
          (is_bytes ? std::string_view(arena_).substr(values_[e], lengths_[e]) == bytes : values_[e] == value)) {
        return false;
      }
      s = (s + 1) & mask_;
    }
    slots_[s] = static_cast<uint32_t>(groups_.size());
    hashes_.push_back(h);
    groups_.push_back(group);
    if (is_bytes) {
      values_.push_back(static_cast<int64_t>(arena_.size()));
      lengths_.push_back(static_cast<uint32_t>(bytes.size()));
      arena_.append(bytes);
    } else {
      values_.push_back(value);
    }
    return true;
  }
  size_t memory_bytes() const {
    return slots_.capacity() * 4 + hashes_.capacity() * 8 + groups_.capacity() * 4 + values_.capacity() * 8 +
           lengths_.capacity() * 4 + arena_.capacity();
  }
  // The entries in insertion order (for snapshots): entry e holds (group(e), value(e) or bytes(e)).
  size_t size() const { return groups_.size(); }
  uint32_t group(size_t e) const { return groups_[e]; }
  int64_t value(size_t e) const { return values_[e]; }
  std::string_view bytes(size_t e) const { return std::string_view(arena_).substr(values_[e], lengths_[e]); }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  void Grow() {
    size_t cap = std::max<size_t>(64, slots_.size() * 2);
    slots_.assign(cap, kEmpty);
    mask_ = cap - 1;
    for (uint32_t e = 0; e < hashes_.size(); ++e) {
      size_t s = hashes_[e] & mask_;
      while (slots_[s] != kEmpty) s = (s + 1) & mask_;
      slots_[s] = e;
    }
  }
  std::vector<uint32_t> slots_;
  size_t mask_ = 0;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> groups_;
  std::vector<int64_t> values_;
  std::vector<uint32_t> lengths_;
  std::string arena_;
};

}  // namespace

struct HashAggregator::AggregateState {
  expr::AggregateCall call;
  DataType arg_type;
  ArgClass arg_class = ArgClass::kNone;
  std::vector<int64_t> count;      // count(*), count(x), avg's count, count_distinct
  std::vector<int128> wide;        // exact sum/avg of integers and decimals
  std::vector<int64_t> ints;       // min/max/first/last of integer-like types
  std::vector<double> doubles;     // sum/avg/min/max/first/last of float64
  std::vector<std::string> bytes;  // min/max/first/last of strings and binary
  std::vector<uint8_t> has;        // a non-NULL value was seen (sum, min, max, first, last)
  DistinctSet distinct;
  std::vector<HyperLogLog> sketches;
  std::vector<uint64_t> scratch_hashes;

  bool NeedsCount() const {
    switch (call.kind) {
      case AggregateKind::kCountStar: case AggregateKind::kCount: case AggregateKind::kAvg:
      case AggregateKind::kCountDistinct: return true;
      default: return false;
    }
  }
  void Resize(size_t n) {
    if (NeedsCount()) count.resize(n, 0);
    switch (call.kind) {
      case AggregateKind::kSum: case AggregateKind::kAvg:
        if (arg_class == ArgClass::kDouble) doubles.resize(n, 0.0);
        else wide.resize(n, 0);
        if (call.kind == AggregateKind::kSum) has.resize(n, 0);
        break;
      case AggregateKind::kMin: case AggregateKind::kMax: case AggregateKind::kFirst: case AggregateKind::kLast:
        has.resize(n, 0);
        if (arg_class == ArgClass::kInt) ints.resize(n, 0);
        else if (arg_class == ArgClass::kDouble) doubles.resize(n, 0.0);
        else bytes.resize(n);
        break;
      case AggregateKind::kApproxCountDistinct: sketches.resize(n); break;
      default: break;
    }
  }

  size_t memory_bytes() const {
    size_t b = count.capacity() * 8 + wide.capacity() * 16 + ints.capacity() * 8 + doubles.capacity() * 8 +
               has.capacity() + distinct.memory_bytes();
    for (const auto& s : bytes) b += sizeof(std::string) + (s.size() > 15 ? s.capacity() : 0);
    for (const auto& s : sketches) b += s.memory_bytes();
    return b;
  }

  void Update(const Column* arg, const uint32_t* rows, const uint32_t* groups, size_t n);
  Result<ColumnPtr> Finalize(size_t begin, size_t end) const;
  // The state of groups 0..n-1 (see HashAggregator::SaveState); Load expects state resized to n.
  void Save(SnapshotWriter& w, size_t n) const;
  Status Load(SnapshotReader& r, size_t n);
  Status LoadDistinct(SnapshotReader& r, size_t n);
};

void HashAggregator::AggregateState::Update(const Column* arg, const uint32_t* rows, const uint32_t* groups, size_t n) {
  switch (call.kind) {
    case AggregateKind::kCountStar:
      for (size_t k = 0; k < n; ++k) ++count[groups[k]];
      return;
    case AggregateKind::kCount:
      if (!arg->has_nulls()) {
        for (size_t k = 0; k < n; ++k) ++count[groups[k]];
      } else {
        for (size_t k = 0; k < n; ++k) count[groups[k]] += arg->IsValid(rows[k]);
      }
      return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      const bool avg = call.kind == AggregateKind::kAvg;
      if (arg_class == ArgClass::kDouble) {
        ForEachTyped<double>(*arg, rows, groups, n, [&](uint32_t g, double v) {
          doubles[g] += v;
          if (avg) ++count[g]; else has[g] = 1;
        });
      } else {
        ForEachInt(*arg, rows, groups, n, [&](uint32_t g, int64_t v) {
          wide[g] += v;
          if (avg) ++count[g]; else has[g] = 1;
        });
      }
      return;
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax: {
      const bool is_min = call.kind == AggregateKind::kMin;
      if (arg_class == ArgClass::kInt) {
        ForEachInt(*arg, rows, groups, n, [&](uint32_t g, int64_t v) {
          if (!has[g] || (is_min ? v < ints[g] : v > ints[g])) {
            ints[g] = v;
            has[g] = 1;
          }
        });
      } else if (arg_class == ArgClass::kDouble) {
        ForEachTyped<double>(*arg, rows, groups, n, [&](uint32_t g, double v) {
          if (!has[g] || (is_min ? DoubleLess(v, doubles[g]) : DoubleLess(doubles[g], v))) {
            doubles[g] = v;
            has[g] = 1;
          }
        });
      } else {
        ForEachBytes(*arg, rows, groups, n, [&](uint32_t g, std::string_view v) {
          if (!has[g] || (is_min ? v < std::string_view(bytes[g]) : v > std::string_view(bytes[g]))) {
            bytes[g].assign(v);
            has[g] = 1;
          }
        });
      }
      return;
    }
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      const bool first = call.kind == AggregateKind::kFirst;
      if (arg_class == ArgClass::kInt) {
        ForEachInt(*arg, rows, groups, n, [&](uint32_t g, int64_t v) {
          if (!first || !has[g]) {
            ints[g] = v;
            has[g] = 1;
          }
        });
      } else if (arg_class == ArgClass::kDouble) {
        ForEachTyped<double>(*arg, rows, groups, n, [&](uint32_t g, double v) {
          if (!first || !has[g]) {
            doubles[g] = v;
            has[g] = 1;
          }
        });
      } else {
        ForEachBytes(*arg, rows, groups, n, [&](uint32_t g, std::string_view v) {
          if (!first || !has[g]) {
            bytes[g].assign(v);
            has[g] = 1;
          }
        });
      }
      return;
    }
    case AggregateKind::kCountDistinct:
    case AggregateKind::kApproxCountDistinct: {
      scratch_hashes.resize(n);
      std::vector<const Column*> cols{arg};
      KeyTable::HashRows(cols, rows, n, scratch_hashes.data());
      const bool nulls = arg->has_nulls();
      for (size_t k = 0; k < n; ++k) {
        const uint32_t r = rows[k];
        if (nulls && arg->IsNull(r)) continue;
        const uint32_t g = groups[k];
        if (call.kind == AggregateKind::kApproxCountDistinct) {
          sketches[g].Add(scratch_hashes[k]);
          continue;
        }
        bool added;
        if (arg_class == ArgClass::kBytes) {
          added = distinct.Insert(g, scratch_hashes[k], 0, arg->GetString(r), true);
        } else if (arg_class == ArgClass::kDouble) {
          added = distinct.Insert(g, scratch_hashes[k], static_cast<int64_t>(NormalizedBits(arg->data<double>()[r])),
                                  {}, false);
        } else {
          added = distinct.Insert(g, scratch_hashes[k], arg->GetInt(r), {}, false);
        }
        count[g] += added;
      }
      return;
    }
  }
}

Result<ColumnPtr> HashAggregator::AggregateState::Finalize(size_t begin, size_t end) const {
  const DataType& t = call.result_type;
  const size_t m = end - begin;
  auto out = std::make_shared<Column>(t);
  auto fill_int64 = [&](auto&& value_of) {
    out->Resize(m);
    int64_t* d = out->mutable_data<int64_t>();
    for (size_t i = 0; i < m; ++i) d[i] = value_of(begin + i);
  };
  switch (call.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct:
      fill_int64([&](size_t g) { return count[g]; });
      return out;
    case AggregateKind::kApproxCountDistinct:
      fill_int64([&](size_t g) { return static_cast<int64_t>(std::llround(sketches[g].Estimate())); });
      return out;
    case AggregateKind::kSum:
      out->Resize(m);
      if (arg_class == ArgClass::kDouble) {
        double* d = out->mutable_data<double>();
        for (size_t i = 0; i < m; ++i) d[i] = doubles[begin + i];
      } else {
        // int64 result, or decimal(18, s): check the exact sum fits.
        const bool is_decimal = t.id == TypeId::kDecimal;
        const int128 limit = is_decimal ? int128{Pow10(t.precision)} : 0;
        int64_t* d = out->mutable_data<int64_t>();
        for (size_t i = 0; i < m; ++i) {
          const int128 v = wide[begin + i];
          const bool fits = is_decimal ? (v > -limit && v < limit)
                                       : (v >= INT64_MIN && v <= INT64_MAX);
          if (!fits) {
            return Status::DataError("{} overflows {}: the exact sum is {}", call.sql, t.ToString(),
                                     is_decimal ? Int128ToDecimalString(v, t.scale) : Int128ToString(v));
          }
          d[i] = static_cast<int64_t>(v);
        }
      }
      for (size_t i = 0; i < m; ++i) {
        if (!has[begin + i]) out->SetNull(i);
      }
      return out;
    case AggregateKind::kAvg: {
      out->Resize(m);
      const int arg_scale = arg_type.id == TypeId::kDecimal ? arg_type.scale : 0;
      if (t.id == TypeId::kDecimal) {
        // Exact quotient rounded half away from zero to the result scale.
        int64_t* d = out->mutable_data<int64_t>();
        for (size_t i = 0; i < m; ++i) {
          const size_t g = begin + i;
          if (count[g] == 0) continue;
          int128 num = wide[g];
          int shift = t.scale - arg_scale;
          int128 den = count[g];
          if (shift >= 0) num *= int128{Pow10(shift)};
          else den *= int128{Pow10(-shift)};
          int128 q = num / den, r = num % den;
          if (2 * (r < 0 ? -r : r) >= den) q += num < 0 ? -1 : 1;
          if (!DecimalFits(static_cast<int64_t>(q), t.precision) || q > INT64_MAX || q < INT64_MIN) {
            return Status::DataError("{} overflows {}", call.sql, t.ToString());
          }
          d[i] = static_cast<int64_t>(q);
        }
      } else {
        double* d = out->mutable_data<double>();
        for (size_t i = 0; i < m; ++i) {
          const size_t g = begin + i;
          if (count[g] == 0) continue;
          if (arg_class == ArgClass::kDouble) {
            d[i] = doubles[g] / static_cast<double>(count[g]);
          } else {
            // Divide the exact sum in extended precision, then round once to double.
            long double divisor = static_cast<long double>(count[g]) * static_cast<long double>(Pow10(arg_scale));
            d[i] = static_cast<double>(static_cast<long double>(wide[g]) / divisor);
          }
        }
      }
      for (size_t i = 0; i < m; ++i) {
        if (count[begin + i] == 0) out->SetNull(i);
      }
      return out;
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      if (arg_class == ArgClass::kBytes) {
        for (size_t i = 0; i < m; ++i) {
          if (has[begin + i]) out->AppendString(bytes[begin + i]);
          else out->AppendNull();
        }
        return out;
      }
      out->Resize(m);
      if (arg_class == ArgClass::kDouble) {
        double* d = out->mutable_data<double>();
        for (size_t i = 0; i < m; ++i) d[i] = doubles[begin + i];
      } else {
        switch (t.byte_width()) {
          case 1: for (size_t i = 0; i < m; ++i) out->mutable_data<uint8_t>()[i] = static_cast<uint8_t>(ints[begin + i]); break;
          case 4: for (size_t i = 0; i < m; ++i) out->mutable_data<int32_t>()[i] = static_cast<int32_t>(ints[begin + i]); break;
          default: for (size_t i = 0; i < m; ++i) out->mutable_data<int64_t>()[i] = ints[begin + i]; break;
        }
      }
      for (size_t i = 0; i < m; ++i) {
        if (!has[begin + i]) out->SetNull(i);
      }
      return out;
  }
  return Status::Internal("unknown aggregate kind in {}", call.sql);
}

// Snapshot of one aggregate, for groups 0..n-1 (arrays are raw, n values each):
//   count(*), count, avg:  count (int64)
//   sum, avg:              sums (float64, or int128 for integers and decimals); sum: has (u8)
//   min, max, first, last: has (u8), then values (int64 | float64 | per group u32 length + bytes)
//   count_distinct:        u64 entries, then per entry u32 group + (int64 value | length + bytes);
//                          the counts are rebuilt from the entries
//   approx_count_distinct: one HyperLogLog per group (HyperLogLog::Save)
void HashAggregator::AggregateState::Save(SnapshotWriter& w, size_t n) const {
  if (NeedsCount() && call.kind != AggregateKind::kCountDistinct) w.PutArray(count.data(), n);
  switch (call.kind) {
    case AggregateKind::kSum:
    case AggregateKind::kAvg:
      if (arg_class == ArgClass::kDouble) w.PutArray(doubles.data(), n);
      else w.PutArray(wide.data(), n);
      if (call.kind == AggregateKind::kSum) w.PutArray(has.data(), n);
      return;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      w.PutArray(has.data(), n);
      if (arg_class == ArgClass::kInt) {
        w.PutArray(ints.data(), n);
      } else if (arg_class == ArgClass::kDouble) {
        w.PutArray(doubles.data(), n);
      } else {
        for (size_t g = 0; g < n; ++g) w.PutBytes(bytes[g]);
      }
      return;
    case AggregateKind::kCountDistinct: {
      const bool is_bytes = arg_class == ArgClass::kBytes;
      w.PutU64(distinct.size());
      for (size_t e = 0; e < distinct.size(); ++e) {
        w.PutU32(distinct.group(e));
        if (is_bytes) w.PutBytes(distinct.bytes(e));
        else w.PutI64(distinct.value(e));
      }
      return;
    }
    case AggregateKind::kApproxCountDistinct:
      for (size_t g = 0; g < n; ++g) sketches[g].Save(w);
      return;
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
      return;
  }
}

Status HashAggregator::AggregateState::Load(SnapshotReader& r, size_t n) {
  auto read_flags = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(r.ReadArray(has.data(), n));
    for (size_t g = 0; g < n; ++g) {
      if (has[g] > 1) return r.Error("{}: group {} has a bad value flag {}", call.sql, g, has[g]);
    }
    return Status::OK();
  };
  if (NeedsCount() && call.kind != AggregateKind::kCountDistinct) {
    SLUICE_RETURN_IF_ERROR(r.ReadArray(count.data(), n));
    for (size_t g = 0; g < n; ++g) {
      if (count[g] < 0) return r.Error("{}: group {} has a negative count {}", call.sql, g, count[g]);
    }
  }
  switch (call.kind) {
    case AggregateKind::kSum:
    case AggregateKind::kAvg:
      if (arg_class == ArgClass::kDouble) {
        SLUICE_RETURN_IF_ERROR(r.ReadArray(doubles.data(), n));
      } else {
        SLUICE_RETURN_IF_ERROR(r.ReadArray(wide.data(), n));
      }
      if (call.kind == AggregateKind::kSum) return read_flags();
      return Status::OK();
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      SLUICE_RETURN_IF_ERROR(read_flags());
      if (arg_class == ArgClass::kInt) return r.ReadArray(ints.data(), n);
      if (arg_class == ArgClass::kDouble) return r.ReadArray(doubles.data(), n);
      for (size_t g = 0; g < n; ++g) {
        SLUICE_ASSIGN_OR_RETURN(std::string_view v, r.ReadBytes());
        if (!has[g] && !v.empty()) return r.Error("{}: group {} has no value but {} bytes", call.sql, g, v.size());
        bytes[g].assign(v);
      }
      return Status::OK();
    case AggregateKind::kCountDistinct:
      return LoadDistinct(r, n);
    case AggregateKind::kApproxCountDistinct:
      for (size_t g = 0; g < n; ++g) SLUICE_RETURN_IF_ERROR(sketches[g].Load(r));
      return Status::OK();
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
      return Status::OK();
  }
  return Status::OK();
}

// Re-inserts the saved (group, value) pairs in their original order, hashing the values the way
// Update() does (KeyTable::HashRows over a column of them), so later inserts find them.
Status HashAggregator::AggregateState::LoadDistinct(SnapshotReader& r, size_t n) {
  const bool is_bytes = arg_class == ArgClass::kBytes;
  SLUICE_ASSIGN_OR_RETURN(size_t m, r.ReadCount(is_bytes ? 8 : 12, "count_distinct values"));
  if (m >= UINT32_MAX) return r.Error("{}: {} distinct values (limit {})", call.sql, m, UINT32_MAX - 1);
  std::vector<uint32_t> groups(m);
  Column values(is_bytes                         ? DataType::Binary()
                : arg_class == ArgClass::kDouble ? DataType::Float64()
                                                 : DataType::Int64());
  values.Reserve(m);
  for (size_t e = 0; e < m; ++e) {
    SLUICE_ASSIGN_OR_RETURN(groups[e], r.ReadU32());
    if (groups[e] >= n) {
      return r.Error("{}: a distinct value of group {}, but there are {} groups", call.sql, groups[e], n);
    }
    if (is_bytes) {
      SLUICE_ASSIGN_OR_RETURN(std::string_view v, r.ReadBytes());
      values.AppendString(v);
    } else {
      SLUICE_ASSIGN_OR_RETURN(int64_t v, r.ReadI64());
      if (arg_class == ArgClass::kDouble &&
          NormalizedBits(std::bit_cast<double>(v)) != static_cast<uint64_t>(v)) {
        return r.Error("{}: distinct value {:#x} is not a normalized float64", call.sql, static_cast<uint64_t>(v));
      }
      values.Append<int64_t>(v);
    }
  }
  std::vector<uint32_t> rows(m);
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<uint64_t> hashes(m);
  std::vector<const Column*> cols{&values};
  KeyTable::HashRows(cols, rows.data(), m, hashes.data());
  for (size_t e = 0; e < m; ++e) {
    const bool added = is_bytes ? distinct.Insert(groups[e], hashes[e], 0, values.GetString(e), true)
                                : distinct.Insert(groups[e], hashes[e], values.data<int64_t>()[e], {}, false);
    if (!added) return r.Error("{}: group {} lists one distinct value twice", call.sql, groups[e]);
    ++count[groups[e]];
  }
  return Status::OK();
}

HashAggregator::~HashAggregator() = default;

Result<std::unique_ptr<HashAggregator>> HashAggregator::Make(SchemaPtr input, std::vector<GroupKey> group_by,
                                                             std::vector<expr::AggregateCall> aggregates,
                                                             AggregatorOptions options) {
  SLUICE_CHECK(input != nullptr);
  std::unique_ptr<HashAggregator> agg(new HashAggregator());
  agg->input_schema_ = input;
  agg->options_ = options;
  if (agg->options_.output_batch_rows == 0) agg->options_.output_batch_rows = 4096;
  std::vector<Field> fields;
  std::vector<DataType> key_types;
  for (auto& key : group_by) {
    Field f;
    if (key.column >= 0) {
      SLUICE_USER_CHECK(static_cast<size_t>(key.column) < input->size(), "group-by column index {} is out of range ({} columns)",
                        key.column, input->size());
      f = input->field(key.column);
      if (!key.name.empty()) f.name = key.name;
    } else {
      SLUICE_USER_CHECK(key.expr != nullptr, "group-by key '{}' has neither a column nor an expression", key.name);
      SLUICE_USER_CHECK(!expr::HasAggregates(*key.expr), "group-by key '{}' cannot contain an aggregate", key.name);
      f.name = key.name.empty() ? expr::ToSql(*key.expr) : key.name;
      f.type = expr::ResultType(*key.expr);
      f.required = !expr::MaybeNull(*key.expr);
      SLUICE_USER_CHECK(f.type.id != TypeId::kNull, "group-by key '{}' has no type; CAST it", f.name);
    }
    key.name = f.name;
    key_types.push_back(f.type);
    fields.push_back(f);
  }
  for (auto& call : aggregates) {
    auto state = std::make_unique<AggregateState>();
    if (call.kind != AggregateKind::kCountStar) {
      SLUICE_USER_CHECK(call.argument != nullptr, "aggregate {} has no argument", call.sql);
      state->arg_type = expr::ResultType(*call.argument);
      state->arg_class = ArgClassOf(state->arg_type);
      SLUICE_USER_CHECK(state->arg_class != ArgClass::kNone, "aggregate {} has an argument without a type", call.sql);
    }
    bool counts = call.kind == AggregateKind::kCountStar || call.kind == AggregateKind::kCount ||
                  call.kind == AggregateKind::kCountDistinct || call.kind == AggregateKind::kApproxCountDistinct;
    fields.push_back(Field{call.sql, call.result_type, counts});
    state->call = std::move(call);
    agg->aggregates_.push_back(std::move(state));
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      SLUICE_USER_CHECK(fields[i].name != fields[j].name, "output column '{}' appears twice in the aggregate", fields[i].name);
    }
  }
  agg->group_by_ = std::move(group_by);
  agg->output_schema_ = std::make_shared<Schema>(std::move(fields));
  agg->keys_ = std::make_unique<KeyTable>(std::move(key_types));
  agg->Reset();
  return agg;
}

void HashAggregator::Reset() {
  keys_->Clear();
  groups_ = 0;
  for (auto& a : aggregates_) {
    auto fresh = std::make_unique<AggregateState>();
    fresh->call = a->call;
    fresh->arg_type = a->arg_type;
    fresh->arg_class = a->arg_class;
    a = std::move(fresh);
  }
  // Without group-by columns there is one group, present even when no row arrives.
  if (group_by_.empty()) EnsureGroups(1);
}

size_t HashAggregator::num_groups() const { return groups_; }

// Aggregator snapshot body (format version 1):
//   u32 key count, then each key type (u8 id, u8 precision, u8 scale)
//   u32 aggregate count, then each: u8 kind, argument type, result type, u32 length + SQL text
//   u64 groups (1 without group-by keys)
//   each key column, `groups` rows (SnapshotWriter::PutColumn), rows in group id order
//   each aggregate's state (AggregateState::Save)
namespace {
constexpr std::string_view kAggregatorMagic = "SAGG";
constexpr uint8_t kAggregatorVersion = 1;
}  // namespace

void HashAggregator::SaveState(std::string& out) const {
  SnapshotWriter w(out, kAggregatorMagic, kAggregatorVersion);
  const auto& key_types = keys_->key_types();
  w.PutU32(static_cast<uint32_t>(key_types.size()));
  for (const auto& t : key_types) w.PutType(t);
  w.PutU32(static_cast<uint32_t>(aggregates_.size()));
  for (const auto& a : aggregates_) {
    w.PutU8(static_cast<uint8_t>(a->call.kind));
    w.PutType(a->arg_type);
    w.PutType(a->call.result_type);
    w.PutBytes(a->call.sql);
  }
  w.PutU64(groups_);
  if (!group_by_.empty()) {
    SLUICE_CHECK(keys_->size() == groups_) << keys_->size() << " keys, " << groups_ << " groups";
    for (const auto& col : keys_->keys()) w.PutColumn(*col, groups_);
  }
  for (const auto& a : aggregates_) a->Save(w, groups_);
  w.Finish();
}

Status HashAggregator::LoadState(std::string_view in) {
  Status st = LoadStateImpl(in);
  if (!st.ok()) Reset();
  return st;
}

Status HashAggregator::LoadStateImpl(std::string_view in) {
  Reset();
  SLUICE_ASSIGN_OR_RETURN(SnapshotReader r, OpenSnapshot(in, kAggregatorMagic, kAggregatorVersion, "aggregator state"));
  const auto& key_types = keys_->key_types();
  SLUICE_ASSIGN_OR_RETURN(uint32_t num_keys, r.ReadU32());
  if (num_keys != key_types.size()) {
    return r.Error("saved with {} group-by keys, this aggregator has {}", num_keys, key_types.size());
  }
  for (size_t i = 0; i < key_types.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(DataType t, r.ReadType());
    if (t != key_types[i]) {
      return r.Error("group-by key {} ('{}') was saved as {}, this aggregator has {}", i, group_by_[i].name,
                     t.ToString(), key_types[i].ToString());
    }
  }
  SLUICE_ASSIGN_OR_RETURN(uint32_t num_aggregates, r.ReadU32());
  if (num_aggregates != aggregates_.size()) {
    return r.Error("saved with {} aggregates, this aggregator has {}", num_aggregates, aggregates_.size());
  }
  for (size_t i = 0; i < aggregates_.size(); ++i) {
    const AggregateState& a = *aggregates_[i];
    SLUICE_ASSIGN_OR_RETURN(uint8_t kind, r.ReadU8());
    SLUICE_ASSIGN_OR_RETURN(DataType arg, r.ReadType());
    SLUICE_ASSIGN_OR_RETURN(DataType result, r.ReadType());
    SLUICE_ASSIGN_OR_RETURN(std::string_view sql, r.ReadBytes());
    if (kind != static_cast<uint8_t>(a.call.kind) || arg != a.arg_type || result != a.call.result_type ||
        sql != a.call.sql) {
      return r.Error("aggregate {} was saved as {} ({} -> {}), this aggregator has {} ({} -> {})", i, sql,
                     arg.ToString(), result.ToString(), a.call.sql, a.arg_type.ToString(),
                     a.call.result_type.ToString());
    }
  }
  SLUICE_ASSIGN_OR_RETURN(size_t groups, r.ReadCount(1, "groups"));
  if (group_by_.empty()) {
    if (groups != 1) return r.Error("{} groups saved without group-by keys (there is always exactly 1)", groups);
  } else {
    if (groups >= KeyTable::kNotFound) return r.Error("{} groups (limit {})", groups, KeyTable::kNotFound - 1);
    std::vector<ColumnPtr> cols;
    std::vector<const Column*> key_cols;
    for (const auto& t : key_types) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, r.ReadColumn(t, groups));
      key_cols.push_back(c.get());
      cols.push_back(std::move(c));
    }
    // Inserting the keys in id order gives every group its saved id back.
    std::vector<uint32_t> rows(groups), ids(groups);
    std::vector<uint64_t> hashes(groups);
    std::iota(rows.begin(), rows.end(), 0u);
    KeyTable::HashRows(key_cols, rows.data(), groups, hashes.data());
    keys_->FindOrInsert(key_cols, rows.data(), hashes.data(), groups, ids.data());
    if (keys_->size() != groups) return r.Error("the {} saved group keys are not distinct", groups);
    EnsureGroups(groups);
  }
  for (auto& a : aggregates_) SLUICE_RETURN_IF_ERROR(a->Load(r, groups));
  return r.ExpectEnd();
}

size_t HashAggregator::memory_bytes() const {
  size_t b = keys_->memory_bytes();
  for (const auto& a : aggregates_) b += a->memory_bytes();
  return b;
}

void HashAggregator::EnsureGroups(size_t n) {
  if (n <= groups_) return;
  for (auto& a : aggregates_) a->Resize(n);
  groups_ = n;
}

Status HashAggregator::Consume(const Batch& batch) {
  const size_t n = batch.active_rows();
  if (n == 0) return Status::OK();
  rows_.resize(n);
  if (batch.has_selection()) std::copy(batch.selection()->begin(), batch.selection()->end(), rows_.begin());
  else std::iota(rows_.begin(), rows_.end(), 0u);

  // Evaluate everything first, so an evaluation error leaves the state untouched.
  expr::EvalContext ctx;
  std::vector<ColumnPtr> holders;
  std::vector<const Column*> key_cols;
  for (const auto& key : group_by_) {
    if (key.column >= 0) {
      key_cols.push_back(batch.column(key.column).get());
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*key.expr, batch, ctx));
    if (!ctx.errors.empty()) {
      return Status::DataError("group-by key '{}' at row {}: {}", key.name, ctx.errors[0].row, ctx.errors[0].message);
    }
    holders.push_back(c);
    key_cols.push_back(c.get());
  }
  std::vector<const Column*> args(aggregates_.size(), nullptr);
  for (size_t a = 0; a < aggregates_.size(); ++a) {
    const auto& call = aggregates_[a]->call;
    if (!call.argument) continue;
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*call.argument, batch, ctx));
    if (!ctx.errors.empty()) {
      return Status::DataError("{} at row {}: {}", call.sql, ctx.errors[0].row, ctx.errors[0].message);
    }
    holders.push_back(c);
    args[a] = c.get();
  }

  group_ids_.resize(n);
  if (group_by_.empty()) {
    std::fill(group_ids_.begin(), group_ids_.end(), 0u);
  } else {
    hashes_.resize(n);
    KeyTable::HashRows(key_cols, rows_.data(), n, hashes_.data());
    keys_->FindOrInsert(key_cols, rows_.data(), hashes_.data(), n, group_ids_.data());
    EnsureGroups(keys_->size());
  }
  for (size_t a = 0; a < aggregates_.size(); ++a) {
    aggregates_[a]->Update(args[a], rows_.data(), group_ids_.data(), n);
  }
  return Status::OK();
}

Result<std::vector<Batch>> HashAggregator::Finish() {
  std::vector<Batch> out;
  const size_t step = options_.output_batch_rows;
  std::vector<uint32_t> idx;
  for (size_t begin = 0; begin < groups_; begin += step) {
    const size_t end = std::min(groups_, begin + step);
    std::vector<ColumnPtr> cols;
    idx.resize(end - begin);
    std::iota(idx.begin(), idx.end(), static_cast<uint32_t>(begin));
    for (const auto& key_col : keys_->keys()) cols.push_back(key_col->Gather(idx.data(), idx.size()));
    for (const auto& a : aggregates_) {
      auto col = a->Finalize(begin, end);
      if (!col.ok()) return col.status();
      cols.push_back(std::move(col).value());
    }
    out.emplace_back(output_schema_, std::move(cols), end - begin);
  }
  return out;
}

}  // namespace sluice::engine::kernels
