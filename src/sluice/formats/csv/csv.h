// CSV per RFC 4180: quoted fields with doubled quotes, embedded delimiters and newlines (CRLF or
// LF), an optional header, a configurable delimiter and null markers.
//
// Decoder: with a header, columns map to schema fields by name (extra columns are ignored; a
// schema field missing from the header is NULL in every row); without one, by position. Text is
// converted to the field's type (see json.h for the accepted forms; bool accepts true/false/1/0,
// case-insensitive). A row with the wrong number of fields is field_count; a value that does not
// convert is type_mismatch; invalid UTF-8 is invalid_utf8; a record longer than
// max_record_bytes is oversized_record. On the record's own line, text after a closing quote or a
// quote inside an unquoted field is malformed_csv, and a quote still open at the end of the input
// is unbalanced_quote.
// Resynchronization: a record that spans lines (a quoted field holds a line break) must be valid:
// its quotes close before the end of the input and within max_record_bytes of its start, only a
// delimiter or a line end follows a closing quote, no unquoted field holds a quote, it has the
// expected number of fields and fits max_record_bytes. Otherwise — most often a stray quote that
// ran into the lines after it — only its first line is rejected (unbalanced_quote, with that
// line's number and text) and decoding resumes on the next line, so the lines it swallowed are
// decoded again as records of their own. Since a quote is followed at most max_record_bytes, the
// result does not depend on where the input is cut into chunks.
// Null markers apply to unquoted fields only: with the default {""}, `a,,b` has a NULL and
// `a,"",b` an empty string. Header names match schema fields exactly first, then ignoring case;
// the first matching column wins. Non-string values may have surrounding blanks; strings are
// kept verbatim. A blank line is skipped unless records have exactly one field (then it is one
// empty field). A header that cannot be read (invalid UTF-8, a quote problem) fails the whole
// input with a DataError status.
// Encoder: a header line, then one line per active row (LF line ends); fields quoted only when
// needed (delimiter, quote, CR/LF, or text equal to a null marker); NULL is written as the first
// null marker (empty by default).
// Thread-safety: one thread per instance.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/formats/formats.h"

namespace sluice::formats {

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  bool header = true;
  std::vector<std::string> null_values = {""};
};

class CsvDecoder {
 public:
  CsvDecoder(SchemaPtr schema, CsvOptions csv, DecodeOptions options);
  ~CsvDecoder();
  // Decodes a whole input (one call per file).
  Status Decode(std::string_view data, const BatchCallback& on_batch, std::vector<DecodeError>& errors);
  // Streaming: decodes the complete records of a chunk and returns the bytes consumed; a trailing
  // record that may continue in the next chunk is left unconsumed unless `last`. The caller passes
  // the unconsumed tail again, followed by more input. Line numbers and the header carry over.
  Result<size_t> DecodeChunk(std::string_view data, bool last, const BatchCallback& on_batch,
                             std::vector<DecodeError>& errors);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CsvEncoder {
 public:
  CsvEncoder(SchemaPtr schema, CsvOptions csv);
  ~CsvEncoder();
  void EncodeHeader(std::string& out);
  void Encode(const Batch& batch, std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::formats
