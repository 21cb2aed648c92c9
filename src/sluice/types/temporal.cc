#include "sluice/types/temporal.h"

#include <cstdio>

namespace sluice {

// Days-from-civil on the proleptic Gregorian calendar, by eras of 400 years.
int32_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

CivilDate CivilFromDays(int32_t z0) {
  int64_t z = static_cast<int64_t>(z0) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

int32_t TimestampToDays(int64_t micros) {
  int64_t d = micros / kMicrosPerDay;
  if (micros % kMicrosPerDay < 0) --d;
  return static_cast<int32_t>(d);
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Parses YYYY-MM-DD at the start of s.
bool ParseDatePrefix(std::string_view s, int32_t& days) {
  int y, m, d;
  if (!Digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, m) || s[7] != '-' ||
      !Digits(s, 8, 2, d)) {
    return false;
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return false;
  days = DaysFromCivil(y, m, d);
  return true;
}

}  // namespace

std::optional<int32_t> ParseDate(std::string_view s) {
  int32_t days;
  if (s.size() != 10 || !ParseDatePrefix(s, days)) return std::nullopt;
  return days;
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int32_t days;
  if (!ParseDatePrefix(s, days)) return std::nullopt;
  int64_t micros = static_cast<int64_t>(days) * kMicrosPerDay;
  if (s.size() == 10) return micros;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int hh, mm, ss = 0;
  if (!Digits(s, 11, 2, hh) || s.size() < 16 || s[13] != ':' || !Digits(s, 14, 2, mm)) {
    return std::nullopt;
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, 17, 2, ss)) return std::nullopt;
    pos = 19;
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  micros += (hh * 3600LL + mm * 60LL + ss) * kMicrosPerSecond;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int64_t frac = 0;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) {
        frac = frac * 10 + (s[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (n == 0) return std::nullopt;
    while (n < 6) {
      frac *= 10;
      ++n;
    }
    micros += frac;
  }
  if (pos == s.size()) return micros;
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return micros;
  if (s[pos] == '+' || s[pos] == '-') {
    int oh, om = 0;
    if (!Digits(s, pos + 1, 2, oh)) return std::nullopt;
    size_t q = pos + 3;
    if (q < s.size() && s[q] == ':') ++q;
    if (q < s.size()) {
      if (!Digits(s, q, 2, om)) return std::nullopt;
      q += 2;
    }
    if (q != s.size() || oh > 23 || om > 59) return std::nullopt;
    int64_t off = (oh * 3600LL + om * 60LL) * kMicrosPerSecond;
    return s[pos] == '+' ? micros - off : micros + off;
  }
  return std::nullopt;
}

void AppendDate(std::string& out, int32_t days) {
  CivilDate c = CivilFromDays(days);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
  out.append(buf, n);
}

void AppendTimestamp(std::string& out, int64_t micros) {
  int32_t days = TimestampToDays(micros);
  int64_t rem = micros - static_cast<int64_t>(days) * kMicrosPerDay;
  AppendDate(out, days);
  int64_t secs = rem / kMicrosPerSecond;
  int64_t frac = rem % kMicrosPerSecond;
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(secs / 3600),
                        static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  out.append(buf, n);
  if (frac) {
    n = std::snprintf(buf, sizeof buf, ".%06d", static_cast<int>(frac));
    out.append(buf, n);
  }
  out += 'Z';
}

std::string FormatDate(int32_t days) {
  std::string s;
  AppendDate(s, days);
  return s;
}

std::string FormatTimestamp(int64_t micros) {
  std::string s;
  AppendTimestamp(s, micros);
  return s;
}

}  // namespace sluice
