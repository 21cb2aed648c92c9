#include "sluice/types/data_type.h"

#include <cctype>
#include <charconv>

namespace sluice {

int DataType::byte_width() const {
  switch (id) {
    case TypeId::kBool: return 1;
    case TypeId::kInt32:
    case TypeId::kDate: return 4;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal:
    case TypeId::kFloat64: return 8;
    default: return 0;
  }
}

std::string DataType::ToString() const {
  switch (id) {
    case TypeId::kNull: return "null";
    case TypeId::kBool: return "bool";
    case TypeId::kInt32: return "int32";
    case TypeId::kInt64: return "int64";
    case TypeId::kFloat64: return "float64";
    case TypeId::kDecimal: return fmt::format("decimal({},{})", precision, scale);
    case TypeId::kString: return "string";
    case TypeId::kBinary: return "binary";
    case TypeId::kDate: return "date";
    case TypeId::kTimestamp: return "timestamp";
  }
  return "?";
}

Result<DataType> ParseDataType(std::string_view raw) {
  std::string name;
  for (char c : raw) {
    if (!std::isspace(static_cast<unsigned char>(c))) name += static_cast<char>(std::tolower(c));
  }
  if (name == "bool" || name == "boolean") return DataType::Bool();
  if (name == "int" || name == "int32" || name == "integer") return DataType::Int32();
  if (name == "int64" || name == "bigint" || name == "long") return DataType::Int64();
  if (name == "float" || name == "float64" || name == "double") return DataType::Float64();
  if (name == "string" || name == "text" || name == "varchar") return DataType::String();
  if (name == "binary" || name == "bytes") return DataType::Binary();
  if (name == "date") return DataType::Date();
  if (name == "timestamp") return DataType::Timestamp();
  if (name.rfind("decimal(", 0) == 0 && name.back() == ')') {
    std::string_view args(name.data() + 8, name.size() - 9);
    auto comma = args.find(',');
    int p = 0, s = 0;
    auto parse = [](std::string_view v, int& out) {
      auto r = std::from_chars(v.data(), v.data() + v.size(), out);
      return r.ec == std::errc() && r.ptr == v.data() + v.size();
    };
    bool ok = comma == std::string_view::npos ? parse(args, p)
                                              : parse(args.substr(0, comma), p) &&
                                                    parse(args.substr(comma + 1), s);
    if (!ok) {
      return Status::InvalidArgument("type '{}': write decimal(precision,scale), e.g. decimal(18,2)",
                                     raw);
    }
    if (p < 1 || p > kMaxDecimalPrecision || s < 0 || s > p) {
      return Status::InvalidArgument(
          "type '{}': decimal precision must be 1..{} and scale 0..precision", raw,
          kMaxDecimalPrecision);
    }
    return DataType::Decimal(p, s);
  }
  return Status::InvalidArgument(
      "unknown type '{}'; use one of bool, int32, int64, float64, decimal(p,s), string, binary, "
      "date, timestamp",
      raw);
}

}  // namespace sluice
