// CronSchedule: when a scheduled pipeline fires. A pure function of time — it never reads a
// clock, so the scheduler passes "now" in and tests pass fixed instants.
//
// Accepted text (all in UTC; names and macros are case-insensitive):
//   - five cron fields `minute hour day-of-month month day-of-week`, each a comma list of `*`,
//     `n`, `a-b`, `*/s`, `a-b/s` or `a/s` (= a-max/s); months may be JAN-DEC, weekdays
//     SUN-SAT, and day-of-week 0-7 where both 0 and 7 are Sunday;
//   - `@yearly`/`@annually` (0 0 1 1 *), `@monthly` (0 0 1 * *), `@weekly` (0 0 * * 0),
//     `@daily`/`@midnight` (0 0 * * *), `@hourly` (0 * * * *);
//   - `@every <duration>` (`30s`, `15m`, `2h`, `1h30m`; whole seconds, at least 1s): fires at
//     every multiple of the interval since the Unix epoch, so the grid does not move across
//     restarts.
//
// Day matching follows classic cron: when both day-of-month and day-of-week are restricted
// (the field is anything but a bare `*`), a day matches if EITHER matches (`0 0 1 * MON` fires
// on the 1st and on every Monday); when one is `*`, only the other counts. Note that `*/2`
// counts as restricted here (Vixie cron treats any field starting with `*` as unrestricted).
//
// Parse rejects schedules that can never fire (`0 0 30 2 *`). Every accepted schedule fires at
// least once in any 8 years (Feb 29 skips 2100), so Next searches a 28-year horizon and returns
// kNever only for instants within 28 years of the int64 limit. Times before 1970 are not
// supported (the arithmetic is proleptic Gregorian and works for them, but nothing tests it).
//
// Thread-safety: an immutable value; safe to share between threads.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice {

class CronSchedule {
 public:
  // What Next returns when nothing fires within the search horizon.
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  // How far Next looks ahead, in years; longer than the longest gap of any valid schedule (8).
  static constexpr int kSearchHorizonYears = 28;

  // InvalidArgument with a message naming the bad field and value, e.g.
  // "schedule '61 * * * *': minute 61 is out of range 0-59".
  static Result<CronSchedule> Parse(std::string_view text);

  // The first fire time strictly after `after_micros` (µs since the epoch, UTC): a whole minute for
  // cron fields, a whole second for @every. kNever if none within kSearchHorizonYears.
  int64_t Next(int64_t after_micros) const;

  // The fire times t with from_micros <= t < to_micros, ascending, at most `limit` of them (for
  // backfills: one run per interval).
  std::vector<int64_t> Between(int64_t from_micros, int64_t to_micros, size_t limit) const;

  // The text as given (surrounding whitespace trimmed).
  const std::string& text() const { return text_; }
  // The interval of an @every schedule, or 0 for cron fields.
  int64_t every_micros() const { return every_micros_; }

  bool operator==(const CronSchedule& other) const = default;

 private:
  CronSchedule() = default;
  bool DayMatches(int month, int day, int weekday) const;
  int64_t NextCron(int64_t after_micros) const;

  std::string text_;
  int64_t every_micros_ = 0;   // > 0 for @every; the fields below are then unused
  uint64_t minutes_ = 0;       // bit m: minute m (0-59)
  uint32_t hours_ = 0;         // bit h: hour h (0-23)
  uint32_t days_of_month_ = 0; // bit d: day d (1-31)
  uint32_t months_ = 0;        // bit m: month m (1-12)
  uint32_t days_of_week_ = 0;  // bit w: weekday w (0 = Sunday .. 6)
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace sluice
