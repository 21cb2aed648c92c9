#include "sluice/base/strings.h"

#include <algorithm>
#include <emmintrin.h>

#include <cctype>

namespace sluice {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  size_t best = std::max<size_t>(2, word.size() / 3) + 1;
  std::string_view found;
  for (auto c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best) {
      best = d;
      found = c;
    }
  }
  return std::string(found);
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return DidYouMean(word, std::span<const std::string_view>(views));
}

std::string DidYouMeanSuffix(std::string_view word, const std::vector<std::string>& candidates) {
  std::string s = DidYouMean(word, candidates);
  return s.empty() ? std::string() : " (did you mean '" + s + "'?)";
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Fast path: 8 ASCII bytes at a time.
    if (end - p >= 8) {
      uint64_t w;
      __builtin_memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
      if (cp < 2) return false;  // overlong
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    p += n + 1;
  }
  return true;
}

namespace {

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  return TrimRight(s, chars);
}

std::string_view TrimRight(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

bool IsNamespaceName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::optional<bool> ParseBool(std::string_view s, BoolSpellings spellings) {
  static constexpr std::string_view kData[2][2] = {{"false", "0"}, {"true", "1"}};
  static constexpr std::string_view kCast[2][4] = {{"f", "no", "n", "off"}, {"t", "yes", "y", "on"}};
  for (int value = 0; value < 2; ++value) {
    for (std::string_view w : kData[value]) {
      if (EqualsIgnoreCase(s, w)) return value == 1;
    }
    if (spellings != BoolSpellings::kCast) continue;
    for (std::string_view w : kCast[value]) {
      if (EqualsIgnoreCase(s, w)) return value == 1;
    }
  }
  return std::nullopt;
}

size_t CountByte(std::string_view s, char byte) {
  const char* p = s.data();
  const char* end = p + s.size();
  size_t n = 0;
  const __m128i needle = _mm_set1_epi8(byte);
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    n += static_cast<size_t>(__builtin_popcount(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)))));
  }
  for (; p < end; ++p) n += *p == byte;
  return n;
}

std::optional<int64_t> ParseDurationMicros(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    int64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      n = n * 10 + (s[i] - '0');
      if (n > (int64_t{1} << 40)) return std::nullopt;
      ++i;
    }
    size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(u, i - u);
    int64_t mult;
    if (unit == "us") mult = 1;
    else if (unit == "ms") mult = 1000;
    else if (unit == "s") mult = 1000000;
    else if (unit == "m") mult = 60LL * 1000000;
    else if (unit == "h") mult = 3600LL * 1000000;
    else if (unit == "d") mult = 86400LL * 1000000;
    else return std::nullopt;
    total += n * mult;
  }
  return total;
}

std::optional<int64_t> ParseByteSize(std::string_view s) {
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    n = n * 10 + (s[i] - '0');
    if (n > (int64_t{1} << 50)) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit;
  for (; i < s.size(); ++i) {
    if (s[i] != ' ') unit += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  }
  if (unit.empty() || unit == "B") return n;
  if (unit == "KB" || unit == "KIB" || unit == "K") return n << 10;
  if (unit == "MB" || unit == "MIB" || unit == "M") return n << 20;
  if (unit == "GB" || unit == "GIB" || unit == "G") return n << 30;
  return std::nullopt;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string FormatDuration(int64_t micros) {
  if (micros == 0) return "0s";
  std::string out;
  if (micros < 0) {
    out = "-";
    micros = -micros;
  }
  struct Unit {
    int64_t us;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400000000, "d"}, {3600000000, "h"}, {60000000, "m"}, {1000000, "s"}, {1000, "ms"}, {1, "us"}};
  for (const auto& u : kUnits) {
    if (micros >= u.us) {
      out += std::to_string(micros / u.us) + u.name;
      micros %= u.us;
    }
  }
  return out;
}

std::string RedactUrlPassword(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) return std::string(url);
  const size_t colon = url.find(':', scheme + 3);
  if (colon != std::string_view::npos && colon < at) {
    return std::string(url.substr(0, colon)) + ":***" + std::string(url.substr(at));
  }
  return std::string(url);
}

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
    out += kBase64Url[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, or two spellings would decode to the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace sluice
