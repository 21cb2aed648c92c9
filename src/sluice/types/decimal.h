// Decimals as scaled 64-bit integers: decimal(p,s) value v is stored as v * 10^s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// 10^n for n in 0..18.
int64_t Pow10(int n);
// Parses "-12.345" into a value scaled by 10^scale, rounding half away from zero when the text
// has more fractional digits than `scale`. Returns nullopt if malformed or if the integer part
// needs more than `precision - scale` digits.
std::optional<int64_t> ParseDecimal(std::string_view s, int precision, int scale);
// Converts a double (rounding half away from zero); nullopt if out of range for precision.
std::optional<int64_t> DecimalFromDouble(double v, int precision, int scale);
// True if |v| < 10^precision.
bool DecimalFits(int64_t v, int precision);
std::string FormatDecimal(int64_t v, int scale);
void AppendDecimal(std::string& out, int64_t v, int scale);
double DecimalToDouble(int64_t v, int scale);
// Rescales from one scale to another (rounding half away from zero when narrowing);
// nullopt on overflow.
std::optional<int64_t> RescaleDecimal(int64_t v, int from_scale, int to_scale);

}  // namespace sluice
