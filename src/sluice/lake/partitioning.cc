#include "sluice/lake/partitioning.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "sluice/base/digest.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::lake {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// Hive's FileUtils / Spark's ExternalCatalogUtils escape set.
bool NeedsHiveEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"': case '#': case '%': case '\'': case '*': case '/': case ':': case '=': case '?':
    case '\\': case '{': case '[': case ']': case '^':
      return true;
    default:
      return false;
  }
}

void AppendEscaped(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// RFC 3986 unreserved characters plus the sub-delimiters and separators that are legal in a path.
bool IsUriPathChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '/': case '=': case ':': case '@': case '!':
    case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string EscapePartitionValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (NeedsHiveEscape(c)) {
      AppendEscaped(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string UnescapePartitionValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexDigitValue(text[i + 1]), lo = HexDigitValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string PartitionDirectory(const std::vector<std::string>& columns,
                               const std::vector<std::optional<std::string>>& values) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += '/';
    out += EscapePartitionValue(columns[i]);
    out += '=';
    if (values[i].has_value()) {
      out += EscapePartitionValue(*values[i]);
    } else {
      out += kHiveDefaultPartition;
    }
  }
  return out;
}

bool IsPartitionableType(DataType type) {
  return type.id != TypeId::kBinary && type.id != TypeId::kNull;
}

Result<std::optional<std::string>> FormatPartitionValue(const Column& column, size_t row) {
  if (column.IsNull(row)) return std::optional<std::string>();
  const DataType& t = column.type();
  std::string out;
  switch (t.id) {
    case TypeId::kBool:
      out = column.Get<uint8_t>(row) ? "true" : "false";
      break;
    case TypeId::kInt32:
      out = std::to_string(column.Get<int32_t>(row));
      break;
    case TypeId::kInt64:
      out = std::to_string(column.Get<int64_t>(row));
      break;
    case TypeId::kFloat64:
      out = fmt::format("{}", column.Get<double>(row));
      break;
    case TypeId::kDecimal:
      out = FormatDecimal(column.Get<int64_t>(row), t.scale);
      break;
    case TypeId::kString:
      out = std::string(column.GetString(row));
      break;
    case TypeId::kDate:
      out = FormatDate(column.Get<int32_t>(row));
      break;
    case TypeId::kTimestamp:
      out = FormatTimestamp(column.Get<int64_t>(row));
      break;
    default:
      return Status::InvalidArgument("a {} column cannot be a partition column", t.ToString());
  }
  // The protocol reads an empty partition value as NULL; say so rather than pretend otherwise.
  if (out.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(out));
}

Result<Value> ParsePartitionValue(const std::optional<std::string>& text, DataType type) {
  if (!text.has_value() || text->empty()) return Value::Null(type);
  const std::string& s = *text;
  auto bad = [&]() {
    return Status::DataError("partition value '{}' is not a valid {}", s, type.ToString());
  };
  switch (type.id) {
    case TypeId::kBool:
      if (s == "true") return Value::Bool(true);
      if (s == "false") return Value::Bool(false);
      return bad();
    case TypeId::kInt32: {
      int32_t v = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return bad();
      return Value::Int32(v);
    }
    case TypeId::kInt64: {
      int64_t v = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return bad();
      return Value::Int64(v);
    }
    case TypeId::kFloat64: {
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) return bad();
      return Value::Float64(v);
    }
    case TypeId::kDecimal: {
      auto v = ParseDecimal(s, type.precision, type.scale);
      if (!v) return bad();
      return Value::Decimal(*v, type.precision, type.scale);
    }
    case TypeId::kString:
      return Value::String(s);
    case TypeId::kDate: {
      auto v = ParseDate(s);
      if (!v) return bad();
      return Value::Date(*v);
    }
    case TypeId::kTimestamp: {
      auto v = ParseTimestamp(s);
      if (!v) return bad();
      return Value::Timestamp(*v);
    }
    default:
      return Status::DataError("a {} column cannot be a partition column", type.ToString());
  }
}

std::string EncodeLogPath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (IsUriPathChar(c)) {
      out += static_cast<char>(c);
    } else {
      AppendEscaped(out, c);
    }
  }
  return out;
}

Result<std::string> DecodeLogPath(std::string_view uri) {
  std::string out;
  out.reserve(uri.size());
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] != '%') {
      out += uri[i];
      continue;
    }
    int hi = i + 2 < uri.size() ? HexDigitValue(uri[i + 1]) : -1;
    int lo = i + 2 < uri.size() ? HexDigitValue(uri[i + 2]) : -1;
    if (hi < 0 || lo < 0) return Status::DataError("malformed %-escape in log path '{}'", uri);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace sluice::lake
