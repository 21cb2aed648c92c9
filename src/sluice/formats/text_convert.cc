#include "sluice/formats/text_convert.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "sluice/base/strings.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::formats {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct Base64Table {
  int8_t v[256];
  constexpr Base64Table() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  }
};
constexpr Base64Table kBase64Decode;

}  // namespace

bool ParseInt64Text(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return false;
  }
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseInt32Text(std::string_view s, int32_t& out) {
  int64_t v;
  if (!ParseInt64Text(s, v) || v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int32_t>(v);
  return true;
}

bool ParseFloat64Text(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return false;
  }
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  // A value too large or too small for a double is out of range, not something to round.
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<int64_t> ParseDecimalText(std::string_view s, int precision, int scale) {
  size_t e = s.find_first_of("eE");
  if (e == std::string_view::npos) return ParseDecimal(s, precision, scale);

  // Mantissa: [sign] digits [. digits]; at least one digit.
  std::string_view m = s.substr(0, e);
  bool neg = false;
  if (!m.empty() && (m.front() == '-' || m.front() == '+')) {
    neg = m.front() == '-';
    m.remove_prefix(1);
  }
  std::string digits;
  digits.reserve(m.size());
  int point = -1;  // digits before the decimal point
  for (size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '.' && point < 0) {
      point = static_cast<int>(digits.size());
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;
  if (point < 0) point = static_cast<int>(digits.size());

  // Exponent: [sign] digits, clamped (beyond the clamp the value is 0 or out of range anyway).
  std::string_view x = s.substr(e + 1);
  bool xneg = false;
  if (!x.empty() && (x.front() == '-' || x.front() == '+')) {
    xneg = x.front() == '-';
    x.remove_prefix(1);
  }
  if (x.empty()) return std::nullopt;
  int64_t exp = 0;
  for (char c : x) {
    if (c < '0' || c > '9') return std::nullopt;
    if (exp < 1000000) exp = exp * 10 + (c - '0');
  }
  if (xneg) exp = -exp;

  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) return 0;  // zero, whatever the exponent
  digits.erase(0, lead);
  point -= static_cast<int>(lead);
  // The value is 0.<digits> * 10^new_point.
  int64_t new_point = point + exp;
  if (new_point > kMaxDecimalPrecision) return std::nullopt;
  if (new_point < -scale) return 0;  // the first significant digit lies past the rounding digit

  std::string text;
  text.reserve(digits.size() + 24);
  if (neg) text += '-';
  if (new_point <= 0) {
    text += "0.";
    text.append(static_cast<size_t>(-new_point), '0');
    text += digits;
  } else {
    size_t np = static_cast<size_t>(new_point);
    if (digits.size() <= np) {
      text += digits;
      text.append(np - digits.size(), '0');
    } else {
      text.append(digits, 0, np);
      text += '.';
      text.append(digits, np, std::string::npos);
    }
  }
  return ParseDecimal(text, precision, scale);
}

bool TimestampInRange(int64_t micros) {
  // Years 0000..9999: what ISO-8601 text (and so every encoder) can write.
  static const int64_t kMin = int64_t{DaysFromCivil(0, 1, 1)} * kMicrosPerDay;
  static const int64_t kMax = int64_t{DaysFromCivil(10000, 1, 1)} * kMicrosPerDay - 1;
  return micros >= kMin && micros <= kMax;
}

bool EpochMillisToMicros(int64_t millis, int64_t& micros) {
  return !__builtin_mul_overflow(millis, int64_t{1000}, &micros) && TimestampInRange(micros);
}

bool ParseTimestampText(std::string_view s, bool allow_epoch_millis, int64_t& micros) {
  if (auto ts = ParseTimestamp(s)) {
    micros = *ts;
    return TimestampInRange(micros);
  }
  if (!allow_epoch_millis) return false;
  int64_t millis;
  return ParseInt64Text(s, millis) && EpochMillisToMicros(millis, micros);
}

bool DecodeBase64(std::string_view s, std::string& out) {
  out.clear();
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return false;
  out.reserve(s.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int8_t v = kBase64Decode.v[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero padding, or the text was not produced by an encoder.
  return (acc & ((1u << bits) - 1)) == 0;
}

void AppendBase64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    char q[4] = {kBase64Alphabet[v >> 18], kBase64Alphabet[(v >> 12) & 63],
                 kBase64Alphabet[(v >> 6) & 63], kBase64Alphabet[v & 63]};
    out.append(q, 4);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    char q[4] = {kBase64Alphabet[v >> 18], kBase64Alphabet[(v >> 12) & 63], '=', '='};
    out.append(q, 4);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    char q[4] = {kBase64Alphabet[v >> 18], kBase64Alphabet[(v >> 12) & 63],
                 kBase64Alphabet[(v >> 6) & 63], '='};
    out.append(q, 4);
  }
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == n;
}

bool ConvertText(std::string_view text, const DataType& type, FieldValue& out) {
  if (type.id == TypeId::kString) {
    out.SetBytes(text);
    return true;
  }
  std::string_view t = Trim(text, kBlanks);
  switch (type.id) {
    case TypeId::kBool: {
      std::optional<bool> b = ParseBool(t, BoolSpellings::kData);
      if (!b) return false;
      out.SetInt(*b);
      return true;
    }
    case TypeId::kInt32: {
      int32_t v;
      if (!ParseInt32Text(t, v)) return false;
      out.SetInt(v);
      return true;
    }
    case TypeId::kInt64: {
      int64_t v;
      if (!ParseInt64Text(t, v)) return false;
      out.SetInt(v);
      return true;
    }
    case TypeId::kFloat64: {
      double v;
      if (!ParseFloat64Text(t, v)) return false;
      out.SetFloat(v);
      return true;
    }
    case TypeId::kDecimal: {
      auto v = ParseDecimalText(t, type.precision, type.scale);
      if (!v) return false;
      out.SetInt(*v);
      return true;
    }
    case TypeId::kDate: {
      auto v = ParseDate(t);
      if (!v) return false;
      out.SetInt(*v);
      return true;
    }
    case TypeId::kTimestamp: {
      int64_t v;
      if (!ParseTimestampText(t, /*allow_epoch_millis=*/true, v)) return false;
      out.SetInt(v);
      return true;
    }
    case TypeId::kBinary:
      if (!DecodeBase64(t, out.storage)) return false;
      out.SetBytesFromStorage();
      return true;
    case TypeId::kString:
    case TypeId::kNull:
      break;
  }
  return false;
}

void AppendFloat64(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-inf" : "inf";
    return;
  }
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ptr);
}

void AppendInt64(std::string& out, int64_t v) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ptr);
}

void AppendValueText(std::string& out, const Column& col, size_t row) {
  const DataType& t = col.type();
  switch (t.id) {
    case TypeId::kBool: out += col.Get<uint8_t>(row) ? "true" : "false"; break;
    case TypeId::kInt32: AppendInt64(out, col.Get<int32_t>(row)); break;
    case TypeId::kInt64: AppendInt64(out, col.Get<int64_t>(row)); break;
    case TypeId::kFloat64: AppendFloat64(out, col.Get<double>(row)); break;
    case TypeId::kDecimal: AppendDecimal(out, col.Get<int64_t>(row), t.scale); break;
    case TypeId::kString: out += col.GetString(row); break;
    case TypeId::kBinary: AppendBase64(out, col.GetString(row)); break;
    case TypeId::kDate: AppendDate(out, col.Get<int32_t>(row)); break;
    case TypeId::kTimestamp: AppendTimestamp(out, col.Get<int64_t>(row)); break;
    case TypeId::kNull: break;
  }
}

std::string ShortenForMessage(std::string_view s, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 1 && c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else if (n > 1 && i + n <= s.size() && IsValidUtf8(s.substr(i, n))) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += '?';  // control characters and invalid bytes
      ++i;
    }
  }
  return out;
}

}  // namespace sluice::formats
