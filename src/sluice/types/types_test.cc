#include <gtest/gtest.h>

#include "sluice/types/data_type.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice {
namespace {

TEST(DataType, ParseAndPrint) {
  EXPECT_EQ(ParseDataType("decimal(18, 2)")->ToString(), "decimal(18,2)");
  EXPECT_EQ(ParseDataType("BIGINT")->id, TypeId::kInt64);
  EXPECT_EQ(ParseDataType("timestamp")->id, TypeId::kTimestamp);
  EXPECT_FALSE(ParseDataType("decimal(40,2)").ok());
  EXPECT_FALSE(ParseDataType("decimal(4,5)").ok());
  auto bad = ParseDataType("strng");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown type 'strng'"), std::string::npos);
}

TEST(Temporal, RoundTripsCivilDates) {
  for (int32_t d = -800000; d < 800000; d += 997) {
    CivilDate c = CivilFromDays(d);
    EXPECT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
}

TEST(Temporal, ParsesIso8601) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:01Z"), 1000000);
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:00.5"), 500000);
  EXPECT_EQ(ParseTimestamp("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_EQ(ParseTimestamp("2026-11-21"), int64_t{DaysFromCivil(2026, 11, 21)} * kMicrosPerDay);
  EXPECT_FALSE(ParseTimestamp("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2026-11-21T25:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("yesterday"));
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(1000000), "1970-01-01T00:00:01Z");
  EXPECT_EQ(TimestampToDays(-1), -1);
  EXPECT_EQ(FormatDate(DaysFromCivil(2024, 2, 29)), "2024-02-29");
}

TEST(Decimal, ParseFormatRound) {
  EXPECT_EQ(ParseDecimal("12.34", 18, 2), 1234);
  EXPECT_EQ(ParseDecimal("-0.5", 18, 2), -50);
  EXPECT_EQ(ParseDecimal("1.005", 18, 2), 101);  // half away from zero
  EXPECT_EQ(ParseDecimal("7", 5, 2), 700);
  EXPECT_FALSE(ParseDecimal("1234", 5, 2));  // needs 4 integer digits, only 3 allowed
  EXPECT_FALSE(ParseDecimal("1.2.3", 18, 2));
  EXPECT_FALSE(ParseDecimal("", 18, 2));
  EXPECT_EQ(FormatDecimal(1234, 2), "12.34");
  EXPECT_EQ(FormatDecimal(-5, 2), "-0.05");
  EXPECT_EQ(FormatDecimal(0, 0), "0");
  EXPECT_EQ(FormatDecimal(INT64_MIN, 0), "-9223372036854775808");
  EXPECT_EQ(RescaleDecimal(1234, 2, 1), 123);
  EXPECT_EQ(RescaleDecimal(-1235, 2, 1), -124);
  EXPECT_EQ(RescaleDecimal(12, 0, 3), 12000);
}

}  // namespace
}  // namespace sluice
