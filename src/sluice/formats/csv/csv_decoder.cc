// CSV decoding: a single pass over the buffer. Unquoted fields are views into the input; only a
// quoted field with doubled quotes is unescaped, into a scratch buffer reused for every record.
// Values are staged in a RowAssembler and appended to the columns once the whole record
// converted.
#include <algorithm>
#include <cstring>

#include "sluice/base/strings.h"
#include "sluice/formats/csv/csv.h"
#include "sluice/formats/row_assembler.h"
#include "sluice/formats/text_convert.h"

namespace sluice::formats {
namespace {

constexpr const char* kFieldCount = "field_count";
constexpr const char* kTypeMismatch = "type_mismatch";
constexpr const char* kUnbalancedQuote = "unbalanced_quote";
constexpr const char* kInvalidUtf8 = "invalid_utf8";
constexpr const char* kOversized = "oversized_record";
constexpr const char* kMalformedCsv = "malformed_csv";
constexpr const char* kQuoteFix = "close the quote, or double a quote that is part of the text (\"\")";

// A field of the record being scanned: a view into the input, or (when it had doubled quotes)
// a range of the scratch buffer, which may still move while the record is scanned.
struct FieldRef {
  const char* ptr;  // into the input; nullptr when the text is in scratch
  size_t offset;    // into scratch
  size_t len;
  bool quoted;
};

enum class ScanStatus {
  kOk,
  kUnbalancedQuote,       // a quote still open at the end of the input
  kQuoteTooLong,          // a quote still open max_record_bytes after the record's start
  kTextAfterQuote,        // text between a closing quote and the next delimiter or line end
  kQuoteInUnquotedField,  // a quote inside an unquoted field
};

constexpr size_t kNoField = static_cast<size_t>(-1);

struct ScanResult {
  ScanStatus status = ScanStatus::kOk;
  const char* content_end = nullptr;  // end of the record's text (before the line break)
  const char* next = nullptr;         // start of the next record
  int64_t inner_newlines = 0;         // line breaks inside quoted fields
  size_t bad_field = 0;               // 0-based field of a quote problem
  size_t span_field = kNoField;       // 0-based field of the first quote open across a line break
  bool spans_lines() const { return span_field != kNoField; }
};

bool IsBlankRecord(const std::vector<FieldRef>& f) {
  return f.size() == 1 && f[0].len == 0 && !f[0].quoted;
}

}  // namespace

struct CsvDecoder::Impl {
  Impl(SchemaPtr s, CsvOptions c, DecodeOptions o)
      : schema(std::move(s)), csv(std::move(c)), options(std::move(o)), rows(schema, options) {
    std::memset(special, 0, sizeof special);
    special[static_cast<unsigned char>(csv.delimiter)] = 1;
    special[static_cast<unsigned char>('\n')] = 1;
    special[static_cast<unsigned char>('\r')] = 1;
    special[static_cast<unsigned char>(csv.quote)] = 1;  // strict RFC 4180: quotes only in quoted fields
    for (size_t i = 0; i < schema->size(); ++i) {
      if (static_cast<int>(i) != rows.raw_field()) data_fields.push_back(i);
    }
  }

  std::string_view View(const FieldRef& f) const {
    return f.ptr ? std::string_view(f.ptr, f.len) : std::string_view(scratch.data() + f.offset, f.len);
  }

  bool IsNullMarker(std::string_view v) const {
    for (const auto& m : csv.null_values) {
      if (m.size() == v.size() && std::memcmp(m.data(), v.data(), v.size()) == 0) return true;
    }
    return false;
  }

  // Splits the record starting at `p` into `fields`. A quoted field is looked for its closing
  // quote only up to max_record_bytes past the record's start, so what a quote that is never
  // closed costs is bounded, and the outcome does not depend on where the input is cut.
  ScanResult Scan(const char* p, const char* end) {
    ScanResult r;
    fields.clear();
    scratch.clear();
    const char quote = csv.quote;
    const char delim = csv.delimiter;
    const char* bound = static_cast<size_t>(end - p) > options.max_record_bytes ? p + options.max_record_bytes : end;
    for (;;) {
      if (p < end && *p == quote) {
        const char* open = p;
        const char* q = p + 1;
        const char* seg = q;
        bool escaped = false;
        size_t scratch_start = scratch.size();
        for (;;) {
          const char* hit = q < bound ? static_cast<const char*>(std::memchr(q, quote, static_cast<size_t>(bound - q)))
                                      : nullptr;
          if (hit == nullptr) {
            r.status = bound < end ? ScanStatus::kQuoteTooLong : ScanStatus::kUnbalancedQuote;
            r.bad_field = fields.size();
            // A line exactly as long as the limit whose quote goes on past its line end spans lines.
            const char* stop = std::max(open + 1, bound < end ? bound + 1 : bound);
            if (!r.spans_lines() && std::memchr(open + 1, '\n', static_cast<size_t>(stop - open - 1)) != nullptr) {
              r.span_field = fields.size();
            }
            r.content_end = end;
            r.next = end;
            if (r.status == ScanStatus::kQuoteTooLong && !r.spans_lines()) {
              // One line longer than the limit: it is an oversized record, ending at its line end.
              const char* nl = static_cast<const char*>(std::memchr(bound, '\n', static_cast<size_t>(end - bound)));
              r.content_end = nl ? nl : end;
              if (nl && r.content_end[-1] == '\r') --r.content_end;
              r.next = nl ? nl + 1 : end;
            }
            return r;
          }
          if (hit + 1 < end && hit[1] == quote) {  // a doubled quote stands for one
            scratch.append(seg, hit + 1);
            escaped = true;
            q = hit + 2;
            seg = q;
            continue;
          }
          const int64_t newlines = std::count(open + 1, hit, '\n');
          if (newlines > 0 && !r.spans_lines()) r.span_field = fields.size();
          r.inner_newlines += newlines;
          if (escaped) {
            scratch.append(seg, hit);
            fields.push_back(FieldRef{nullptr, scratch_start, scratch.size() - scratch_start, true});
          } else {
            fields.push_back(FieldRef{open + 1, 0, static_cast<size_t>(hit - open - 1), true});
          }
          p = hit + 1;
          break;
        }
        if (p < end && *p != delim && *p != '\n' && *p != '\r') {
          // Text after a closing quote: the record is not valid CSV. Resume at the next line.
          r.status = ScanStatus::kTextAfterQuote;
          r.bad_field = fields.size() - 1;
          const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
          r.content_end = nl ? nl : end;
          if (r.content_end > p && r.content_end[-1] == '\r') --r.content_end;
          r.next = nl ? nl + 1 : end;
          if (nl == nullptr) r.content_end = end;
          return r;
        }
      } else {
        const char* q = p;
        while (q < end && !special[static_cast<unsigned char>(*q)]) ++q;
        fields.push_back(FieldRef{p, 0, static_cast<size_t>(q - p), false});
        p = q;
        if (p < end && *p == quote) {
          // A quote inside an unquoted field: the record is not valid CSV. Resume at the next line.
          r.status = ScanStatus::kQuoteInUnquotedField;
          r.bad_field = fields.size() - 1;
          const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
          r.content_end = nl ? nl : end;
          if (nl && r.content_end > p && r.content_end[-1] == '\r') --r.content_end;
          r.next = nl ? nl + 1 : end;
          return r;
        }
      }
      if (p >= end) {
        r.content_end = end;
        r.next = end;
        return r;
      }
      if (*p == delim) {
        ++p;
        continue;
      }
      r.content_end = p;
      r.next = (*p == '\r' && p + 1 < end && p[1] == '\n') ? p + 2 : p + 1;
      return r;
    }
  }

  Status MapHeader() {
    column_to_field.assign(fields.size(), -1);
    std::vector<bool> used(schema->size(), false);
    for (size_t c = 0; c < fields.size(); ++c) {
      std::string_view name = View(fields[c]);
      for (size_t fi : data_fields) {
        if (!used[fi] && schema->field(fi).name == name) {
          column_to_field[c] = static_cast<int>(fi);
          used[fi] = true;
          break;
        }
      }
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      if (column_to_field[c] >= 0) continue;
      std::string_view name = View(fields[c]);
      for (size_t fi : data_fields) {
        if (!used[fi] && EqualsIgnoreCase(schema->field(fi).name, name)) {
          column_to_field[c] = static_cast<int>(fi);
          used[fi] = true;
          break;
        }
      }
    }
    return Status::OK();
  }

  void AddError(std::vector<DecodeError>& errors, int64_t line, const char* cls, std::string message,
                std::string_view raw) {
    errors.push_back(DecodeError{line, cls, std::move(message), CapRaw(raw, kMaxRawBytes)});
  }

  // What makes a record that spans lines invalid, for the message of its first line.
  std::string QuoteProblem(const ScanResult& r, int64_t record_line) const {
    const std::string at = "line " + std::to_string(record_line + r.inner_newlines);
    switch (r.status) {
      case ScanStatus::kUnbalancedQuote: return "the input ends with the quote still open";
      case ScanStatus::kQuoteTooLong:
        return "the quote is still open " + std::to_string(options.max_record_bytes) +
               " bytes (the record size limit) after the record's start";
      case ScanStatus::kTextAfterQuote: return at + " has text after the closing quote";
      case ScanStatus::kQuoteInUnquotedField: return at + " has a quote inside an unquoted field";
      case ScanStatus::kOk: break;
    }
    return "the record is not valid CSV";
  }

  // A record that spans lines (a quoted field holds a line break) and is not valid: most often a
  // quote that was never meant to be closed and ran into the lines after it. Only the record's
  // first line is rejected; decoding resumes on the next line, so the lines the quote swallowed
  // are decoded again, each on its own. Returns where decoding resumes.
  const char* Resync(const char* start, int64_t record_line, const ScanResult& r, const std::string& problem,
                     std::vector<DecodeError>& errors) {
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', static_cast<size_t>(r.next - start)));
    const char* text_end = nl;
    if (text_end > start && text_end[-1] == '\r') --text_end;
    AddError(errors, record_line, kUnbalancedQuote,
             "field " + std::to_string(r.span_field + 1) +
                 ": the quote opened on this line runs across line breaks into a record that is not valid (" + problem +
                 "); only this line is rejected and decoding resumes on the next line; " + kQuoteFix,
             std::string_view(start, static_cast<size_t>(text_end - start)));
    line = record_line + 1;
    return nl + 1;
  }

  Status HeaderError(const ScanResult& r) const {
    switch (r.status) {
      case ScanStatus::kUnbalancedQuote: return Status::DataError("CSV header: a quote is never closed");
      case ScanStatus::kQuoteTooLong:
        return Status::DataError("CSV header: a quote is not closed within {} bytes (the record size limit)",
                                 options.max_record_bytes);
      case ScanStatus::kTextAfterQuote: return Status::DataError("CSV header: text after a closing quote");
      case ScanStatus::kQuoteInUnquotedField: return Status::DataError("CSV header: a quote inside an unquoted field");
      case ScanStatus::kOk: break;
    }
    return Status::OK();
  }

  // Decodes the complete records of `data`; with `last` false, a trailing record that may go on
  // in the next chunk (no line end yet, or a quote still open) is left for the next call.
  // Returns the bytes consumed. Line numbers and the header carry over between calls.
  Result<size_t> DecodeChunk(std::string_view data, bool last, const BatchCallback& on_batch,
                             std::vector<DecodeError>& errors) {
    rows.Start(&on_batch);
    const char* base = data.data();
    if (at_start) {
      if (data.size() >= 3 && std::memcmp(data.data(), "\xEF\xBB\xBF", 3) == 0) data.remove_prefix(3);
      else if (!last && data.size() < 3) return size_t{0};
      at_start = false;
      header_pending = csv.header;
      if (!csv.header) {
        column_to_field.clear();
        for (size_t fi : data_fields) column_to_field.push_back(static_cast<int>(fi));
      }
    }
    // One validation pass over the chunk; records are checked one by one only if it fails.
    const bool all_valid_utf8 = IsValidUtf8(data);
    const char* p = data.data();
    const char* end = p + data.size();
    while (p < end) {
      const char* start = p;
      const int64_t record_line = line;
      ScanResult r = Scan(p, end);
      // More of this record may come with the next chunk: leave it unconsumed. A record that
      // spans lines and is already known to be bad needs only its first line, which is here.
      if (!last && (r.status == ScanStatus::kUnbalancedQuote || r.next == end)) {
        bool complete = r.status != ScanStatus::kUnbalancedQuote && ((r.next > r.content_end && end[-1] == '\n') ||
                                                                     (r.status != ScanStatus::kOk && r.spans_lines()));
        if (!complete) {
          SLUICE_RETURN_IF_ERROR(rows.Flush());
          return static_cast<size_t>(start - base);
        }
      }
      if (header_pending && r.status != ScanStatus::kOk) return HeaderError(r);
      if (r.status != ScanStatus::kOk && r.spans_lines()) {
        p = Resync(start, record_line, r, QuoteProblem(r, record_line), errors);
        continue;
      }
      std::string_view text(start, static_cast<size_t>(r.content_end - start));
      if (r.status == ScanStatus::kUnbalancedQuote) {
        // Not across a line break, so this is the last line of the input.
        AddError(errors, record_line, kUnbalancedQuote,
                 "field " + std::to_string(r.bad_field + 1) + ": a quote is never closed; " + kQuoteFix,
                 std::string_view(start, static_cast<size_t>(end - start)));
        break;
      }
      line += r.inner_newlines + (r.next > r.content_end ? 1 : 0);
      p = r.next;
      if (r.status == ScanStatus::kQuoteInUnquotedField) {
        AddError(errors, record_line, kMalformedCsv,
                 "field " + std::to_string(r.bad_field + 1) +
                     ": a quote inside an unquoted field; quote the whole field and double the quote (\"\")",
                 text);
        continue;
      }
      if (r.status == ScanStatus::kTextAfterQuote) {
        AddError(errors, record_line, kMalformedCsv,
                 "field " + std::to_string(r.bad_field + 1) + ": text after a closing quote", text);
        continue;
      }
      if (text.size() > options.max_record_bytes || r.status == ScanStatus::kQuoteTooLong) {
        if (header_pending) return Status::DataError("CSV header is longer than {} bytes", options.max_record_bytes);
        if (r.spans_lines()) {
          p = Resync(start, record_line, r,
                     "the record is " + std::to_string(text.size()) + " bytes, over the limit of " +
                         std::to_string(options.max_record_bytes) + " bytes",
                     errors);
          continue;
        }
        AddError(errors, record_line, kOversized,
                 "record of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                     std::to_string(options.max_record_bytes) + " bytes",
                 text);
        continue;
      }
      if (!all_valid_utf8 && !IsValidUtf8(text)) {
        if (header_pending) return Status::DataError("CSV header is not valid UTF-8");
        AddError(errors, record_line, kInvalidUtf8, "invalid UTF-8 in the record", text);
        continue;
      }
      if (header_pending) {
        if (IsBlankRecord(fields)) continue;
        header_pending = false;
        SLUICE_RETURN_IF_ERROR(MapHeader());
        continue;
      }
      const size_t expected = column_to_field.size();
      if (fields.size() != expected) {
        // A blank line holds one empty field; it is a record only where records have one field.
        if (IsBlankRecord(fields)) continue;
        if (r.spans_lines()) {
          p = Resync(start, record_line, r,
                     "the record has " + std::to_string(fields.size()) + " fields, not " + std::to_string(expected),
                     errors);
          continue;
        }
        AddError(errors, record_line, kFieldCount,
                 "expected " + std::to_string(expected) + " fields, got " + std::to_string(fields.size()), text);
        continue;
      }
      rows.BeginRow();
      bool ok = true;
      for (size_t c = 0; c < expected; ++c) {
        int fi = column_to_field[c];
        if (fi < 0) continue;
        const FieldRef& f = fields[c];
        std::string_view v = View(f);
        FieldValue& out = rows.Set(static_cast<size_t>(fi));
        if (!f.quoted && IsNullMarker(v)) {
          out.SetNull();
          continue;
        }
        const DataType& type = schema->field(static_cast<size_t>(fi)).type;
        if (!ConvertText(v, type, out)) {
          AddError(errors, record_line, kTypeMismatch,
                   "field '" + schema->field(static_cast<size_t>(fi)).name + "' (column " + std::to_string(c + 1) +
                       "): expected " + type.ToString() + ", got \"" + ShortenForMessage(v) + "\"",
                   text);
          ok = false;
          break;
        }
      }
      if (ok) SLUICE_RETURN_IF_ERROR(rows.CommitRow(record_line, text));
    }
    SLUICE_RETURN_IF_ERROR(rows.Flush());
    return data.size() + static_cast<size_t>(data.data() - base);
  }

  Status Decode(std::string_view data, const BatchCallback& on_batch, std::vector<DecodeError>& errors) {
    auto r = DecodeChunk(data, true, on_batch, errors);
    return r.ok() ? Status::OK() : r.status();
  }

  SchemaPtr schema;
  CsvOptions csv;
  DecodeOptions options;
  RowAssembler rows;
  bool at_start = true;
  bool header_pending = false;
  int64_t line = 1;
  std::vector<size_t> data_fields;   // schema fields other than "_raw", in order
  std::vector<int> column_to_field;  // per CSV column: schema field, or -1 (ignored)
  uint8_t special[256];              // bytes that end an unquoted field
  std::vector<FieldRef> fields;
  std::string scratch;
};

CsvDecoder::CsvDecoder(SchemaPtr schema, CsvOptions csv, DecodeOptions options)
    : impl_(std::make_unique<Impl>(std::move(schema), std::move(csv), std::move(options))) {}
CsvDecoder::~CsvDecoder() = default;

Status CsvDecoder::Decode(std::string_view data, const BatchCallback& on_batch, std::vector<DecodeError>& errors) {
  return impl_->Decode(data, on_batch, errors);
}

Result<size_t> CsvDecoder::DecodeChunk(std::string_view data, bool last, const BatchCallback& on_batch,
                                       std::vector<DecodeError>& errors) {
  return impl_->DecodeChunk(data, last, on_batch, errors);
}

}  // namespace sluice::formats
