// Dates and timestamps: civil-calendar conversion, ISO-8601 parsing and formatting.
// Dates are days since 1970-01-01; timestamps are microseconds since the epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

struct CivilDate {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

int32_t DaysFromCivil(int year, int month, int day);
CivilDate CivilFromDays(int32_t days);
// Floor division of a timestamp into days (correct for times before 1970).
int32_t TimestampToDays(int64_t micros);

// "2026-11-21".
std::optional<int32_t> ParseDate(std::string_view s);
// "2026-11-21T10:15:30Z", "2026-11-21 10:15:30.123456", "...+02:00", or a date alone (midnight).
std::optional<int64_t> ParseTimestamp(std::string_view s);

std::string FormatDate(int32_t days);
// "2026-11-21T10:15:30Z", or with ".123456" when there are sub-second digits.
std::string FormatTimestamp(int64_t micros);
// Appends without allocating a new string (hot path of writers).
void AppendDate(std::string& out, int32_t days);
void AppendTimestamp(std::string& out, int64_t micros);

}  // namespace sluice
