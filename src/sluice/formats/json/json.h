// JSON: decoding NDJSON or a JSON array (detected from the first non-blank byte) straight into
// typed columns with simdjson On-Demand, and encoding batches as NDJSON.
//
// Mapping (decoder):
//   - each schema field is looked up by name; a dotted name ("data.page") walks nested objects;
//   - a missing key or JSON null -> NULL (the validate transform enforces `required`);
//   - bool <- true/false; int32/int64 <- integral numbers in range; float64 <- any number;
//     decimal(p,s) <- a number or numeric string, parsed exactly from its text, rounded half away
//     from zero to s digits, error if it needs more than p digits;
//     string <- a string (objects/arrays for a string field are kept as their JSON text);
//     date <- "YYYY-MM-DD"; timestamp <- an ISO-8601 string, or an integer of epoch milliseconds;
//     binary <- a base64 string;
//   - anything else is a type_mismatch error for the whole record; a record that does not parse
//     is malformed_json; invalid UTF-8 is invalid_utf8; nesting too deep is too_deep.
//   - float64 also takes the strings "NaN", "Infinity", "-Infinity" (what the encoder writes for
//     them); timestamps must lie in years 0000..9999. No other coercion: "12" is not an int.
//   - a dotted name also matches a flat top-level key ("data.page": ...); unknown keys are
//     ignored but still validated (a malformed value anywhere rejects the record).
//   - a repeated key: the last occurrence wins (per field path), as in most JSON readers.
//   - NDJSON: one object per line (LF or CRLF); blank lines are skipped; a line longer than
//     max_record_bytes is oversized_record. Line numbers count every line, blank ones too.
//   - a JSON array: elements with a type error are rejected one by one; a malformed element (or
//     invalid UTF-8 or trailing content anywhere) cannot be resynchronized, so decoding stops
//     with the rows decoded so far plus one error that says so and holds the rest as its raw.
//   - a string field named "_raw" receives the record's text (the line, or the element).
//   - objects and arrays nested more than kMaxJsonNesting levels deep (the record itself is
//     level 1), wherever they are in the record, are too_deep; decoding goes on with the next
//     record (NDJSON) or element (array). This bounds every recursion over a record's values.
// Encoder: one object per active row; dotted names become nested objects again; decimals are
// written as JSON numbers with their exact digits, dates/timestamps as ISO-8601 strings, NULL as
// null (never omitted), floats in shortest round-trip form, binary as base64. A dotted name
// that collides with another field ("data" and "data.page") is written flat under its full name.
// Thread-safety: a decoder/encoder instance is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/formats/formats.h"

namespace sluice::formats {

// How deep objects and arrays may nest in a record (the record object is level 1).
inline constexpr int kMaxJsonNesting = 1000;

class JsonDecoder {
 public:
  JsonDecoder(SchemaPtr schema, DecodeOptions options);
  ~JsonDecoder();
  // Decodes a whole buffer (kInputPadding readable bytes past data.end()). `first_line` numbers
  // the first line of `data`. Full batches go to `on_batch` as they fill; the last partial batch
  // too. Errors are appended to `errors`.
  Status Decode(std::string_view data, int64_t first_line, const BatchCallback& on_batch,
                std::vector<DecodeError>& errors);
  // NDJSON: the number of the line after the last one the previous Decode() consumed (so the
  // next chunk of a stream starts there).
  int64_t next_line() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class JsonEncoder {
 public:
  explicit JsonEncoder(SchemaPtr schema);
  ~JsonEncoder();
  // Appends one line per active row of `batch` to `out`.
  void Encode(const Batch& batch, std::string& out);
  // Appends one row as a JSON object (no newline); used for dead-letter payloads.
  void EncodeRow(const Batch& batch, uint32_t physical_row, std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends `s` as a JSON string literal (quotes and escapes).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace sluice::formats
