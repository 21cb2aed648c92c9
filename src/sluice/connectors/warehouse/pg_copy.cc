#include "sluice/connectors/warehouse/pg_copy.h"

#include <bit>
#include <cstring>

namespace sluice::warehouse {
namespace {

constexpr int64_t kPgEpochDays = 10957;                   // 2000-01-01 - 1970-01-01
constexpr int64_t kPgEpochMicros = 946684800LL * 1000000;  // the same in µs

inline void Put16(std::string& out, uint16_t v) {
  v = __builtin_bswap16(v);
  out.append(reinterpret_cast<const char*>(&v), 2);
}
inline void Put32(std::string& out, uint32_t v) {
  v = __builtin_bswap32(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}
inline void Put64(std::string& out, uint64_t v) {
  v = __builtin_bswap64(v);
  out.append(reinterpret_cast<const char*>(&v), 8);
}

}  // namespace

void AppendPgNumeric(std::string& out, int64_t unscaled, int scale) {
  const bool negative = unscaled < 0;
  const unsigned __int128 mag = negative ? -static_cast<__int128>(unscaled) : static_cast<__int128>(unscaled);
  unsigned __int128 pow = 1;
  for (int i = 0; i < scale; ++i) pow *= 10;
  unsigned __int128 int_part = mag / pow, frac = mag % pow;
  // Integer groups, least significant first.
  uint16_t int_groups[8];
  int n_int = 0;
  while (int_part > 0) {
    int_groups[n_int++] = static_cast<uint16_t>(int_part % 10000);
    int_part /= 10000;
  }
  // Fraction groups, most significant first: pad the fraction to a multiple of 4 digits.
  const int n_frac = (scale + 3) / 4;
  for (int i = scale; i < n_frac * 4; ++i) frac *= 10;
  uint16_t frac_groups[8];
  for (int i = n_frac - 1; i >= 0; --i) {
    frac_groups[i] = static_cast<uint16_t>(frac % 10000);
    frac /= 10000;
  }
  uint16_t digits[16];
  int n = 0;
  for (int i = n_int - 1; i >= 0; --i) digits[n++] = int_groups[i];
  for (int i = 0; i < n_frac; ++i) digits[n++] = frac_groups[i];
  int weight = n_int - 1;
  // Strip leading zero groups (moving the weight) and trailing ones.
  int first = 0;
  while (first < n && digits[first] == 0) {
    ++first;
    --weight;
  }
  while (n > first && digits[n - 1] == 0) --n;
  const int ndigits = n - first;
  if (ndigits == 0) weight = 0;
  Put32(out, static_cast<uint32_t>(8 + 2 * ndigits));
  Put16(out, static_cast<uint16_t>(ndigits));
  Put16(out, static_cast<uint16_t>(static_cast<int16_t>(weight)));
  Put16(out, ndigits == 0 || !negative ? 0x0000 : 0x4000);
  Put16(out, static_cast<uint16_t>(scale));
  for (int i = first; i < n; ++i) Put16(out, digits[i]);
}

void PgCopyEncoder::AppendHeader(std::string& out) {
  out.append("PGCOPY\n\377\r\n\0", 11);
  Put32(out, 0);  // flags
  Put32(out, 0);  // header extension length
}

void PgCopyEncoder::AppendTrailer(std::string& out) { Put16(out, 0xffff); }

void PgCopyEncoder::AppendRow(const std::vector<const Column*>& columns, uint32_t row, const int64_t* extras,
                              size_t n_extras, std::string& out) const {
  Put16(out, static_cast<uint16_t>(columns.size() + n_extras));
  for (size_t i = 0; i < columns.size(); ++i) {
    const Column& c = *columns[i];
    if (c.IsNull(row)) {
      Put32(out, 0xffffffffu);
      continue;
    }
    switch (types_[i].id) {
      case TypeId::kBool:
        Put32(out, 1);
        out.push_back(c.Get<uint8_t>(row) ? 1 : 0);
        break;
      case TypeId::kInt32:
        Put32(out, 4);
        Put32(out, static_cast<uint32_t>(c.Get<int32_t>(row)));
        break;
      case TypeId::kInt64:
        Put32(out, 8);
        Put64(out, static_cast<uint64_t>(c.GetInt(row)));
        break;
      case TypeId::kFloat64:
        Put32(out, 8);
        Put64(out, std::bit_cast<uint64_t>(c.Get<double>(row)));
        break;
      case TypeId::kDecimal:
        AppendPgNumeric(out, c.Get<int64_t>(row), c.type().scale);
        break;
      case TypeId::kString:
      case TypeId::kBinary: {
        std::string_view s = c.GetString(row);
        Put32(out, static_cast<uint32_t>(s.size()));
        out.append(s);
        break;
      }
      case TypeId::kDate:
        Put32(out, 4);
        Put32(out, static_cast<uint32_t>(static_cast<int32_t>(c.Get<int32_t>(row) - kPgEpochDays)));
        break;
      case TypeId::kTimestamp:
        Put32(out, 8);
        Put64(out, static_cast<uint64_t>(c.Get<int64_t>(row) - kPgEpochMicros));
        break;
      case TypeId::kNull:
        Put32(out, 0xffffffffu);
        break;
    }
  }
  for (size_t i = 0; i < n_extras; ++i) {
    Put32(out, 8);
    Put64(out, static_cast<uint64_t>(extras[i]));
  }
}

}  // namespace sluice::warehouse
