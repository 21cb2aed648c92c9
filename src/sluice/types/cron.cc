#include "sluice/types/cron.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <optional>

#include "sluice/base/strings.h"
#include "sluice/types/temporal.h"

namespace sluice {
namespace {

constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMinutesPerDay = 24 * 60;
// Instants this close to the int64 limit get kNever rather than risk overflowing.
constexpr int64_t kLatestSearchStart =
    CronSchedule::kNever - int64_t{CronSchedule::kSearchHorizonYears + 2} * 366 * kMinutesPerDay *
                               kMicrosPerMinute;

constexpr std::string_view kFormatHint =
    "use 5 cron fields (minute hour day month weekday) or @hourly, @daily, @weekly, @monthly, "
    "@yearly, @every 15m";

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// 0 = Sunday; 1970-01-01 was a Thursday.
int WeekdayFromDays(int64_t z) { return static_cast<int>(((z % 7) + 7 + 4) % 7); }

// The lowest set bit at or above `from`, or -1.
int NextBit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  const uint64_t masked = bits & (~uint64_t{0} << from);
  return masked == 0 ? -1 : std::countr_zero(masked);
}

// --- Parsing.

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};
constexpr std::array<std::string_view, 12> kMonthLongNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::string_view range_note;                 // appended to "out of range a-b"
  const std::string_view* names = nullptr;     // e.g. JAN..DEC
  size_t name_count = 0;
  int name_base = 0;                           // value of names[0]
};

const FieldSpec kMinuteSpec{"minute", 0, 59, ""};
const FieldSpec kHourSpec{"hour", 0, 23, ""};
const FieldSpec kDomSpec{"day-of-month", 1, 31, ""};
const FieldSpec kMonthSpec{"month", 1, 12, " (or JAN-DEC)", kMonthNames.data(), kMonthNames.size(),
                           1};
const FieldSpec kDowSpec{"day-of-week", 0, 7, " (0 and 7 are Sunday, or SUN-SAT)",
                         kWeekdayNames.data(), kWeekdayNames.size(), 0};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) parts.push_back(s.substr(start, i - start));
  }
  return parts;
}

// Parses one value of a field: a number within range or (for months and weekdays) a name.
// `error_prefix` is "schedule '<text>': ".
Result<int> ParseValue(std::string_view token, const FieldSpec& spec,
                       const std::string& error_prefix) {
  if (AllDigits(token)) {
    if (token.size() > 4) {
      return Status::InvalidArgument("{}{} {} is out of range {}-{}{}", error_prefix, spec.name,
                                     token, spec.min, spec.max, spec.range_note);
    }
    int v = 0;
    for (char c : token) v = v * 10 + (c - '0');
    if (v < spec.min || v > spec.max) {
      return Status::InvalidArgument("{}{} {} is out of range {}-{}{}", error_prefix, spec.name, v,
                                     spec.min, spec.max, spec.range_note);
    }
    return v;
  }
  if (spec.names != nullptr) {
    const std::string upper = Upper(token);
    std::vector<std::string> names;
    for (size_t i = 0; i < spec.name_count; ++i) {
      if (upper == spec.names[i]) return spec.name_base + static_cast<int>(i);
      names.emplace_back(spec.names[i]);
    }
    return Status::InvalidArgument("{}{} '{}' is not a number {}-{} or a name {}-{}{}",
                                   error_prefix, spec.name, token, spec.min, spec.max,
                                   names.front(), names.back(), DidYouMeanSuffix(upper, names));
  }
  return Status::InvalidArgument("{}{} '{}' is not a number {}-{}", error_prefix, spec.name, token,
                                 spec.min, spec.max);
}

// Parses one field (a comma list) into a bit set.
Result<uint64_t> ParseField(std::string_view field, const FieldSpec& spec,
                            const std::string& error_prefix) {
  uint64_t bits = 0;
  for (std::string_view item : Split(field, ',')) {
    if (item.empty()) {
      return Status::InvalidArgument(
          "{}{} '{}' has an empty list item; separate values with single commas, e.g. 1,15",
          error_prefix, spec.name, field);
    }
    std::string_view base = item;
    int step = 1;
    const size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      if (!AllDigits(step_text) || step_text.size() > 4 || std::stoi(std::string(step_text)) == 0) {
        return Status::InvalidArgument(
            "{}{} step '{}' in '{}' must be a positive number, e.g. */5", error_prefix, spec.name,
            step_text, item);
      }
      step = std::stoi(std::string(step_text));
      // A step as wide as the field would pick its first value only (`*/61` is minute 0).
      const int widest = (&spec == &kDowSpec ? 6 : spec.max) - spec.min;
      if (step > widest) {
        return Status::InvalidArgument(
            "{}{} step {} in '{}' is out of range 1-{} (a larger step picks only the first {}; write that "
            "value instead)",
            error_prefix, spec.name, step, item, widest, spec.name);
      }
      if (base.empty()) {
        return Status::InvalidArgument("{}{} '{}' has a step but no range; write */{} or a-b/{}",
                                       error_prefix, spec.name, item, step, step);
      }
    }
    int lo;
    int hi;
    if (base == "*") {
      lo = spec.min;
      // Sunday is 0; 7 is only an alias, so `*` need not reach it.
      hi = &spec == &kDowSpec ? 6 : spec.max;
    } else {
      const size_t dash = base.find('-');
      if (dash == std::string_view::npos) {
        SLUICE_ASSIGN_OR_RETURN(lo, ParseValue(base, spec, error_prefix));
        hi = slash != std::string_view::npos ? spec.max : lo;  // `a/s` means a-max/s
      } else {
        if (dash == 0 || dash + 1 == base.size()) {
          return Status::InvalidArgument("{}{} '{}' is not a number {}-{} or a range a-b",
                                         error_prefix, spec.name, base, spec.min, spec.max);
        }
        SLUICE_ASSIGN_OR_RETURN(lo, ParseValue(base.substr(0, dash), spec, error_prefix));
        SLUICE_ASSIGN_OR_RETURN(hi, ParseValue(base.substr(dash + 1), spec, error_prefix));
        if (lo > hi) {
          return Status::InvalidArgument(
              "{}{} range '{}' is backwards; write the smaller value first (e.g. {}-{})",
              error_prefix, spec.name, base, base.substr(dash + 1), base.substr(0, dash));
        }
      }
    }
    for (int v = lo; v <= hi; v += step) {
      bits |= uint64_t{1} << (&spec == &kDowSpec && v == 7 ? 0 : v);
    }
  }
  return bits;
}

int MaxDaysInMonth(int month) {  // over all years, so February has 29
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month - 1];
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view raw_text) {
  const std::string_view text = Trim(raw_text);
  const std::string error_prefix = fmt::format("schedule '{}': ", text);
  CronSchedule s;
  s.text_ = std::string(text);
  if (text.empty()) return Status::InvalidArgument("schedule is empty; {}", kFormatHint);

  std::vector<std::string_view> fields = SplitWhitespace(text);
  if (text.front() == '@') {
    const std::string macro = Lower(fields[0]);
    if (macro == "@every") {
      if (fields.size() != 2) {
        return Status::InvalidArgument(
            "{}@every takes one duration, e.g. @every 30s, @every 15m or @every 2h", error_prefix);
      }
      std::optional<int64_t> micros = ParseDurationMicros(Lower(fields[1]));
      if (!micros) {
        return Status::InvalidArgument(
            "{}'{}' is not a duration; write e.g. @every 30s, @every 15m or @every 2h",
            error_prefix, fields[1]);
      }
      if (*micros < kMicrosPerSecond) {
        return Status::InvalidArgument("{}@every interval {} is shorter than the minimum of 1s",
                                       error_prefix, fields[1]);
      }
      if (*micros % kMicrosPerSecond != 0) {
        return Status::InvalidArgument("{}@every interval {} is not a whole number of seconds",
                                       error_prefix, fields[1]);
      }
      s.every_micros_ = *micros;
      return s;
    }
    static const std::vector<std::pair<std::string, std::string_view>> kMacros = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    std::string_view expansion;
    std::vector<std::string> names;
    for (const auto& [name, fields_text] : kMacros) {
      if (macro == name) expansion = fields_text;
      names.push_back(name);
    }
    names.emplace_back("@every");
    if (expansion.empty()) {
      return Status::InvalidArgument("{}unknown macro {}{}; {}", error_prefix, fields[0],
                                     DidYouMeanSuffix(macro, names), kFormatHint);
    }
    if (fields.size() != 1) {
      return Status::InvalidArgument("{}{} takes no arguments", error_prefix, fields[0]);
    }
    fields = SplitWhitespace(expansion);
  }
  if (fields.size() != 5) return Status::InvalidArgument("{}{}", error_prefix, kFormatHint);

  SLUICE_ASSIGN_OR_RETURN(s.minutes_, ParseField(fields[0], kMinuteSpec, error_prefix));
  SLUICE_ASSIGN_OR_RETURN(uint64_t hours, ParseField(fields[1], kHourSpec, error_prefix));
  SLUICE_ASSIGN_OR_RETURN(uint64_t dom, ParseField(fields[2], kDomSpec, error_prefix));
  SLUICE_ASSIGN_OR_RETURN(uint64_t months, ParseField(fields[3], kMonthSpec, error_prefix));
  SLUICE_ASSIGN_OR_RETURN(uint64_t dow, ParseField(fields[4], kDowSpec, error_prefix));
  s.hours_ = static_cast<uint32_t>(hours);
  s.days_of_month_ = static_cast<uint32_t>(dom);
  s.months_ = static_cast<uint32_t>(months);
  s.days_of_week_ = static_cast<uint32_t>(dow);
  s.dom_restricted_ = fields[2] != "*";
  s.dow_restricted_ = fields[4] != "*";

  // A restricted weekday occurs in every month, and with day-of-month `*` every day exists, so
  // only "day-of-month restricted, day-of-week `*`" can never fire: when no chosen day exists in
  // any chosen month. Otherwise it fires at least every 8 years (Feb 29 skips 2100).
  if (s.dom_restricted_ && !s.dow_restricted_) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if ((s.months_ >> m & 1) == 0) continue;
      const uint64_t existing_days = ((uint64_t{1} << (MaxDaysInMonth(m) + 1)) - 1) & ~uint64_t{1};
      possible = (s.days_of_month_ & existing_days) != 0;
    }
    if (!possible) {
      std::string month_text = std::string(fields[3]);
      if (std::popcount(s.months_) == 1) {
        month_text = kMonthLongNames[std::countr_zero(s.months_) - 1];
      }
      return Status::InvalidArgument(
          "{}never fires: day-of-month {} does not occur in month {}; pick days that exist in "
          "the chosen months",
          error_prefix, fields[2], month_text);
    }
  }
  return s;
}

bool CronSchedule::DayMatches(int month, int day, int weekday) const {
  if ((months_ >> month & 1) == 0) return false;
  const bool dom = (days_of_month_ >> day & 1) != 0;
  const bool dow = (days_of_week_ >> weekday & 1) != 0;
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;  // an unrestricted field matches every day
}

int64_t CronSchedule::Next(int64_t after_micros) const {
  if (after_micros >= kLatestSearchStart) return kNever;
  if (every_micros_ > 0) return (FloorDiv(after_micros, every_micros_) + 1) * every_micros_;
  return NextCron(after_micros);
}

int64_t CronSchedule::NextCron(int64_t after_micros) const {
  // Work in whole minutes: the first candidate is the minute after the one containing `after`.
  const int64_t first_minute = FloorDiv(after_micros, kMicrosPerMinute) + 1;
  int64_t day = FloorDiv(first_minute, kMinutesPerDay);
  int minute_of_day = static_cast<int>(first_minute - day * kMinutesPerDay);
  const int64_t last_day = day + int64_t{kSearchHorizonYears} * 366;

  while (day <= last_day) {
    const CivilDate date = CivilFromDays(static_cast<int32_t>(day));
    if ((months_ >> date.month & 1) == 0) {  // skip to the first of the next month
      const int64_t next_month = date.month == 12 ? DaysFromCivil(date.year + 1, 1, 1)
                                                  : DaysFromCivil(date.year, date.month + 1, 1);
      day = std::max(next_month, day + 1);  // always progress, so the loop ends
      minute_of_day = 0;
      continue;
    }
    if (!DayMatches(date.month, date.day, WeekdayFromDays(day))) {
      ++day;
      minute_of_day = 0;
      continue;
    }
    int hour = minute_of_day / 60;
    int minute = minute_of_day % 60;
    while (true) {
      const int h = NextBit(hours_, hour);
      if (h < 0) break;  // no hour left today
      if (h > hour) minute = 0;
      const int m = NextBit(minutes_, minute);
      if (m >= 0) return ((day * kMinutesPerDay) + h * 60 + m) * kMicrosPerMinute;
      hour = h + 1;
      minute = 0;
    }
    ++day;
    minute_of_day = 0;
  }
  return kNever;
}

std::vector<int64_t> CronSchedule::Between(int64_t from_micros, int64_t to_micros,
                                           size_t limit) const {
  std::vector<int64_t> out;
  if (from_micros >= to_micros || limit == 0) return out;
  // Next is strictly after its argument; from - 1 makes `from` itself eligible.
  int64_t t = Next(from_micros == std::numeric_limits<int64_t>::min() ? from_micros
                                                                      : from_micros - 1);
  while (t != kNever && t < to_micros && out.size() < limit) {
    out.push_back(t);
    t = Next(t);
  }
  return out;
}

}  // namespace sluice
