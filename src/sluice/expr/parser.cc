// Lexer and Pratt parser for the expression language.
//
// Binding powers, loosest first (PostgreSQL's order, so that `a = b IS NULL` and
// `x || y + 1` read the way SQL users expect):
//   OR < AND < NOT < IS < comparisons < IN/BETWEEN/LIKE/ILIKE < || < + - < * / % < unary - < ::
#include <cctype>
#include <charconv>
#include <limits>

#include "sluice/base/strings.h"
#include "sluice/expr/ast.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {

const char* OpSymbol(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kConcat: return "||";
    case Op::kEq: return "=";
    case Op::kNe: return "<>";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kAnd: return "AND";
    case Op::kOr: return "OR";
    case Op::kNot: return "NOT";
    case Op::kNeg: return "-";
  }
  return "?";
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsUnitChar(char c) { return std::isalpha(static_cast<unsigned char>(c)); }

}  // namespace

Result<int64_t> ParseIntervalMicros(std::string_view text) {
  std::string_view s = text;
  int64_t total = 0;
  bool any = false;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  skip_space();
  while (i < s.size()) {
    bool neg = false;
    if (s[i] == '-' || s[i] == '+') {
      neg = s[i] == '-';
      ++i;
    }
    int64_t n = 0;
    auto r = std::from_chars(s.data() + i, s.data() + s.size(), n);
    if (r.ec != std::errc()) break;
    i = static_cast<size_t>(r.ptr - s.data());
    skip_space();
    size_t u = i;
    while (i < s.size() && IsUnitChar(s[i])) ++i;
    std::string unit = Lower(s.substr(u, i - u));
    int64_t mul = 0;
    if (unit == "us" || unit == "microsecond" || unit == "microseconds") mul = 1;
    else if (unit == "ms" || unit == "millisecond" || unit == "milliseconds") mul = 1000;
    else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
      mul = kMicrosPerSecond;
    else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
      mul = 60 * kMicrosPerSecond;
    else if (unit == "h" || unit == "hour" || unit == "hours") mul = 3600 * kMicrosPerSecond;
    else if (unit == "d" || unit == "day" || unit == "days") mul = kMicrosPerDay;
    else if (unit == "w" || unit == "week" || unit == "weeks") mul = 7 * kMicrosPerDay;
    else if (unit.starts_with("month") || unit.starts_with("year") || unit == "mon" || unit == "y")
      return Status::InvalidArgument(
          "interval '{}': months and years are not fixed durations; use days or weeks", text);
    else
      return Status::InvalidArgument(
          "interval '{}': unknown unit '{}' (use microseconds, milliseconds, seconds, minutes, "
          "hours, days or weeks)",
          text, unit);
    int64_t part;
    if (__builtin_mul_overflow(n, mul, &part) || __builtin_add_overflow(total, neg ? -part : part, &total))
      return Status::InvalidArgument("interval '{}' is out of range", text);
    any = true;
    skip_space();
    if (i < s.size() && s[i] == ',') ++i;
    skip_space();
  }
  if (!any || i != s.size()) {
    return Status::InvalidArgument("cannot parse interval '{}'; write e.g. '1 hour', '30 minutes', '1h30m'",
                                   text);
  }
  return total;
}

namespace {

enum class Tok : uint8_t {
  kEnd, kInteger, kDecimal, kFloat, kString, kIdent, kQuotedIdent, kSymbol,
};

struct Token {
  Tok kind;
  size_t begin;  // byte offsets into the source
  size_t end;
  std::string value;  // unescaped string / identifier / symbol text
};

// 1-based character (code point) position of a byte offset.
int CharPos(std::string_view text, size_t offset) {
  int pos = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++pos;
  }
  return pos;
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) ++i_;
      if (i_ >= text_.size()) break;
      SLUICE_ASSIGN_OR_RETURN(Token t, Next());
      out.push_back(std::move(t));
    }
    out.push_back(Token{Tok::kEnd, text_.size(), text_.size(), ""});
    return out;
  }

 private:
  Status Error(size_t at, std::string msg) const {
    return Status::InvalidArgument("at position {}: {}", CharPos(text_, at), msg);
  }

  Result<Token> Next() {
    size_t b = i_;
    char c = text_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_ + 1])))) {
      Tok kind = Tok::kInteger;
      while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
      if (i_ < text_.size() && text_[i_] == '.') {
        kind = Tok::kDecimal;
        ++i_;
        while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
      }
      if (i_ < text_.size() && (text_[i_] == 'e' || text_[i_] == 'E')) {
        size_t save = i_;
        ++i_;
        if (i_ < text_.size() && (text_[i_] == '+' || text_[i_] == '-')) ++i_;
        if (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) {
          while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
          kind = Tok::kFloat;
        } else {
          i_ = save;
        }
      }
      if (i_ < text_.size() && IsIdentStart(text_[i_])) {
        return Error(i_, fmt::format("unexpected '{}' after a number", text_[i_]));
      }
      return Token{kind, b, i_, std::string(text_.substr(b, i_ - b))};
    }
    if (c == '\'' || c == '"') {
      std::string v;
      ++i_;
      while (true) {
        if (i_ >= text_.size()) {
          return Error(b, c == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
        }
        if (text_[i_] == c) {
          if (i_ + 1 < text_.size() && text_[i_ + 1] == c) {
            v += c;
            i_ += 2;
            continue;
          }
          ++i_;
          break;
        }
        v += text_[i_++];
      }
      if (c == '"' && v.empty()) return Error(b, "empty quoted identifier");
      return Token{c == '\'' ? Tok::kString : Tok::kQuotedIdent, b, i_, std::move(v)};
    }
    if (IsIdentStart(c)) {
      while (i_ < text_.size()) {
        if (IsIdentChar(text_[i_])) {
          ++i_;
        } else if (text_[i_] == '.' && i_ + 1 < text_.size() && IsIdentChar(text_[i_ + 1])) {
          ++i_;  // dotted path: data.page is one name
        } else {
          break;
        }
      }
      return Token{Tok::kIdent, b, i_, std::string(text_.substr(b, i_ - b))};
    }
    static const char* kTwo[] = {"<>", "!=", "<=", ">=", "||", "::"};
    for (const char* s : kTwo) {
      if (text_.substr(i_, 2) == s) {
        i_ += 2;
        return Token{Tok::kSymbol, b, i_, s};
      }
    }
    if (std::string_view("+-*/%=<>(),").find(c) != std::string_view::npos) {
      ++i_;
      return Token{Tok::kSymbol, b, i_, std::string(1, c)};
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      size_t e = i_ + 1;
      while (e < text_.size() && (static_cast<unsigned char>(text_[e]) & 0xC0) == 0x80) ++e;
      return Error(b, fmt::format("unexpected character '{}'", text_.substr(b, e - b)));
    }
    return Error(b, fmt::format("unexpected character '{}'", c));
  }

  std::string_view text_;
  size_t i_ = 0;
};

constexpr int kPrecOr = 1, kPrecAnd = 2, kPrecNot = 3, kPrecIs = 4, kPrecCmp = 5, kPrecLike = 6,
              kPrecConcat = 7, kPrecAdd = 8, kPrecMul = 9, kPrecUnary = 10, kPrecCast = 11;

bool IsReserved(std::string_view word) {
  static const char* kWords[] = {"and",  "or",   "not",  "in",   "is",   "null", "true",
                                 "false", "between", "like", "ilike", "case", "when", "then",
                                 "else", "end",  "cast", "try_cast", "as", "interval", "distinct"};
  std::string w = Lower(word);
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> toks) : text_(text), toks_(std::move(toks)) {}

  Result<ParsedExprPtr> Run() {
    if (toks_.size() == 1) return Status::InvalidArgument("at position 1: empty expression");
    SLUICE_ASSIGN_OR_RETURN(auto e, ParseExpr(0));
    if (Peek().kind != Tok::kEnd) return Unexpected(Peek());
    return ParsedExprPtr(std::move(e));
  }

 private:
  using Node = std::shared_ptr<ParsedExpr>;

  const Token& Peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& Take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  size_t PrevEnd() const { return pos_ == 0 ? 0 : toks_[pos_ - 1].end; }

  bool IsKeyword(const Token& t, std::string_view kw) const { return t.kind == Tok::kIdent && EqualsIgnoreCase(t.value, kw); }
  bool IsSymbol(const Token& t, std::string_view s) const { return t.kind == Tok::kSymbol && t.value == s; }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "end of expression";
    return fmt::format("'{}'", text_.substr(t.begin, t.end - t.begin));
  }
  Status Error(size_t at, const std::string& msg) const {
    return Status::InvalidArgument("at position {}: {}", CharPos(text_, at), msg);
  }
  Status Unexpected(const Token& t) const { return Error(t.begin, "unexpected " + Describe(t)); }
  Status Expect(std::string_view sym, std::string_view what = {}) {
    const Token& t = Peek();
    bool ok = sym.size() > 0 && std::isalpha(static_cast<unsigned char>(sym[0])) ? IsKeyword(t, sym)
                                                                                  : IsSymbol(t, sym);
    if (!ok) {
      std::string want = what.empty() ? fmt::format("'{}'", sym) : std::string(what);
      return Error(t.begin, fmt::format("expected {} but found {}", want, Describe(t)));
    }
    Take();
    return Status::OK();
  }

  Node Make(ParsedKind kind, size_t begin, size_t at) const {
    auto n = std::make_shared<ParsedExpr>();
    n->kind = kind;
    n->pos = CharPos(text_, at);
    n->text = std::string(text_.substr(begin, 0));
    return n;
  }
  void Finish(Node& n, size_t begin) const { n->text = std::string(text_.substr(begin, PrevEnd() - begin)); }

  Result<Node> ParseExpr(int min_prec) {
    if (++depth_ > 200) return Error(Peek().begin, "expression is nested too deeply");
    size_t begin = Peek().begin;
    SLUICE_ASSIGN_OR_RETURN(Node left, ParsePrefix());
    while (true) {
      const Token& t = Peek();
      size_t at = t.begin;
      if (IsKeyword(t, "or") || IsKeyword(t, "and")) {
        int prec = IsKeyword(t, "or") ? kPrecOr : kPrecAnd;
        if (prec < min_prec) break;
        Op op = prec == kPrecOr ? Op::kOr : Op::kAnd;
        Take();
        SLUICE_ASSIGN_OR_RETURN(Node right, ParseExpr(prec + 1));
        left = Binary(op, left, right, begin, at);
        continue;
      }
      if (IsKeyword(t, "is")) {
        if (kPrecIs < min_prec) break;
        Take();
        bool neg = false;
        if (IsKeyword(Peek(), "not")) {
          Take();
          neg = true;
        }
        Node n;
        if (IsKeyword(Peek(), "null")) {
          n = Make(ParsedKind::kIsNull, begin, at);
        } else if (IsKeyword(Peek(), "true") || IsKeyword(Peek(), "false")) {
          n = Make(ParsedKind::kIsBool, begin, at);
          n->bool_value = IsKeyword(Peek(), "true");
        } else {
          return Error(Peek().begin, "expected NULL, TRUE or FALSE after IS but found " + Describe(Peek()));
        }
        Take();
        n->negated = neg;
        n->args.push_back(left);
        Finish(n, begin);
        left = n;
        continue;
      }
      if (t.kind == Tok::kSymbol) {
        Op op;
        int prec;
        const std::string& s = t.value;
        if (s == "=") { op = Op::kEq; prec = kPrecCmp; }
        else if (s == "<>" || s == "!=") { op = Op::kNe; prec = kPrecCmp; }
        else if (s == "<") { op = Op::kLt; prec = kPrecCmp; }
        else if (s == "<=") { op = Op::kLe; prec = kPrecCmp; }
        else if (s == ">") { op = Op::kGt; prec = kPrecCmp; }
        else if (s == ">=") { op = Op::kGe; prec = kPrecCmp; }
        else if (s == "||") { op = Op::kConcat; prec = kPrecConcat; }
        else if (s == "+") { op = Op::kAdd; prec = kPrecAdd; }
        else if (s == "-") { op = Op::kSub; prec = kPrecAdd; }
        else if (s == "*") { op = Op::kMul; prec = kPrecMul; }
        else if (s == "/") { op = Op::kDiv; prec = kPrecMul; }
        else if (s == "%") { op = Op::kMod; prec = kPrecMul; }
        else if (s == "::") {
          if (kPrecCast < min_prec) break;
          Take();
          auto n = Make(ParsedKind::kCast, begin, at);
          SLUICE_ASSIGN_OR_RETURN(n->cast_type, ParseTypeName());
          n->args.push_back(left);
          Finish(n, begin);
          left = n;
          continue;
        } else {
          break;
        }
        if (prec < min_prec) break;
        Take();
        SLUICE_ASSIGN_OR_RETURN(Node right, ParseExpr(prec + 1));
        left = Binary(op, left, right, begin, at);
        continue;
      }
      // [NOT] IN / BETWEEN / LIKE / ILIKE
      bool neg = false;
      size_t k = 0;
      if (IsKeyword(t, "not")) {
        neg = true;
        k = 1;
      }
      const Token& kw = Peek(k);
      if (IsKeyword(kw, "in") || IsKeyword(kw, "between") || IsKeyword(kw, "like") || IsKeyword(kw, "ilike")) {
        if (kPrecLike < min_prec) break;
        size_t kw_at = kw.begin;
        bool is_in = IsKeyword(kw, "in"), is_between = IsKeyword(kw, "between"),
             is_ilike = IsKeyword(kw, "ilike");
        pos_ += k + 1;
        Node n;
        if (is_in) {
          n = Make(ParsedKind::kIn, begin, kw_at);
          n->args.push_back(left);
          SLUICE_RETURN_IF_ERROR(Expect("(", "'(' after IN"));
          if (IsSymbol(Peek(), ")")) return Error(Peek().begin, "IN needs at least one value");
          while (true) {
            SLUICE_ASSIGN_OR_RETURN(Node item, ParseExpr(0));
            n->args.push_back(item);
            if (IsSymbol(Peek(), ",")) {
              Take();
              continue;
            }
            SLUICE_RETURN_IF_ERROR(Expect(")", "',' or ')'"));
            break;
          }
        } else if (is_between) {
          n = Make(ParsedKind::kBetween, begin, kw_at);
          n->args.push_back(left);
          SLUICE_ASSIGN_OR_RETURN(Node lo, ParseExpr(kPrecConcat));
          SLUICE_RETURN_IF_ERROR(Expect("and", "AND in BETWEEN"));
          SLUICE_ASSIGN_OR_RETURN(Node hi, ParseExpr(kPrecConcat));
          n->args.push_back(lo);
          n->args.push_back(hi);
        } else {
          n = Make(ParsedKind::kLike, begin, kw_at);
          n->case_insensitive = is_ilike;
          n->args.push_back(left);
          SLUICE_ASSIGN_OR_RETURN(Node pat, ParseExpr(kPrecConcat));
          n->args.push_back(pat);
        }
        n->negated = neg;
        Finish(n, begin);
        left = n;
        continue;
      }
      break;
    }
    --depth_;
    return left;
  }

  Node Binary(Op op, Node l, Node r, size_t begin, size_t at) {
    auto n = Make(ParsedKind::kBinary, begin, at);
    n->op = op;
    n->args = {std::move(l), std::move(r)};
    Finish(n, begin);
    return n;
  }

  Result<DataType> ParseTypeName() {
    const Token& t = Peek();
    if (t.kind != Tok::kIdent) return Error(t.begin, "expected a type name but found " + Describe(t));
    size_t b = t.begin;
    Take();
    if (IsSymbol(Peek(), "(")) {
      while (Peek().kind != Tok::kEnd && !IsSymbol(Peek(), ")")) Take();
      SLUICE_RETURN_IF_ERROR(Expect(")"));
    }
    std::string_view name = text_.substr(b, PrevEnd() - b);
    auto type = ParseDataType(name);
    if (!type.ok()) return Error(b, type.status().message());
    return *type;
  }

  Result<Node> ParseNumber(const Token& t, bool negative, size_t begin) {
    auto n = Make(ParsedKind::kLiteral, begin, begin);
    std::string digits = (negative ? "-" : "") + t.value;
    if (t.kind == Tok::kInteger) {
      int64_t v = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
        return Error(begin, fmt::format("integer literal {} is out of range for int64", digits));
      }
      n->literal = Value::Int64(v);
    } else if (t.kind == Tok::kDecimal) {
      size_t dot = t.value.find('.');
      std::string_view ip = std::string_view(t.value).substr(0, dot);
      std::string_view fp = std::string_view(t.value).substr(dot + 1);
      while (!ip.empty() && ip[0] == '0') ip.remove_prefix(1);
      int scale = static_cast<int>(fp.size());
      int precision = std::max<int>(1, static_cast<int>(ip.size()) + scale);
      std::optional<int64_t> v;
      if (precision <= kMaxDecimalPrecision) v = ParseDecimal(digits, precision, scale);
      if (v) {
        n->literal = Value::Decimal(*v, precision, scale);
      } else {
        n->literal = Value::Float64(std::strtod(digits.c_str(), nullptr));
      }
    } else {
      n->literal = Value::Float64(std::strtod(digits.c_str(), nullptr));
    }
    Finish(n, begin);
    return n;
  }

  Result<Node> ParsePrefix() {
    const Token& t = Peek();
    size_t begin = t.begin;
    switch (t.kind) {
      case Tok::kEnd: return Error(t.begin, "unexpected end of expression");
      case Tok::kInteger:
      case Tok::kDecimal:
      case Tok::kFloat: {
        const Token& num = Take();
        return ParseNumber(num, false, begin);
      }
      case Tok::kString: {
        auto n = Make(ParsedKind::kLiteral, begin, begin);
        n->literal = Value::String(Take().value);
        if (!IsValidUtf8(n->literal.string_value())) return Error(begin, "string literal is not valid UTF-8");
        Finish(n, begin);
        return n;
      }
      case Tok::kQuotedIdent: {
        auto n = Make(ParsedKind::kColumn, begin, begin);
        n->name = Take().value;
        Finish(n, begin);
        return n;
      }
      case Tok::kSymbol: {
        if (t.value == "(") {
          Take();
          SLUICE_ASSIGN_OR_RETURN(Node inner, ParseExpr(0));
          SLUICE_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (t.value == "-" || t.value == "+") {
          bool neg = t.value == "-";
          Take();
          const Token& next = Peek();
          bool number = next.kind == Tok::kInteger || next.kind == Tok::kDecimal || next.kind == Tok::kFloat;
          // A sign directly on a number is part of the literal (so -9223372036854775808 parses),
          // unless a tighter operator follows (-2::int is -(2::int) anyway, same value).
          if (number && !IsSymbol(Peek(1), "::")) {
            const Token& num = Take();
            return ParseNumber(num, neg, begin);
          }
          SLUICE_ASSIGN_OR_RETURN(Node operand, ParseExpr(kPrecUnary));
          if (!neg) return operand;
          auto n = Make(ParsedKind::kUnary, begin, begin);
          n->op = Op::kNeg;
          n->args.push_back(operand);
          Finish(n, begin);
          return n;
        }
        return Unexpected(t);
      }
      case Tok::kIdent: break;
    }
    // Identifiers and keywords.
    if (IsKeyword(t, "not")) {
      Take();
      SLUICE_ASSIGN_OR_RETURN(Node operand, ParseExpr(kPrecNot + 1));
      auto n = Make(ParsedKind::kUnary, begin, begin);
      n->op = Op::kNot;
      n->args.push_back(operand);
      Finish(n, begin);
      return n;
    }
    if (IsKeyword(t, "null") || IsKeyword(t, "true") || IsKeyword(t, "false")) {
      auto n = Make(ParsedKind::kLiteral, begin, begin);
      if (!IsKeyword(t, "null")) n->literal = Value::Bool(IsKeyword(t, "true"));
      Take();
      Finish(n, begin);
      return n;
    }
    if ((IsKeyword(t, "date") || IsKeyword(t, "timestamp") || IsKeyword(t, "interval")) &&
        Peek(1).kind == Tok::kString) {
      bool is_date = IsKeyword(t, "date"), is_ts = IsKeyword(t, "timestamp");
      Take();
      const Token& s = Take();
      auto n = Make(is_date || is_ts ? ParsedKind::kLiteral : ParsedKind::kInterval, begin, begin);
      if (is_date) {
        auto d = ParseDate(s.value);
        if (!d) return Error(s.begin, fmt::format("cannot parse date '{}'; write 'YYYY-MM-DD'", s.value));
        n->literal = Value::Date(*d);
      } else if (is_ts) {
        auto ts = ParseTimestamp(s.value);
        if (!ts) {
          return Error(s.begin, fmt::format("cannot parse timestamp '{}'; write e.g. '2026-01-01T00:00:00Z'",
                                            s.value));
        }
        n->literal = Value::Timestamp(*ts);
      } else {
        auto us = ParseIntervalMicros(s.value);
        if (!us.ok()) return Error(s.begin, us.status().message());
        n->interval_micros = *us;
      }
      Finish(n, begin);
      return n;
    }
    if (IsKeyword(t, "case")) return ParseCase();
    if (IsKeyword(t, "cast") || IsKeyword(t, "try_cast")) {
      auto n = Make(ParsedKind::kCast, begin, begin);
      n->try_cast = IsKeyword(t, "try_cast");
      Take();
      SLUICE_RETURN_IF_ERROR(Expect("("));
      SLUICE_ASSIGN_OR_RETURN(Node operand, ParseExpr(0));
      SLUICE_RETURN_IF_ERROR(Expect("as", "AS"));
      SLUICE_ASSIGN_OR_RETURN(n->cast_type, ParseTypeName());
      SLUICE_RETURN_IF_ERROR(Expect(")"));
      n->args.push_back(operand);
      Finish(n, begin);
      return n;
    }
    if (IsKeyword(t, "current_timestamp") && !IsSymbol(Peek(1), "(")) {
      auto n = Make(ParsedKind::kCall, begin, begin);
      n->name = "now";
      Take();
      Finish(n, begin);
      return n;
    }
    if (IsSymbol(Peek(1), "(")) return ParseCall();
    if (IsReserved(t.value)) return Unexpected(t);
    auto n = Make(ParsedKind::kColumn, begin, begin);
    n->name = Take().value;
    Finish(n, begin);
    return n;
  }

  Result<Node> ParseCall() {
    size_t begin = Peek().begin;
    auto n = Make(ParsedKind::kCall, begin, begin);
    n->name = Lower(Take().value);
    Take();  // (
    if (IsSymbol(Peek(), ")")) {
      Take();
      Finish(n, begin);
      return n;
    }
    if (IsSymbol(Peek(), "*") && IsSymbol(Peek(1), ")")) {
      auto star = Make(ParsedKind::kStar, Peek().begin, Peek().begin);
      Take();
      star->text = "*";
      n->args.push_back(star);
      Take();
      Finish(n, begin);
      return n;
    }
    if (IsKeyword(Peek(), "distinct")) {
      Take();
      n->distinct = true;
    }
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(Node arg, ParseExpr(0));
      n->args.push_back(arg);
      if (IsSymbol(Peek(), ",")) {
        Take();
        continue;
      }
      SLUICE_RETURN_IF_ERROR(Expect(")", "',' or ')'"));
      break;
    }
    Finish(n, begin);
    return n;
  }

  Result<Node> ParseCase() {
    size_t begin = Peek().begin;
    auto n = Make(ParsedKind::kCase, begin, begin);
    Take();
    if (!IsKeyword(Peek(), "when")) {
      SLUICE_ASSIGN_OR_RETURN(Node operand, ParseExpr(0));
      n->args.push_back(operand);
      n->has_operand = true;
    }
    if (!IsKeyword(Peek(), "when")) {
      return Error(Peek().begin, "expected WHEN but found " + Describe(Peek()));
    }
    while (IsKeyword(Peek(), "when")) {
      Take();
      SLUICE_ASSIGN_OR_RETURN(Node cond, ParseExpr(0));
      SLUICE_RETURN_IF_ERROR(Expect("then", "THEN"));
      SLUICE_ASSIGN_OR_RETURN(Node value, ParseExpr(0));
      n->args.push_back(cond);
      n->args.push_back(value);
    }
    if (IsKeyword(Peek(), "else")) {
      Take();
      SLUICE_ASSIGN_OR_RETURN(Node value, ParseExpr(0));
      n->args.push_back(value);
      n->has_else = true;
    }
    SLUICE_RETURN_IF_ERROR(Expect("end", "END"));
    Finish(n, begin);
    return n;
  }

  std::string_view text_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<ParsedExprPtr> Parse(std::string_view text) {
  Lexer lexer(text);
  SLUICE_ASSIGN_OR_RETURN(auto toks, lexer.Run());
  Parser parser(text, std::move(toks));
  return parser.Run();
}

}  // namespace sluice::expr
