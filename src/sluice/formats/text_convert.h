// Text <-> typed value conversion shared by every record format, so that "what text is a valid
// decimal(18,2) / timestamp / bool" has one answer whether it comes from a CSV field or from a
// string-encoded JSON value, and encoders write what decoders read back.
//
// Accepted text (decoders):
//   bool       true/false/1/0, case-insensitive
//   int32/64   optional sign and decimal digits, in range
//   float64    decimal or scientific notation; nan, inf, infinity (any case, optional sign)
//   decimal    "-12.345", "1.5e3": exact digits, rounded half away from zero to the scale;
//              rejected if the integer part needs more than precision - scale digits
//   date       YYYY-MM-DD
//   timestamp  ISO-8601 (see types/temporal.h); where allowed, an integer of epoch milliseconds;
//              years 0000..9999
//   binary     base64 (standard alphabet, padding optional)
// Canonical text (encoders): the inverse, with floats in shortest round-trip form.
// Thread-safety: free functions, reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/columnar/column.h"
#include "sluice/types/data_type.h"

namespace sluice::formats {

// One decoded value of the row being assembled (see row_assembler.h). Which member holds the
// value depends on the field's type: `int_value` for bool, int32, int64, date, timestamp and
// decimal (scaled), `float_value` for float64, `bytes` for string and binary. `bytes` may point
// into `storage` (base64 output, unescaped text) or into the decoder's input.
// Not copyable: `bytes` may point into `storage`.
struct FieldValue {
  FieldValue() = default;
  FieldValue(const FieldValue&) = delete;
  FieldValue& operator=(const FieldValue&) = delete;

  bool is_null = true;
  int64_t int_value = 0;
  double float_value = 0;
  std::string_view bytes;
  std::string storage;

  void SetNull() { is_null = true; }
  void SetInt(int64_t v) {
    is_null = false;
    int_value = v;
  }
  void SetFloat(double v) {
    is_null = false;
    float_value = v;
  }
  void SetBytes(std::string_view v) {
    is_null = false;
    bytes = v;
  }
  // Points `bytes` at `storage` (after the caller filled it).
  void SetBytesFromStorage() {
    is_null = false;
    bytes = storage;
  }
};

// ----- text -> value. Each returns false (or nullopt) for text that is not a valid value.
// (A bool is sluice::ParseBool with BoolSpellings::kData, in base/strings.h.)
bool ParseInt64Text(std::string_view s, int64_t& out);
bool ParseInt32Text(std::string_view s, int32_t& out);
bool ParseFloat64Text(std::string_view s, double& out);
// Like sluice::ParseDecimal, plus an exponent ("1.25e2").
std::optional<int64_t> ParseDecimalText(std::string_view s, int precision, int scale);
// ISO-8601; also an integer of epoch milliseconds when `allow_epoch_millis`. Only years
// 0000..9999 are accepted (see TimestampInRange).
bool ParseTimestampText(std::string_view s, bool allow_epoch_millis, int64_t& micros);
// Epoch milliseconds -> microseconds; false if outside TimestampInRange.
bool EpochMillisToMicros(int64_t millis, int64_t& micros);
// True for 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z, the instants ISO-8601 text can
// hold, so every accepted timestamp can be written back out and read again.
bool TimestampInRange(int64_t micros);
// Decodes base64 into `out` (replacing its contents).
bool DecodeBase64(std::string_view s, std::string& out);
// True if `s` is a JSON number per RFC 8259 (no leading zeros, no '+', digits after '.').
bool IsJsonNumber(std::string_view s);

// Converts `text` to a value of `type` into `out`. For string the text is taken verbatim (it
// must stay alive until the value is used); for other types surrounding blanks are ignored and
// timestamps also accept epoch milliseconds. Returns false if the text does not convert.
bool ConvertText(std::string_view text, const DataType& type, FieldValue& out);

// ----- value -> text
void AppendBase64(std::string& out, std::string_view bytes);
// Shortest text that reads back as the same double; "nan", "inf", "-inf" when not finite.
void AppendFloat64(std::string& out, double v);
void AppendInt64(std::string& out, int64_t v);
// Appends the canonical text of row `row` of `col` (which must not be NULL there): true/false,
// digits, exact decimals, ISO dates and timestamps, raw string bytes, base64 for binary.
void AppendValueText(std::string& out, const Column& col, size_t row);

// ----- messages
// `s` cut to about `max_bytes` at a UTF-8 character boundary, with "..." when cut; invalid UTF-8
// bytes are replaced by '?', so the result is always safe to put in a message.
std::string ShortenForMessage(std::string_view s, size_t max_bytes = 48);
// `s` cut to at most `max_bytes` (the raw payload of a dead letter).
inline std::string CapRaw(std::string_view s, size_t max_bytes) {
  return std::string(s.substr(0, max_bytes));
}

}  // namespace sluice::formats
