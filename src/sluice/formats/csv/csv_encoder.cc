// CSV encoding: a header line, then one line per active row, LF line ends. A field is quoted
// only when it has to be: it holds the delimiter, the quote or a line break, or it would read
// back as NULL (it equals a null marker).
#include <cstring>

#include "sluice/formats/csv/csv.h"
#include "sluice/formats/text_convert.h"

namespace sluice::formats {

struct CsvEncoder::Impl {
  Impl(SchemaPtr s, CsvOptions c) : schema(std::move(s)), csv(std::move(c)) {
    null_text = csv.null_values.empty() ? std::string() : csv.null_values.front();
  }

  bool NeedsQuotes(std::string_view v) const {
    for (char c : v) {
      if (c == csv.delimiter || c == csv.quote || c == '\n' || c == '\r') return true;
    }
    for (const auto& m : csv.null_values) {
      if (m == v) return true;
    }
    return false;
  }

  void AppendField(std::string& out, std::string_view v) const {
    if (!NeedsQuotes(v)) {
      out += v;
      return;
    }
    out += csv.quote;
    const char* p = v.data();
    const char* end = p + v.size();
    for (;;) {
      const char* q = static_cast<const char*>(std::memchr(p, csv.quote, static_cast<size_t>(end - p)));
      if (q == nullptr) break;
      out.append(p, q + 1);
      out += csv.quote;  // doubled
      p = q + 1;
    }
    out.append(p, end);
    out += csv.quote;
  }

  SchemaPtr schema;
  CsvOptions csv;
  std::string null_text;
  std::string scratch;  // formatted non-string values, reused
};

CsvEncoder::CsvEncoder(SchemaPtr schema, CsvOptions csv)
    : impl_(std::make_unique<Impl>(std::move(schema), std::move(csv))) {}
CsvEncoder::~CsvEncoder() = default;

void CsvEncoder::EncodeHeader(std::string& out) {
  const Schema& s = *impl_->schema;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0) out += impl_->csv.delimiter;
    impl_->AppendField(out, s.field(i).name);
  }
  out += '\n';
}

void CsvEncoder::Encode(const Batch& batch, std::string& out) {
  Impl& m = *impl_;
  const size_t n = batch.num_columns();
  batch.ForEachActive([&](uint32_t row) {
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += m.csv.delimiter;
      const Column& col = *batch.column(i);
      if (col.IsNull(row)) {
        out += m.null_text;
      } else if (col.type().id == TypeId::kString) {
        m.AppendField(out, col.GetString(row));
      } else {
        m.scratch.clear();
        AppendValueText(m.scratch, col, row);
        m.AppendField(out, m.scratch);
      }
    }
    out += '\n';
  });
}

}  // namespace sluice::formats
