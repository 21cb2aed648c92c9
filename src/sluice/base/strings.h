// Small string helpers shared by every module: suggestions for misspelt names, UTF-8 checks,
// case-insensitive comparison, trimming, identifiers, text -> bool, duration parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Levenshtein distance, for did-you-mean suggestions.
size_t EditDistance(std::string_view a, std::string_view b);
// The closest candidate within a distance that scales with the word length, or empty.
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string DidYouMeanSuffix(std::string_view word, const std::vector<std::string>& candidates);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The length (1 to 4) of the UTF-8 sequence that starts with `lead`, for stepping through valid
// UTF-8 one character at a time.
inline size_t Utf8SequenceLength(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

// ASCII case-insensitive equality ("Content-Length" and "content-length"); other bytes must match.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// What Trim removes unless told otherwise: ASCII white space (space, \t, \n, \v, \f, \r).
inline constexpr std::string_view kAsciiWhitespace = " \t\n\v\f\r";
// Spaces and tabs only: HTTP's optional white space, blanks around a CSV field.
inline constexpr std::string_view kBlanks = " \t";
// `s` without the leading and trailing characters that are in `chars`.
std::string_view Trim(std::string_view s, std::string_view chars = kAsciiWhitespace);
// `s` without the trailing characters that are in `chars`.
std::string_view TrimRight(std::string_view s, std::string_view chars = kAsciiWhitespace);

// True if `s` matches ^[a-z_][a-z0-9_]{0,62}$, the rule for the names of pipelines, components,
// layers, tables and warehouse columns.
bool IsIdentifier(std::string_view s);
// True if `s` matches ^[a-z0-9][a-z0-9_-]{0,62}$, the rule for namespace names (a namespace is
// also a folder under the server's data root, so the rule keeps '/', '.' and '..' out).
bool IsNamespaceName(std::string_view s);

// The spellings ParseBool accepts, in any case (surrounding space is the caller's to trim).
enum class BoolSpellings {
  kData,  // true/false, 1/0: a bool field of a text format (CSV)
  kCast,  // also t/f, yes/no, y/n, on/off: CAST(string AS bool)
};
// "TRUE" -> true, "0" -> false; nullopt for anything else.
std::optional<bool> ParseBool(std::string_view s, BoolSpellings spellings);

// How many times `byte` occurs in `s` (16 bytes at a time).
size_t CountByte(std::string_view s, char byte);

// Parses "250ms", "30s", "1m", "2h", "7d" (also "1h30m") into microseconds.
std::optional<int64_t> ParseDurationMicros(std::string_view s);
// The shortest spelling ParseDurationMicros reads back: 90000000 -> "1m30s", 500000 -> "500ms".
std::string FormatDuration(int64_t micros);

// Parses "128MB", "64MiB", "512KB", "1GB" or a plain number of bytes (KB/MB/GB are powers of 1024).
std::optional<int64_t> ParseByteSize(std::string_view s);

// Joins with a separator.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// RFC 4648 §5 base64url without padding; decoding rejects padding, other alphabets and
// non-canonical trailing bits, so each value has exactly one spelling.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// A URL with its password replaced by *** ("postgresql://u:***@h/db"), for messages and logs.
std::string RedactUrlPassword(std::string_view url);

}  // namespace sluice
