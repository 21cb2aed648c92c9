#include "sluice/types/cron.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace sluice {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// --- A reference calendar that shares nothing with cron.cc: it counts days one year and one month
// at a time from 1970-01-01 (a Thursday).

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysIn(int64_t y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

struct RefDate {
  int64_t y;
  int m;
  int d;
  int weekday;  // 0 = Sunday
};

int64_t RefDays(int64_t y, int m, int d) {
  int64_t days = 0;
  for (int64_t yy = 1970; yy < y; ++yy) days += IsLeap(yy) ? 366 : 365;
  for (int mm = 1; mm < m; ++mm) days += DaysIn(y, mm);
  return days + d - 1;
}

RefDate RefCivil(int64_t days) {
  RefDate r{1970, 1, 1, static_cast<int>((days + 4) % 7)};
  while (days >= (IsLeap(r.y) ? 366 : 365)) days -= IsLeap(r.y) ? 366 : 365, ++r.y;
  while (days >= DaysIn(r.y, r.m)) days -= DaysIn(r.y, r.m), ++r.m;
  r.d = static_cast<int>(days) + 1;
  return r;
}

void NextDay(RefDate& r) {
  r.weekday = (r.weekday + 1) % 7;
  if (++r.d <= DaysIn(r.y, r.m)) return;
  r.d = 1;
  if (++r.m <= 12) return;
  r.m = 1;
  ++r.y;
}

// µs since the epoch of a UTC wall time, by the reference calendar.
int64_t At(int64_t y, int m, int d, int h = 0, int mi = 0, int s = 0) {
  return RefDays(y, m, d) * kDay + h * kHour + mi * kMinute + s * kSecond;
}

// --- A reference schedule: explicit sets, matched minute by minute.

struct RefSchedule {
  std::string text;
  std::set<int> minutes, hours, dom, months, dow;
  bool dom_restricted = false;
  bool dow_restricted = false;

  bool DayMatches(const RefDate& r) const {
    if (!months.count(r.m)) return false;
    bool a = dom.count(r.d) > 0;
    bool b = dow.count(r.weekday) > 0;
    if (dom_restricted && dow_restricted) return a || b;
    return a && b;
  }
};

// Minute-by-minute over every minute of a matching day; non-matching days are skipped whole
// (which is exact: no minute of such a day can fire). Gives up after 30 years.
int64_t RefNext(const RefSchedule& s, int64_t after) {
  const int64_t first_minute = after / kMinute + 1;  // after >= 0
  int64_t day = first_minute / (24 * 60);
  int minute_of_day = static_cast<int>(first_minute % (24 * 60));
  RefDate r = RefCivil(day);
  for (int i = 0; i < 30 * 366; ++i, ++day, NextDay(r), minute_of_day = 0) {
    if (!s.DayMatches(r)) continue;
    for (int x = minute_of_day; x < 24 * 60; ++x) {
      if (s.hours.count(x / 60) && s.minutes.count(x % 60)) return day * kDay + x * kMinute;
    }
  }
  return CronSchedule::kNever;
}

// Random cron fields: `*`, values, names, ranges, steps and lists; the expansion is computed
// here, independently of cron.cc.
struct FieldGen {
  int min;
  int max;
  std::vector<std::string> names;  // names[i] has value name_base + i
  int name_base;
  bool is_dow;
};

std::string RandomValue(std::mt19937_64& rng, const FieldGen& f, int v) {
  if (!f.names.empty() && v - f.name_base < static_cast<int>(f.names.size()) &&
      v >= f.name_base && rng() % 3 == 0) {
    std::string name = f.names[v - f.name_base];
    if (rng() % 2) {  // names are case-insensitive
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
  }
  return std::to_string(v);
}

std::string RandomField(std::mt19937_64& rng, const FieldGen& f, std::set<int>& out,
                        bool& restricted) {
  auto uniform = [&](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  auto add = [&](int v) { out.insert(f.is_dow ? v % 7 : v); };
  if (rng() % 3 == 0) {
    restricted = false;
    for (int v = f.min; v <= (f.is_dow ? 6 : f.max); ++v) add(v);
    return "*";
  }
  restricted = true;
  // Steps up to the field's width (a wider one is refused: it picks only the first value).
  const int widest_step = (f.is_dow ? 6 : f.max) - f.min;
  std::string text;
  const int items = uniform(1, 3);
  for (int i = 0; i < items; ++i) {
    if (i > 0) text += ",";
    switch (rng() % 5) {
      case 0: {  // single value
        int v = uniform(f.min, f.max);
        add(v);
        text += RandomValue(rng, f, v);
        break;
      }
      case 1: {  // range a-b
        int a = uniform(f.min, f.max);
        int b = uniform(a, f.max);
        for (int v = a; v <= b; ++v) add(v);
        text += RandomValue(rng, f, a) + "-" + RandomValue(rng, f, b);
        break;
      }
      case 2: {  // */n
        int n = uniform(1, widest_step);
        for (int v = f.min; v <= (f.is_dow ? 6 : f.max); v += n) add(v);
        text += "*/" + std::to_string(n);
        break;
      }
      case 3: {  // a-b/n
        int a = uniform(f.min, f.max);
        int b = uniform(a, f.max);
        int n = uniform(1, std::min(10, widest_step));
        for (int v = a; v <= b; v += n) add(v);
        text += RandomValue(rng, f, a) + "-" + RandomValue(rng, f, b) + "/" + std::to_string(n);
        break;
      }
      default: {  // a/n = a-max/n
        int a = uniform(f.min, f.max);
        int n = uniform(1, std::min(10, widest_step));
        for (int v = a; v <= f.max; v += n) add(v);
        text += std::to_string(a) + "/" + std::to_string(n);
        break;
      }
    }
  }
  return text;
}

RefSchedule RandomSchedule(std::mt19937_64& rng) {
  static const FieldGen kMinute{0, 59, {}, 0, false};
  static const FieldGen kHour{0, 23, {}, 0, false};
  static const FieldGen kDom{1, 31, {}, 0, false};
  static const FieldGen kMonth{
      1, 12, {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"},
      1, false};
  static const FieldGen kDow{0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, 0, true};
  RefSchedule s;
  bool unused;
  s.text = RandomField(rng, kMinute, s.minutes, unused) + " " +
           RandomField(rng, kHour, s.hours, unused) + " " +
           RandomField(rng, kDom, s.dom, s.dom_restricted) + " " +
           RandomField(rng, kMonth, s.months, unused) + " " +
           RandomField(rng, kDow, s.dow, s.dow_restricted);
  return s;
}

// Start instants: uniform over 2020-2031, and a few µs/minutes around month ends, leap days,
// century years and year ends.
std::vector<int64_t> StartTimes(std::mt19937_64& rng) {
  std::vector<int64_t> starts;
  const int64_t lo = At(2020, 1, 1);
  const int64_t hi = At(2032, 1, 1);
  for (int i = 0; i < 8; ++i) starts.push_back(lo + static_cast<int64_t>(rng() % (hi - lo)));
  // 2000 is a leap year (divisible by 400), 2100 is not (divisible by 100).
  const int64_t edges[] = {At(2024, 2, 29), At(2024, 3, 1),  At(2023, 3, 1),  At(2025, 1, 1),
                           At(2026, 1, 1),  At(2025, 5, 1),  At(2028, 2, 29), At(2027, 12, 31, 23),
                           At(2000, 2, 29), At(2100, 2, 28), At(2100, 3, 1),  At(2099, 12, 31)};
  for (int64_t e : edges) {
    const int64_t offsets[] = {-kMinute, -1, 0, 1, 59 * kSecond};
    starts.push_back(e + offsets[rng() % 5]);
  }
  return starts;
}

Result<CronSchedule> MustParse(std::string_view text) {
  auto s = CronSchedule::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s;
}

TEST(CronSchedule, ReferenceCalendarAgreesWithKnownDates) {
  // The reference itself is checked against facts, so the comparison below means something.
  EXPECT_EQ(At(2000, 3, 1), 951868800 * kSecond);
  EXPECT_EQ(At(2026, 1, 1), 1767225600 * kSecond);
  EXPECT_EQ(RefCivil(At(2026, 1, 5) / kDay).weekday, 1);  // a Monday
  EXPECT_EQ(RefCivil(At(2024, 2, 29) / kDay).weekday, 4);  // a Thursday
}

TEST(CronSchedule, NextMatchesBruteForceOnRandomSchedules) {
  std::mt19937_64 rng(20260101);
  int compared = 0;
  int rejected = 0;
  for (int i = 0; i < 400; ++i) {
    RefSchedule ref = RandomSchedule(rng);
    auto parsed = CronSchedule::Parse(ref.text);
    if (!parsed.ok()) {
      // Only impossible schedules may be rejected, and the reference must agree they never fire.
      EXPECT_NE(parsed.status().message().find("never fires"), std::string::npos)
          << ref.text << ": " << parsed.status().ToString();
      EXPECT_EQ(RefNext(ref, At(2000, 1, 1)), CronSchedule::kNever) << ref.text;
      ++rejected;
      continue;
    }
    for (int64_t start : StartTimes(rng)) {
      int64_t t = start;
      for (int step = 0; step < 3; ++step) {  // also from a fire time itself: strictly after
        const int64_t want = RefNext(ref, t);
        const int64_t got = parsed->Next(t);
        ASSERT_EQ(got, want) << ref.text << " after " << t;
        ASSERT_NE(got, CronSchedule::kNever) << ref.text;
        EXPECT_EQ(got % kMinute, 0);
        t = got;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 5000);
  EXPECT_LT(rejected, 40);
}

TEST(CronSchedule, ImpossibleSchedulesAreRejected) {
  for (const char* text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 FEB *", "0 0 31 apr *"}) {
    auto s = CronSchedule::Parse(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("never fires"), std::string::npos) << s.status().message();
  }
  EXPECT_EQ(CronSchedule::Parse("0 0 30 2 *").status().message(),
            "schedule '0 0 30 2 *': never fires: day-of-month 30 does not occur in month "
            "February; pick days that exist in the chosen months");
}

TEST(CronSchedule, RareButPossibleSchedules) {
  // Feb 29: 2096, then 2104 (2100 is not a leap year) — found without walking minute by minute.
  auto leap = MustParse("0 0 29 2 *");
  EXPECT_EQ(leap->Next(At(2024, 3, 1)), At(2028, 2, 29));
  EXPECT_EQ(leap->Next(At(2096, 2, 29)), At(2104, 2, 29));
  // Day 31 exists in March even though not in February.
  EXPECT_EQ(MustParse("0 0 31 2,3 *")->Next(At(2026, 1, 1)), At(2026, 3, 31));
  // Both day fields restricted: OR, so Feb 30 OR Monday fires on Mondays.
  EXPECT_EQ(MustParse("0 0 30 2 MON")->Next(At(2026, 2, 1)), At(2026, 2, 2));
}

TEST(CronSchedule, Macros) {
  const int64_t t = At(2025, 3, 4, 10, 59, 59) + 999'999;  // a Tuesday
  EXPECT_EQ(MustParse("@yearly")->Next(t), At(2026, 1, 1));
  EXPECT_EQ(MustParse("@annually")->Next(t), At(2026, 1, 1));
  EXPECT_EQ(MustParse("@monthly")->Next(t), At(2025, 4, 1));
  EXPECT_EQ(MustParse("@weekly")->Next(t), At(2025, 3, 9));  // Sunday
  EXPECT_EQ(MustParse("@daily")->Next(t), At(2025, 3, 5));
  EXPECT_EQ(MustParse("@midnight")->Next(t), At(2025, 3, 5));
  EXPECT_EQ(MustParse("@hourly")->Next(t), At(2025, 3, 4, 11));
  EXPECT_EQ(MustParse("  @HOURLY ")->Next(t), At(2025, 3, 4, 11));
  EXPECT_EQ(MustParse("@Daily")->text(), "@Daily");
  // Each macro behaves exactly like its expansion.
  const std::pair<const char*, const char*> expansions[] = {
      {"@yearly", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},  {"@hourly", "0 * * * *"}};
  for (const auto& [macro, fields] : expansions) {
    auto a = MustParse(macro);
    auto b = MustParse(fields);
    EXPECT_EQ(a->Between(At(2024, 1, 1), At(2027, 1, 1), 100000),
              b->Between(At(2024, 1, 1), At(2027, 1, 1), 100000))
        << macro;
  }
}

TEST(CronSchedule, Every) {
  auto s = MustParse("@every 15m");
  EXPECT_EQ(s->every_micros(), 15 * kMinute);
  EXPECT_EQ(s->Next(0), 15 * kMinute);
  EXPECT_EQ(s->Next(15 * kMinute - 1), 15 * kMinute);
  EXPECT_EQ(s->Next(15 * kMinute), 30 * kMinute);
  // Anchored to the epoch, not to when it was parsed: fires on :00, :15, :30, :45.
  EXPECT_EQ(s->Next(At(2026, 5, 6, 7, 8, 9)), At(2026, 5, 6, 7, 15));
  EXPECT_EQ(MustParse("@every 30s")->Next(At(2026, 1, 1) + kSecond), At(2026, 1, 1, 0, 0, 30));
  EXPECT_EQ(MustParse("@every 1s")->Next(At(2026, 1, 1)), At(2026, 1, 1, 0, 0, 1));
  // 90 minutes does not divide a day: the grid is still multiples since 1970, across midnight.
  auto ninety = MustParse("@every 1h30m");
  const int64_t n = ninety->Next(At(2026, 1, 1, 23, 59));
  EXPECT_EQ(n % (90 * kMinute), 0);
  EXPECT_GT(n, At(2026, 1, 1, 23, 59));
  EXPECT_LE(n - At(2026, 1, 1, 23, 59), 90 * kMinute);
  EXPECT_EQ(MustParse("@every 2H")->every_micros(), 2 * kHour);
  EXPECT_EQ(MustParse("@every 2h")->Between(At(2026, 1, 1), At(2026, 1, 2), 100).size(), 12u);
  EXPECT_EQ(MustParse("0 * * * *")->every_micros(), 0);
}

TEST(CronSchedule, DayOfMonthOrDayOfWeek) {
  // 2026-01-01 is a Thursday; the first Monday is Jan 5, and Feb 1 is a Sunday.
  auto both = MustParse("0 0 1 * MON");
  EXPECT_EQ(both->Next(At(2026, 1, 1)), At(2026, 1, 5));
  EXPECT_EQ(both->Next(At(2026, 1, 26)), At(2026, 2, 1));  // by day-of-month
  auto dom_only = MustParse("0 0 1 * *");
  EXPECT_EQ(dom_only->Next(At(2026, 1, 1)), At(2026, 2, 1));
  auto dow_only = MustParse("0 0 * * MON");
  EXPECT_EQ(dow_only->Next(At(2026, 1, 26)), At(2026, 2, 2));
  // Over a year: 12 firsts plus 52 Mondays, minus the Mondays that are firsts (Jun 1 2026).
  EXPECT_EQ(both->Between(At(2026, 1, 1), At(2027, 1, 1), 1000).size(), 12u + 52u - 1u);
  // A restricted step counts as restricted: every odd day OR Sundays.
  auto step = MustParse("0 0 */2 * SUN");
  EXPECT_EQ(step->Next(At(2026, 1, 1)), At(2026, 1, 3));   // odd day
  EXPECT_EQ(step->Next(At(2026, 1, 3)), At(2026, 1, 4));   // Sunday, an even day
}

TEST(CronSchedule, NamesAndAliases) {
  const int64_t from = At(2025, 1, 1);
  const int64_t to = At(2027, 1, 1);
  auto times = [&](const char* text) { return MustParse(text)->Between(from, to, 100000); };
  EXPECT_EQ(times("0 0 * JAN,jul Mon-Fri"), times("0 0 * 1,7 1-5"));
  EXPECT_EQ(times("0 0 * * 7"), times("0 0 * * 0"));
  EXPECT_EQ(times("0 0 * * sun"), times("0 0 * * 0"));
  EXPECT_EQ(times("0 0 * * 5-7"), times("0 0 * * FRI,SAT,SUN"));
  EXPECT_EQ(times("0 0 1 dec *").size(), 2u);
  EXPECT_NE(times("0 0 * * 5-7"), times("0 0 * * 5-6"));
}

TEST(CronSchedule, StepsRangesAndLists) {
  const int64_t from = At(2026, 3, 10, 4);
  auto minutes_in_hour = [&](const char* text) {
    std::vector<int> out;
    for (int64_t t : MustParse(text)->Between(from, from + kHour, 100)) {
      out.push_back(static_cast<int>((t - from) / kMinute));
    }
    return out;
  };
  EXPECT_EQ(minutes_in_hour("*/15 * * * *"), (std::vector<int>{0, 15, 30, 45}));
  EXPECT_EQ(minutes_in_hour("10-20/5 * * * *"), (std::vector<int>{10, 15, 20}));
  EXPECT_EQ(minutes_in_hour("5/20 * * * *"), (std::vector<int>{5, 25, 45}));
  EXPECT_EQ(minutes_in_hour("1,2,3,58-59 * * * *"), (std::vector<int>{1, 2, 3, 58, 59}));
  EXPECT_EQ(minutes_in_hour("7 * * * *"), (std::vector<int>{7}));
  EXPECT_EQ(minutes_in_hour("*/45 * * * *"), (std::vector<int>{0, 45}));
  EXPECT_EQ(MustParse("30 9-17/4 * * *")->Between(At(2026, 1, 1), At(2026, 1, 2), 100),
            (std::vector<int64_t>{At(2026, 1, 1, 9, 30), At(2026, 1, 1, 13, 30),
                                  At(2026, 1, 1, 17, 30)}));
  // Skipping: the last minute of the year to the next year.
  EXPECT_EQ(MustParse("59 23 31 12 *")->Next(At(2025, 12, 31, 23, 59)),
            At(2026, 12, 31, 23, 59));
}

TEST(CronSchedule, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"61 * * * *", "schedule '61 * * * *': minute 61 is out of range 0-59"},
      {"every hour", "schedule 'every hour': use 5 cron fields (minute hour day month weekday) or @hourly, "
                     "@daily, @weekly, @monthly, @yearly, @every 15m"},
      {"* * * *", "schedule '* * * *': use 5 cron fields (minute hour day month weekday) or @hourly, @daily, "
                  "@weekly, @monthly, @yearly, @every 15m"},
      {"0 0 * * * *", "schedule '0 0 * * * *': use 5 cron fields (minute hour day month weekday) or @hourly, "
                      "@daily, @weekly, @monthly, @yearly, @every 15m"},
      {"", "schedule is empty; use 5 cron fields (minute hour day month weekday) or @hourly, "
           "@daily, @weekly, @monthly, @yearly, @every 15m"},
      {"0 24 * * *", "schedule '0 24 * * *': hour 24 is out of range 0-23"},
      {"0 0 0 * *", "schedule '0 0 0 * *': day-of-month 0 is out of range 1-31"},
      {"0 0 32 * *", "schedule '0 0 32 * *': day-of-month 32 is out of range 1-31"},
      {"0 0 * 13 *", "schedule '0 0 * 13 *': month 13 is out of range 1-12 (or JAN-DEC)"},
      {"0 0 * * 8", "schedule '0 0 * * 8': day-of-week 8 is out of range 0-7 (0 and 7 are Sunday, or SUN-SAT)"},
      {"99999 * * * *", "schedule '99999 * * * *': minute 99999 is out of range 0-59"},
      {"x * * * *", "schedule 'x * * * *': minute 'x' is not a number 0-59"},
      {"0 MON * * *", "schedule '0 MON * * *': hour 'MON' is not a number 0-23"},
      {"0 0 * JANN *", "schedule '0 0 * JANN *': month 'JANN' is not a number 1-12 or a name JAN-DEC (did you "
                       "mean 'JAN'?)"},
      {"0 0 * * MOON", "schedule '0 0 * * MOON': day-of-week 'MOON' is not a number 0-7 or a name SUN-SAT (did "
                       "you mean 'MON'?)"},
      {"0 17-9 * * *", "schedule '0 17-9 * * *': hour range '17-9' is backwards; write the smaller value first "
                       "(e.g. 9-17)"},
      {"*/0 * * * *", "schedule '*/0 * * * *': minute step '0' in '*/0' must be a positive number, e.g. */5"},
      {"*/61 * * * *",
       "schedule '*/61 * * * *': minute step 61 in '*/61' is out of range 1-59 (a larger step picks only "
       "the first minute; write that value instead)"},
      {"0 0-23/24 * * *",
       "schedule '0 0-23/24 * * *': hour step 24 in '0-23/24' is out of range 1-23 (a larger step picks "
       "only the first hour; write that value instead)"},
      {"0 0 */31 * *", "schedule '0 0 */31 * *': day-of-month step 31 in '*/31' is out of range 1-30 (a larger step "
                       "picks only the first day-of-month; write that value instead)"},
      {"0 0 1 */12 *", "schedule '0 0 1 */12 *': month step 12 in '*/12' is out of range 1-11 (a larger step picks "
                       "only the first month; write that value instead)"},
      {"0 0 * * */7", "schedule '0 0 * * */7': day-of-week step 7 in '*/7' is out of range 1-6 (a larger step picks "
                      "only the first day-of-week; write that value instead)"},
      {"*/x * * * *", "schedule '*/x * * * *': minute step 'x' in '*/x' must be a positive number, e.g. */5"},
      {"/5 * * * *", "schedule '/5 * * * *': minute '/5' has a step but no range; write */5 or a-b/5"},
      {"1,,2 * * * *", "schedule '1,,2 * * * *': minute '1,,2' has an empty list item; separate values with "
                       "single commas, e.g. 1,15"},
      {"0 -1 * * *", "schedule '0 -1 * * *': hour '-1' is not a number 0-23 or a range a-b"},
      {"0 9- * * *", "schedule '0 9- * * *': hour '9-' is not a number 0-23 or a range a-b"},
      {"@hurly", "schedule '@hurly': unknown macro @hurly (did you mean '@hourly'?); use 5 cron fields "
                 "(minute hour day month weekday) or @hourly, @daily, @weekly, @monthly, @yearly, @every "
                 "15m"},
      {"@daily 3", "schedule '@daily 3': @daily takes no arguments"},
      {"@every", "schedule '@every': @every takes one duration, e.g. @every 30s, @every 15m or "
                 "@every 2h"},
      {"@every ten", "schedule '@every ten': 'ten' is not a duration; write e.g. @every 30s, @every 15m or "
                     "@every 2h"},
      {"@every 500ms", "schedule '@every 500ms': @every interval 500ms is shorter than the minimum of 1s"},
      {"@every 0s", "schedule '@every 0s': @every interval 0s is shorter than the minimum of 1s"},
      {"@every 1500ms", "schedule '@every 1500ms': @every interval 1500ms is not a whole number of seconds"},
      {"0 0 31 11 *", "schedule '0 0 31 11 *': never fires: day-of-month 31 does not occur in month November; "
                      "pick days that exist in the chosen months"},
      {"0 0 31 2,4 *", "schedule '0 0 31 2,4 *': never fires: day-of-month 31 does not occur in month 2,4; "
                       "pick days that exist in the chosen months"},
  };
  for (const auto& [text, message] : cases) {
    auto s = CronSchedule::Parse(text);
    ASSERT_FALSE(s.ok()) << "'" << text << "' parsed";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.status().message(), message);
  }
}

TEST(CronSchedule, BetweenCounts) {
  // @hourly over one day, from inclusive and to exclusive.
  auto hourly = MustParse("@hourly");
  auto day = hourly->Between(At(2026, 7, 1), At(2026, 7, 2), 1000);
  ASSERT_EQ(day.size(), 24u);
  EXPECT_EQ(day.front(), At(2026, 7, 1));
  EXPECT_EQ(day.back(), At(2026, 7, 1, 23));
  EXPECT_EQ(hourly->Between(At(2026, 7, 1) + 1, At(2026, 7, 2) + 1, 1000).size(), 24u);
  EXPECT_EQ(hourly->Between(At(2026, 7, 1), At(2026, 7, 2), 5).size(), 5u);  // the limit
  EXPECT_TRUE(hourly->Between(At(2026, 7, 2), At(2026, 7, 1), 1000).empty());
  EXPECT_TRUE(hourly->Between(At(2026, 7, 1), At(2026, 7, 2), 0).empty());
  // Mondays in 2026 and in a leap year, counted by the reference calendar.
  for (int year : {2026, 2024, 2028}) {
    int mondays = 0;
    RefDate r = RefCivil(At(year, 1, 1) / kDay);
    for (; r.y == year; NextDay(r)) mondays += r.weekday == 1 ? 1 : 0;
    EXPECT_EQ(MustParse("0 0 * * MON")->Between(At(year, 1, 1), At(year + 1, 1, 1), 1000).size(),
              static_cast<size_t>(mondays))
        << year;
  }
  // Leap year: 366 midnights.
  EXPECT_EQ(MustParse("@daily")->Between(At(2024, 1, 1), At(2025, 1, 1), 1000).size(), 366u);
  // Between is the chain of Next.
  auto s = MustParse("*/7 3-5 * * TUE");
  auto times = s->Between(At(2026, 1, 1), At(2026, 3, 1), 100000);
  ASSERT_FALSE(times.empty());
  int64_t t = At(2026, 1, 1) - 1;
  for (int64_t want : times) {
    t = s->Next(t);
    EXPECT_EQ(t, want);
  }
  EXPECT_GE(s->Next(times.back()), At(2026, 3, 1));
}

TEST(CronSchedule, NearTheLimitReturnsNever) {
  EXPECT_EQ(MustParse("@hourly")->Next(CronSchedule::kNever - 1), CronSchedule::kNever);
  EXPECT_EQ(MustParse("@every 1s")->Next(CronSchedule::kNever - 1), CronSchedule::kNever);
  EXPECT_TRUE(MustParse("@hourly")->Between(CronSchedule::kNever - kDay, CronSchedule::kNever, 10)
                  .empty());
}

TEST(CronSchedule, TextAndEquality) {
  auto a = MustParse(" 0 9 * * MON-FRI\t");
  EXPECT_EQ(a->text(), "0 9 * * MON-FRI");
  EXPECT_TRUE(*a == *MustParse("0 9 * * MON-FRI"));
  EXPECT_FALSE(*a == *MustParse("0 10 * * MON-FRI"));
  EXPECT_FALSE(*MustParse("@every 1m") == *MustParse("@every 2m"));
}

}  // namespace
}  // namespace sluice
