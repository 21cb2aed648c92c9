#include "sluice/types/decimal.h"

#include <cmath>

namespace sluice {

int64_t Pow10(int n) {
  static const int64_t kPow[] = {1LL,
                                 10LL,
                                 100LL,
                                 1000LL,
                                 10000LL,
                                 100000LL,
                                 1000000LL,
                                 10000000LL,
                                 100000000LL,
                                 1000000000LL,
                                 10000000000LL,
                                 100000000000LL,
                                 1000000000000LL,
                                 10000000000000LL,
                                 100000000000000LL,
                                 1000000000000000LL,
                                 10000000000000000LL,
                                 100000000000000000LL,
                                 1000000000000000000LL};
  return kPow[n];
}

bool DecimalFits(int64_t v, int precision) {
  if (precision >= 19) return true;
  int64_t lim = Pow10(precision);
  return v < lim && v > -lim;
}

std::optional<int64_t> ParseDecimal(std::string_view s, int precision, int scale) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  __int128 v = 0;
  int int_digits = 0, frac_digits = 0;
  bool any = false, round_up = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    if (v != 0) ++int_digits;
    if (int_digits > 18) return std::nullopt;
    any = true;
    ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (frac_digits < scale) {
        v = v * 10 + (s[i] - '0');
        ++frac_digits;
      } else if (frac_digits == scale) {
        round_up = s[i] >= '5';
        ++frac_digits;
      }
      any = true;
      ++i;
    }
  }
  if (!any || i != s.size()) return std::nullopt;
  for (int k = std::min(frac_digits, scale); k < scale; ++k) v *= 10;
  if (round_up) v += 1;
  if (int_digits > precision - scale) return std::nullopt;
  int64_t out = static_cast<int64_t>(neg ? -v : v);
  if (!DecimalFits(out, precision)) return std::nullopt;
  return out;
}

std::optional<int64_t> DecimalFromDouble(double v, int precision, int scale) {
  if (!std::isfinite(v)) return std::nullopt;
  double scaled = std::round(v * static_cast<double>(Pow10(scale)));
  if (std::fabs(scaled) >= static_cast<double>(Pow10(std::min(precision, 18)))) return std::nullopt;
  return static_cast<int64_t>(scaled);
}

void AppendDecimal(std::string& out, int64_t v, int scale) {
  char buf[48];
  char* p = buf + sizeof buf;
  uint64_t u = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  int written = 0;
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
    ++written;
    if (written == scale) *--p = '.';
  } while (u != 0 || written < scale);
  if (scale > 0 && *p == '.') *--p = '0';
  if (v < 0) *--p = '-';
  out.append(p, buf + sizeof buf - p);
}

std::string FormatDecimal(int64_t v, int scale) {
  std::string s;
  AppendDecimal(s, v, scale);
  return s;
}

double DecimalToDouble(int64_t v, int scale) {
  return static_cast<double>(v) / static_cast<double>(Pow10(scale));
}

std::optional<int64_t> RescaleDecimal(int64_t v, int from, int to) {
  if (from == to) return v;
  if (to > from) {
    __int128 r = static_cast<__int128>(v) * Pow10(to - from);
    if (r > INT64_MAX || r < INT64_MIN) return std::nullopt;
    return static_cast<int64_t>(r);
  }
  int64_t div = Pow10(from - to);
  int64_t q = v / div, r = v % div;
  if (2 * (r < 0 ? -r : r) >= div) q += v < 0 ? -1 : 1;
  return q;
}

}  // namespace sluice
