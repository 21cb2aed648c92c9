// Reading a bound tree back: its canonical SQL (ToSql, also the text of casts and literals and the
// result column name of an aggregate) and the questions expr.h answers about it (result type,
// columns read, pii, aggregates).
#include <algorithm>
#include <cctype>
#include <set>

#include "sluice/expr/binder_internal.h"

namespace sluice::expr {
namespace {

std::string QuoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

bool IsPlainIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') continue;
    if (c == '.' && i + 1 < s.size() && s[i + 1] != '.') continue;
    return false;
  }
  static const char* kReserved[] = {"and",  "or",       "not",      "in",   "is",        "null",
                                    "true", "false",    "between",  "like", "ilike",     "case",
                                    "when", "then",     "else",     "end",  "cast",      "try_cast",
                                    "as",   "interval", "distinct", "date", "timestamp", "current_timestamp"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* k : kReserved) {
    if (lower == k) return false;
  }
  return true;
}

bool NeedsParens(const BoundExpr& e) {
  if (e.kind == BoundKind::kAnd || e.kind == BoundKind::kOr) return true;
  if (e.kind == BoundKind::kLiteral && !e.value.is_null() && e.value.type().is_numeric()) {
    return LiteralSql(e).starts_with("-");
  }
  if (e.kind != BoundKind::kCall) return false;
  return e.style == SqlStyle::kInfix || e.style == SqlStyle::kPrefix || e.style == SqlStyle::kPostfix ||
         e.style == SqlStyle::kIn || e.style == SqlStyle::kLike;
}

void RenderChild(const BoundExpr& e, std::string& out) {
  bool p = NeedsParens(e);
  if (p) out += '(';
  Render(e, out);
  if (p) out += ')';
}

void RenderArgs(const std::vector<BoundExprPtr>& args, size_t from, std::string& out) {
  for (size_t i = from; i < args.size(); ++i) {
    if (i > from) out += ", ";
    Render(*args[i], out);
  }
}

}  // namespace

std::string LiteralSql(const BoundExpr& e) {
  const Value& v = e.value;
  if (e.name == "INTERVAL") return "INTERVAL " + QuoteString(v.string_value());
  if (v.is_null()) return "NULL";
  switch (v.type().id) {
    case TypeId::kBool: return v.bool_value() ? "TRUE" : "FALSE";
    case TypeId::kFloat64: {
      std::string s = fmt::format("{}", v.double_value());
      if (s.find_first_of("e.ni") == std::string::npos) s += "e0";
      else if (s.find_first_of("eni") == std::string::npos)
        s += "e0";
      return s;
    }
    case TypeId::kString: return QuoteString(v.string_value());
    case TypeId::kBinary: return "CAST(" + QuoteString(v.string_value()) + " AS binary)";
    case TypeId::kDate: return "DATE '" + v.ToString() + "'";
    case TypeId::kTimestamp: return "TIMESTAMP '" + v.ToString() + "'";
    default: return v.ToString();
  }
}

void Render(const BoundExpr& e, std::string& out) {
  switch (e.kind) {
    case BoundKind::kLiteral: out += LiteralSql(e); return;
    case BoundKind::kColumn: {
      if (IsPlainIdentifier(e.name)) {
        out += e.name;
      } else {
        out += '"';
        for (char c : e.name) {
          out += c;
          if (c == '"') out += '"';
        }
        out += '"';
      }
      return;
    }
    case BoundKind::kNow: out += "now()"; return;
    case BoundKind::kAnd:
    case BoundKind::kOr:
      RenderChild(*e.args[0], out);
      out += e.kind == BoundKind::kAnd ? " AND " : " OR ";
      RenderChild(*e.args[1], out);
      return;
    case BoundKind::kCase: {
      out += "CASE";
      size_t pairs = e.args.size() / 2;
      for (size_t i = 0; i < pairs; ++i) {
        out += " WHEN ";
        Render(*e.args[2 * i], out);
        out += " THEN ";
        Render(*e.args[2 * i + 1], out);
      }
      if (e.has_else) {
        out += " ELSE ";
        Render(*e.args.back(), out);
      }
      out += " END";
      return;
    }
    case BoundKind::kCoalesce:
      out += "coalesce(";
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case BoundKind::kAggregate:
      out += e.name;
      out += '(';
      if (e.aggregate == AggregateKind::kCountStar) out += '*';
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case BoundKind::kCall: break;
  }
  switch (e.style) {
    case SqlStyle::kFunction:
      out += e.name;
      out += '(';
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case SqlStyle::kInfix:
      RenderChild(*e.args[0], out);
      out += ' ';
      out += e.name;
      out += ' ';
      RenderChild(*e.args[1], out);
      return;
    case SqlStyle::kPrefix:
      out += e.name;
      if (e.name == "NOT") out += ' ';
      RenderChild(*e.args[0], out);
      return;
    case SqlStyle::kPostfix:
      RenderChild(*e.args[0], out);
      out += e.name;
      return;
    case SqlStyle::kCast:
      out += e.try_cast ? "TRY_CAST(" : "CAST(";
      Render(*e.args[0], out);
      out += " AS ";
      out += e.type.ToString();
      out += ')';
      return;
    case SqlStyle::kIn:
      RenderChild(*e.args[0], out);
      out += " IN (";
      RenderArgs(e.args, 1, out);
      out += ')';
      return;
    case SqlStyle::kLike:
      RenderChild(*e.args[0], out);
      out += e.params[0] ? " ILIKE " : " LIKE ";
      RenderChild(*e.args[1], out);
      return;
  }
}

namespace {

void CollectColumns(const BoundExpr& e, std::set<std::string>& out) {
  if (e.kind == BoundKind::kColumn) out.insert(e.name);
  for (const auto& a : e.args) CollectColumns(*a, out);
}

void CollectAggregates(const BoundExpr& e, std::vector<AggregateCall>& out) {
  if (e.kind == BoundKind::kAggregate) {
    for (const auto& c : out) {
      if (c.sql == e.text) return;
    }
    out.push_back(AggregateCall{e.aggregate, e.name, e.args.empty() ? nullptr : e.args[0], e.type, e.text});
    return;
  }
  for (const auto& a : e.args) CollectAggregates(*a, out);
}

}  // namespace

DataType ResultType(const BoundExpr& expr) { return expr.type; }
bool MaybeNull(const BoundExpr& expr) { return expr.maybe_null; }

std::vector<std::string> ReferencedColumns(const BoundExpr& expr) {
  std::set<std::string> names;
  CollectColumns(expr, names);
  return std::vector<std::string>(names.begin(), names.end());
}

bool IsPii(const BoundExpr& expr, const Schema& input) {
  switch (expr.kind) {
    case BoundKind::kLiteral:
    case BoundKind::kNow: return false;
    case BoundKind::kColumn: {
      auto i = input.IndexOf(expr.name);
      return !i || input.field(*i).pii;
    }
    case BoundKind::kAggregate: {
      if (expr.aggregate == AggregateKind::kCount || expr.aggregate == AggregateKind::kCountStar ||
          expr.aggregate == AggregateKind::kCountDistinct || expr.aggregate == AggregateKind::kApproxCountDistinct) {
        return false;
      }
      // Over the aggregate operator's results, the aggregate is a column of its own.
      if (auto i = input.IndexOf(expr.text)) return input.field(*i).pii;
      break;
    }
    case BoundKind::kCall:
      if (expr.name == "mask" || expr.name == "hash") return false;
      break;
    default: break;
  }
  for (const auto& a : expr.args) {
    if (IsPii(*a, input)) return true;
  }
  return false;
}

std::string AsColumnName(const BoundExpr& expr) { return expr.kind == BoundKind::kColumn ? expr.name : std::string(); }

std::string ToSql(const BoundExpr& expr) {
  std::string out;
  Render(expr, out);
  return out;
}

std::vector<AggregateCall> FindAggregates(const BoundExpr& expr) {
  std::vector<AggregateCall> out;
  CollectAggregates(expr, out);
  return out;
}

bool HasAggregates(const BoundExpr& expr) {
  if (expr.kind == BoundKind::kAggregate) return true;
  for (const auto& a : expr.args) {
    if (HasAggregates(*a)) return true;
  }
  return false;
}

namespace {

void CollectOutside(const BoundExpr& e, std::vector<std::string>& out) {
  if (e.kind == BoundKind::kAggregate) return;
  if (e.kind == BoundKind::kColumn) out.push_back(e.name);
  for (const auto& a : e.args) {
    if (a) CollectOutside(*a, out);
  }
}

}  // namespace

std::vector<std::string> ColumnsOutsideAggregates(const BoundExpr& expr) {
  std::vector<std::string> out;
  CollectOutside(expr, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sluice::expr
