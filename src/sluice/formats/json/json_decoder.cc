// JSON decoding with simdjson On-Demand. This is the only file that includes simdjson.h.
//
// NDJSON: lines are found with memchr and each one is parsed in place (a padded_string_view over
// the caller's buffer, whose padding covers simdjson's read-ahead), so a bad line costs only
// itself. A JSON array is parsed as one document and its elements are decoded in order.
//
// Values are staged in a RowAssembler and appended to the columns only once the whole record
// converted, so a rejected record never has to be rolled back out of the columns.
#include <emmintrin.h>
#include <simdjson.h>

#include <cstring>
#include <limits>

#include "sluice/formats/json/json.h"
#include "sluice/formats/row_assembler.h"
#include "sluice/formats/text_convert.h"
#include "sluice/base/strings.h"
#include "sluice/types/temporal.h"

namespace sluice::formats {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr const char* kMalformedJson = "malformed_json";
constexpr const char* kTypeMismatch = "type_mismatch";
constexpr const char* kTooDeep = "too_deep";

// True if the document (known not to be an object) is one complete, well-formed JSON value.
bool IsWellFormedNonObject(simdjson::ondemand::document& doc, simdjson::ondemand::json_type t) {
  namespace od = simdjson::ondemand;
  bool ok = false;
  switch (t) {
    case od::json_type::null: {
      bool is_null = false;
      ok = !doc.is_null().get(is_null) && is_null;
      break;
    }
    case od::json_type::boolean: {
      bool b;
      ok = !doc.get_bool().get(b);
      break;
    }
    case od::json_type::number: {
      double d;
      ok = !doc.get_double().get(d);
      break;
    }
    case od::json_type::string: {
      std::string_view v;
      ok = !doc.get_string().get(v);
      break;
    }
    case od::json_type::array: return true;  // validated by the caller
    default:
      break;
  }
  const char* rest = nullptr;
  return ok && doc.current_location().get(rest) != simdjson::SUCCESS;  // nothing after the value
}
constexpr const char* kInvalidUtf8 = "invalid_utf8";
constexpr const char* kOversized = "oversized_record";

bool IsJsonBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

const char* JsonTypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "value";
}

// The end of the object or array that starts at `p`, found by counting brackets outside strings
// (no recursion); the input is well-formed as far as simdjson's first pass goes.
const char* EndOfContainer(const char* p, const char* end) {
  int64_t depth = 0;
  for (; p < end; ++p) {
    if (*p == '"') {
      for (++p; p < end && *p != '"'; ++p) {
        if (*p == '\\' && p + 1 < end) ++p;  // an escaped character, maybe a quote
      }
      if (p == end) break;
    } else if (*p == '[' || *p == '{') {
      ++depth;
    } else if ((*p == ']' || *p == '}') && --depth == 0) {
      return p + 1;
    }
  }
  return end;
}

// One node of the trie of schema field paths: "data.page" is root -> "data" -> "page".
struct PathNode {
  int field = -1;        // schema field that ends here, or -1
  std::string path;      // dotted path of this node (for messages)
  std::vector<std::pair<std::string, int>> children;  // key -> node index
  std::vector<std::string> padded_keys;  // children's keys followed by 8 zero bytes (SameBytes)
  // Open-addressing table over `children`: slot -> child position + 1 (0 = empty).
  std::vector<uint16_t> table;
  uint32_t mask = 0;
};

// The first '"' or '\\' at or after `p`. The caller guarantees a '"' before the end of the
// input, and at least 16 readable bytes past any position before it (the input padding).
inline const char* FindQuoteOrBackslash(const char* p) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (;; p += 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
}

// Compares n bytes eight at a time; both sides must have 8 readable bytes past n (schema keys
// are stored padded, input keys are followed by their closing quote and the input padding).
inline bool SameBytes(const char* a, const char* b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  if (i == n) return true;
  uint64_t x, y;
  std::memcpy(&x, a + i, 8);
  std::memcpy(&y, b + i, 8);
  uint64_t mask = ~uint64_t{0} >> (64 - 8 * (n - i));
  return ((x ^ y) & mask) == 0;
}

inline uint32_t HashKey(const char* p, size_t n) {
  // FNV-1a: keys are short, and this only has to spread a few dozen names.
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 16777619u;
  return h ^ static_cast<uint32_t>(n);
}

}  // namespace

struct JsonDecoder::Impl {
  int64_t next_line_ = 1;  // after the last NDJSON line decoded
  Impl(SchemaPtr s, DecodeOptions o)
      : schema(std::move(s)), options(std::move(o)), rows(schema, options) {
    for (const auto& f : schema->fields()) types.push_back(f.type);
    BuildTrie();
  }

  // ----- schema trie
  void BuildTrie() {
    nodes.emplace_back();
    for (size_t i = 0; i < schema->size(); ++i) {
      if (static_cast<int>(i) == rows.raw_field()) continue;  // filled from the record text
      const std::string& name = schema->field(i).name;
      int node = 0;
      size_t start = 0;
      for (;;) {
        size_t dot = name.find('.', start);
        std::string key = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        int child = -1;
        for (const auto& [k, idx] : nodes[node].children) {
          if (k == key) child = idx;
        }
        if (child < 0) {
          child = static_cast<int>(nodes.size());
          PathNode n;
          n.path = nodes[node].path.empty() ? key : nodes[node].path + "." + key;
          nodes.push_back(std::move(n));
          nodes[node].children.emplace_back(key, child);
        }
        node = child;
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      if (nodes[node].field < 0) nodes[node].field = static_cast<int>(i);
    }
    // A dotted name is also accepted as a flat key at the top level ({"data.page": 1}): some
    // producers flatten, and the encoder writes a path flat when it collides with another field.
    for (size_t i = 0; i < schema->size(); ++i) {
      const std::string& name = schema->field(i).name;
      if (static_cast<int>(i) == rows.raw_field() || name.find('.') == std::string::npos) continue;
      bool present = false;
      for (const auto& [k, idx] : nodes[0].children) present |= k == name;
      if (present) continue;
      PathNode n;
      n.path = name;
      n.field = static_cast<int>(i);
      nodes.push_back(std::move(n));
      nodes[0].children.emplace_back(name, static_cast<int>(nodes.size() - 1));
    }
    for (auto& n : nodes) {
      size_t size = 4;
      while (size < n.children.size() * 2) size *= 2;
      n.table.assign(size, 0);
      n.mask = static_cast<uint32_t>(size - 1);
      n.padded_keys.clear();
      for (const auto& c : n.children) n.padded_keys.push_back(c.first + std::string(8, '\0'));
      for (size_t c = 0; c < n.children.size(); ++c) {
        const std::string& k = n.children[c].first;
        uint32_t h = HashKey(k.data(), k.size()) & n.mask;
        while (n.table[h] != 0) h = (h + 1) & n.mask;
        n.table[h] = static_cast<uint16_t>(c + 1);
      }
    }
  }

  int FindChild(const PathNode& n, std::string_view key) const {
    uint32_t h = HashKey(key.data(), key.size()) & n.mask;
    for (;;) {
      uint16_t slot = n.table[h];
      if (slot == 0) return -1;
      const auto& [k, idx] = n.children[slot - 1];
      if (k.size() == key.size() && SameBytes(n.padded_keys[slot - 1].data(), key.data(), key.size())) return idx;
      h = (h + 1) & n.mask;
    }
  }

  // ----- errors of the current record
  bool Fail(const char* error_class, std::string message) {
    if (error_class_ == nullptr) {
      error_class_ = error_class;
      error_message_ = std::move(message);
    }
    return false;
  }
  bool FailJson(error_code e) {
    if (e == simdjson::UTF8_ERROR) return Fail(kInvalidUtf8, "invalid UTF-8 in the record");
    return Fail(kMalformedJson, std::string("malformed JSON: ") + simdjson::error_message(e));
  }
  // A type error does not stop reading the record: the rest is still validated (and consumed,
  // which array elements need), then the record is rejected.
  void Mismatch(size_t field, od::value& v, od::json_type t, const char* why = nullptr) {
    if (mismatch_ || error_class_ != nullptr) return;
    mismatch_ = true;
    mismatch_message_ = "field '" + schema->field(field).name + "': expected " +
                        types[field].ToString() + ", got " + JsonTypeName(t) + " " + Shown(v, t);
    if (why) mismatch_message_ += std::string(" (") + why + ")";
  }
  // A short rendering of a value for messages.
  std::string Shown(od::value& v, od::json_type t) {
    std::string_view tok = v.raw_json_token();
    if (t == od::json_type::object || t == od::json_type::array) {
      size_t avail = static_cast<size_t>(record_end_ - tok.data());
      tok = std::string_view(tok.data(), std::min<size_t>(avail, 64));
    }
    while (!tok.empty() && IsJsonBlank(tok.back())) tok.remove_suffix(1);
    return ShortenForMessage(tok);
  }

  // ----- reading values
  // The key of a field without copying it when it has no escapes.
  bool KeyOf(od::field& f, std::string_view& key) {
    const char* s = f.key().raw();
    const char* p = FindQuoteOrBackslash(s);  // stage 1 guarantees a closing quote
    if (*p == '"') {
      key = std::string_view(s, static_cast<size_t>(p - s));
      return true;
    }
    if (auto e = f.unescaped_key().get(key)) return FailJson(e);
    return true;
  }

  // A string value: a view into the input when it has no escapes (no copy), else unescaped.
  bool StringOf(od::value& v, std::string_view& out) {
    std::string_view tok = v.raw_json_token();
    const char* s = tok.data() + 1;
    const char* q = FindQuoteOrBackslash(s);
    if (*q == '"') {
      out = std::string_view(s, static_cast<size_t>(q - s));
      return true;
    }
    if (auto e = v.get_string().get(out)) return FailJson(e);
    return true;
  }

  // The text of a number value (validated: On-Demand does not check tokens it is not asked to
  // convert).
  bool NumberTextOf(od::value& v, std::string_view& out) {
    out = v.raw_json_token();
    while (!out.empty() && IsJsonBlank(out.back())) out.remove_suffix(1);
    if (!IsJsonNumber(out)) return Fail(kMalformedJson, "malformed JSON: invalid number '" + ShortenForMessage(out) + "'");
    return true;
  }

  // Rejects the record if a container opened inside `depth` others would nest too deep. Every
  // recursion over a record's values goes through here, so the depth of the stack is bounded.
  bool EnterContainer(int depth) {
    if (depth < kMaxJsonNesting) return true;
    return Fail(kTooDeep, "objects and arrays nest deeper than " + std::to_string(kMaxJsonNesting) +
                              " levels; flatten the record, or send such a value as a string");
  }

  // Validates and consumes a value nobody asked for; `depth` objects and arrays enclose it.
  bool Skip(od::value& v, int depth) {
    od::json_type t;
    if (auto e = v.type().get(t)) return FailJson(e);
    if ((t == od::json_type::object || t == od::json_type::array) && !EnterContainer(depth)) return false;
    switch (t) {
      case od::json_type::object: {
        od::object o;
        if (auto e = v.get_object().get(o)) return FailJson(e);
        for (auto fr : o) {
          if (auto e = fr.error()) return FailJson(e);
          od::field&& f = std::move(fr).value_unsafe();
          std::string_view key;
          if (!KeyOf(f, key)) return false;
          if (!Skip(f.value(), depth + 1)) return false;
        }
        return true;
      }
      case od::json_type::array: {
        od::array a;
        if (auto e = v.get_array().get(a)) return FailJson(e);
        for (auto er : a) {
          od::value ev;
          if (auto e = std::move(er).get(ev)) return FailJson(e);
          if (!Skip(ev, depth + 1)) return false;
        }
        return true;
      }
      case od::json_type::string: {
        std::string_view s;
        return StringOf(v, s);
      }
      case od::json_type::number: {
        std::string_view s;
        return NumberTextOf(v, s);
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return FailJson(e);
        return true;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) return FailJson(e);
        if (!is_null) return Fail(kMalformedJson, "malformed JSON: invalid literal");
        return true;
      }
    }
    return true;
  }

  // The JSON text of an object or array value (validated and consumed); used for string fields.
  bool CompositeTextOf(od::value& v, int depth, std::string_view& out) {
    const char* start = v.raw_json_token().data();
    if (!Skip(v, depth)) return false;
    const char* end = nullptr;
    if (doc_->current_location().get(end)) end = record_end_;
    while (end > start && IsJsonBlank(end[-1])) --end;
    out = std::string_view(start, static_cast<size_t>(end - start));
    return true;
  }

  // Reads the value of schema field `fi`, enclosed by `depth` objects. Returns false only on a
  // JSON error.
  bool ReadField(od::value& v, size_t fi, int depth) {
    od::json_type t;
    if (auto e = v.type().get(t)) return FailJson(e);
    if (mismatch_) return Skip(v, depth);
    if (t == od::json_type::null) {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return FailJson(e);
      if (!is_null) return Fail(kMalformedJson, "malformed JSON: invalid literal");
      rows.Set(fi).SetNull();
      return true;
    }
    const DataType& type = types[fi];
    switch (type.id) {
      case TypeId::kBool: {
        if (t != od::json_type::boolean) break;
        bool b;
        if (auto e = v.get_bool().get(b)) return FailJson(e);
        rows.Set(fi).SetInt(b);
        return true;
      }
      case TypeId::kInt32:
      case TypeId::kInt64: {
        if (t != od::json_type::number) break;
        int64_t x;
        if (v.get_int64().get(x)) {
          // A valid JSON number that is not an integer in range is the wrong type.
          std::string_view text;
          if (!NumberTextOf(v, text)) return false;
          Mismatch(fi, v, t, "not an integer in range");
          return true;
        }
        if (type.id == TypeId::kInt32 && (x < INT32_MIN || x > INT32_MAX)) {
          Mismatch(fi, v, t, "out of range");
          return true;
        }
        rows.Set(fi).SetInt(x);
        return true;
      }
      case TypeId::kFloat64: {
        if (t == od::json_type::number) {
          double d;
          error_code e = v.get_double().get(d);
          if (e) {
            std::string_view text;
            if (!NumberTextOf(v, text)) return false;
            Mismatch(fi, v, t, "out of range");
            return true;
          }
          rows.Set(fi).SetFloat(d);
          return true;
        }
        if (t == od::json_type::string) {
          // Non-finite values travel as the strings an encoder writes for them.
          std::string_view s;
          if (!StringOf(v, s)) return false;
          double d;
          if (s == "NaN") {
            d = std::numeric_limits<double>::quiet_NaN();
          } else if (s == "Infinity") {
            d = std::numeric_limits<double>::infinity();
          } else if (s == "-Infinity") {
            d = -std::numeric_limits<double>::infinity();
          } else {
            break;
          }
          rows.Set(fi).SetFloat(d);
          return true;
        }
        break;
      }
      case TypeId::kDecimal: {
        std::string_view text;
        if (t == od::json_type::number) {
          if (!NumberTextOf(v, text)) return false;
        } else if (t == od::json_type::string) {
          if (!StringOf(v, text)) return false;
        } else {
          break;
        }
        auto d = ParseDecimalText(text, type.precision, type.scale);
        if (!d) {
          Mismatch(fi, v, t, t == od::json_type::number ? "too many digits" : nullptr);
          return true;
        }
        rows.Set(fi).SetInt(*d);
        return true;
      }
      case TypeId::kString: {
        if (t == od::json_type::string) {
          std::string_view s;
          if (!StringOf(v, s)) return false;
          rows.Set(fi).SetBytes(s);
          return true;
        }
        if (t == od::json_type::object || t == od::json_type::array) {
          std::string_view s;
          if (!CompositeTextOf(v, depth, s)) return false;
          rows.Set(fi).SetBytes(s);
          return true;
        }
        break;
      }
      case TypeId::kBinary: {
        if (t != od::json_type::string) break;
        std::string_view s;
        if (!StringOf(v, s)) return false;
        FieldValue& out = rows.Set(fi);
        if (!DecodeBase64(s, out.storage)) {
          Mismatch(fi, v, t, "not base64");
          return true;
        }
        out.SetBytesFromStorage();
        return true;
      }
      case TypeId::kDate: {
        if (t != od::json_type::string) break;
        std::string_view s;
        if (!StringOf(v, s)) return false;
        auto d = ParseDate(s);
        if (!d) {
          Mismatch(fi, v, t);
          return true;
        }
        rows.Set(fi).SetInt(*d);
        return true;
      }
      case TypeId::kTimestamp: {
        if (t == od::json_type::string) {
          std::string_view s;
          if (!StringOf(v, s)) return false;
          int64_t micros;
          if (!ParseTimestampText(s, /*allow_epoch_millis=*/false, micros)) {
            Mismatch(fi, v, t, "not ISO-8601");
            return true;
          }
          rows.Set(fi).SetInt(micros);
          return true;
        }
        if (t == od::json_type::number) {
          int64_t millis, micros;
          if (v.get_int64().get(millis) || !EpochMillisToMicros(millis, micros)) {
            std::string_view text;
            if (!NumberTextOf(v, text)) return false;
            Mismatch(fi, v, t, "epoch milliseconds must be an integer in range");
            return true;
          }
          rows.Set(fi).SetInt(micros);
          return true;
        }
        break;
      }
      case TypeId::kNull:
        break;
    }
    Mismatch(fi, v, t);
    return Skip(v, depth);
  }

  // Reads the members of an object at trie node `node`, `depth` levels deep (a record is level
  // 1). Returns false only on a JSON error.
  bool ReadObject(od::object& obj, int node, int depth) {
    for (auto fr : obj) {
      if (auto e = fr.error()) return FailJson(e);
      od::field&& f = std::move(fr).value_unsafe();  // no copy of the field
      std::string_view key;
      if (!KeyOf(f, key)) return false;
      od::value& v = f.value();
      int child = FindChild(nodes[node], key);
      if (child < 0) {
        if (!Skip(v, depth)) return false;
        continue;
      }
      const PathNode& n = nodes[child];
      if (n.children.empty()) {
        if (!ReadField(v, static_cast<size_t>(n.field), depth)) return false;
        continue;
      }
      // An inner node of the trie: descend into an object.
      od::json_type t;
      if (auto e = v.type().get(t)) return FailJson(e);
      if (t == od::json_type::object) {
        if (!EnterContainer(depth)) return false;
        if (n.field >= 0 && !mismatch_) {
          // "data" and "data.page" are both fields: keep the object's text for "data" too.
          const char* start = v.raw_json_token().data();
          od::object sub;
          if (auto e = v.get_object().get(sub)) return FailJson(e);
          if (!ReadObject(sub, child, depth + 1)) return false;
          const char* end = nullptr;
          if (doc_->current_location().get(end)) end = record_end_;
          while (end > start && IsJsonBlank(end[-1])) --end;
          std::string_view text(start, static_cast<size_t>(end - start));
          if (types[n.field].id == TypeId::kString) {
            rows.Set(static_cast<size_t>(n.field)).SetBytes(text);
          } else if (!mismatch_) {
            mismatch_ = true;
            mismatch_message_ = "field '" + n.path + "': expected " + types[n.field].ToString() +
                                ", got object " + ShortenForMessage(text);
          }
          continue;
        }
        od::object sub;
        if (auto e = v.get_object().get(sub)) return FailJson(e);
        if (!ReadObject(sub, child, depth + 1)) return false;
        continue;
      }
      if (n.field >= 0) {
        if (!ReadField(v, static_cast<size_t>(n.field), depth)) return false;
        continue;
      }
      if (t == od::json_type::null) {
        if (!Skip(v, depth)) return false;  // every field below is NULL
        continue;
      }
      if (!mismatch_) {
        mismatch_ = true;
        mismatch_message_ = "field '" + n.path + "': expected an object (for the fields under it), got " +
                            JsonTypeName(t) + " " + Shown(v, t);
      }
      if (!Skip(v, depth)) return false;
    }
    return true;
  }

  // Reads one record (an object) into the staged row. Returns false if it is rejected; the
  // reason is in error_class_ / error_message_.
  bool ReadRecord(od::value& v) {
    od::json_type t;
    if (auto e = v.type().get(t)) return FailJson(e);
    if (t != od::json_type::object) {
      std::string shown = Shown(v, t);
      if (!Skip(v, 0)) return false;
      return Fail(kTypeMismatch, std::string("expected a JSON object per record, got ") +
                                     JsonTypeName(t) + " " + shown);
    }
    od::object obj;
    if (auto e = v.get_object().get(obj)) return FailJson(e);
    if (!ReadObject(obj, 0, 1)) return false;
    if (mismatch_) return Fail(kTypeMismatch, mismatch_message_);
    return true;
  }

  void ResetRecord(const char* end) {
    error_class_ = nullptr;
    mismatch_ = false;
    record_end_ = end;
    rows.BeginRow();
  }

  void AddError(std::vector<DecodeError>& errors, int64_t line, const char* cls, std::string message,
                std::string_view raw) {
    errors.push_back(DecodeError{line, cls, std::move(message), CapRaw(raw, kMaxRawBytes)});
  }

  // ----- NDJSON
  Status DecodeLine(const char* p, size_t len, size_t capacity, int64_t line,
                    std::vector<DecodeError>& errors) {
    std::string_view text(p, len);
    if (len > options.max_record_bytes) {
      AddError(errors, line, kOversized,
               "record of " + std::to_string(len) + " bytes exceeds the limit of " +
                   std::to_string(options.max_record_bytes) + " bytes",
               text);
      return Status::OK();
    }
    ResetRecord(p + len);
    od::document doc;
    error_code e = parser.iterate(simdjson::padded_string_view(p, len, capacity)).get(doc);
    bool ok;
    if (e) {
      ok = FailJson(e);
    } else {
      doc_ = &doc;
      od::json_type t;
      if (auto e2 = doc.type().get(t)) {
        ok = FailJson(e2);
      } else if (t != od::json_type::object) {
        std::string_view tok;
        if (doc.raw_json_token().get(tok)) tok = text;
        while (!tok.empty() && IsJsonBlank(tok.back())) tok.remove_suffix(1);
        ok = true;
        if (t == od::json_type::array) {
          // Validated like any value: a broken array is malformed, one nested too deep too_deep.
          od::value root;
          if (auto e4 = doc.get_value().get(root)) {
            ok = FailJson(e4);
          } else {
            ok = Skip(root, 0);
          }
        }
        // The type comes from the first byte only: a line like `not json` looks like null.
        // Only a well-formed JSON value of another type is a type mismatch.
        if (ok && IsWellFormedNonObject(doc, t)) {
          ok = Fail(kTypeMismatch, std::string("expected a JSON object per line, got ") + JsonTypeName(t) + " " +
                                       ShortenForMessage(tok));
        } else if (ok) {
          ok = Fail(kMalformedJson, "malformed JSON: " + ShortenForMessage(tok));
        }
      } else {
        od::object obj;
        if (auto e3 = doc.get_object().get(obj)) {
          ok = FailJson(e3);
        } else {
          ok = ReadObject(obj, 0, 1);
          if (ok && mismatch_) ok = Fail(kTypeMismatch, mismatch_message_);
          const char* rest = nullptr;
          if (ok && !doc.current_location().get(rest)) {
            ok = Fail(kMalformedJson, "malformed JSON: unexpected content after the object");
          }
        }
      }
      doc_ = nullptr;
    }
    if (!ok) {
      AddError(errors, line, error_class_, std::move(error_message_), text);
      return Status::OK();
    }
    return rows.CommitRow(line, text);
  }

  Status DecodeLines(std::string_view data, int64_t first_line, std::vector<DecodeError>& errors) {
    const char* p = data.data();
    const char* end = p + data.size();
    const char* limit = end + kInputPadding;  // readable bytes
    int64_t line = first_line;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* line_end = nl ? nl : end;
      const char* b = p;
      const char* e = line_end;
      while (b < e && IsJsonBlank(*b)) ++b;
      while (e > b && IsJsonBlank(e[-1])) --e;
      if (b < e) {
        SLUICE_RETURN_IF_ERROR(DecodeLine(b, static_cast<size_t>(e - b), static_cast<size_t>(limit - b), line, errors));
      }
      ++line;
      p = line_end + 1;
    }
    next_line_ = line;
    return Status::OK();
  }

  // ----- JSON array
  // Line of `pos`, counting newlines forward from the last position asked about.
  int64_t LineAt(const char* pos) {
    if (pos > line_pos_) {
      for (const char* q = line_pos_; (q = static_cast<const char*>(std::memchr(q, '\n', static_cast<size_t>(pos - q)))) != nullptr; ++q) {
        ++line_no_;
      }
      line_pos_ = pos;
    }
    return line_no_;
  }

  Status DecodeArray(std::string_view data, int64_t first_line, std::vector<DecodeError>& errors) {
    const char* begin = data.data();
    const char* end = begin + data.size();
    line_pos_ = begin;
    line_no_ = first_line;
    constexpr const char* kStopped =
        "; a broken JSON array cannot be resynchronized, so decoding stopped here and the rest of the "
        "input was not decoded";

    ResetRecord(end);
    od::document doc;
    error_code e = parser.iterate(simdjson::padded_string_view(begin, data.size(), data.size() + kInputPadding)).get(doc);
    if (e) {
      // The whole document failed its first pass: find where, to make the error useful.
      const char* at = begin;
      if (e == simdjson::UTF8_ERROR) {
        const char* p = begin;
        while (p < end) {
          const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
          const char* le = nl ? nl : end;
          if (!IsValidUtf8(std::string_view(p, static_cast<size_t>(le - p)))) {
            at = p;
            break;
          }
          p = le + 1;
        }
      }
      FailJson(e);
      AddError(errors, LineAt(at), error_class_, error_message_ + " (in the JSON array; no element was decoded)",
               std::string_view(at, static_cast<size_t>(end - at)));
      return Status::OK();
    }
    doc_ = &doc;
    od::array arr;
    if (auto e2 = doc.get_array().get(arr)) {
      FailJson(e2);
      AddError(errors, first_line, error_class_, error_message_ + kStopped, data);
      doc_ = nullptr;
      return Status::OK();
    }
    for (auto er : arr) {
      od::value v;
      const char* start = nullptr;
      if (doc.current_location().get(start)) start = end;
      if (auto e3 = std::move(er).get(v)) {
        ResetRecord(end);
        FailJson(e3);
        AddError(errors, LineAt(start), error_class_, error_message_ + kStopped,
                 std::string_view(start, static_cast<size_t>(end - start)));
        doc_ = nullptr;
        return Status::OK();
      }
      start = v.raw_json_token().data();
      int64_t line = LineAt(start);
      ResetRecord(end);
      bool ok = ReadRecord(v);
      if (!ok && error_class_ == kTooDeep) {
        // The element was read only partly; the array iterator skips the rest of it (without
        // recursion), so decoding goes on with the next element.
        AddError(errors, line, error_class_, std::move(error_message_),
                 std::string_view(start, static_cast<size_t>(EndOfContainer(start, end) - start)));
        continue;
      }
      if (!ok && error_class_ != kTypeMismatch) {
        AddError(errors, line, error_class_, error_message_ + kStopped,
                 std::string_view(start, static_cast<size_t>(end - start)));
        doc_ = nullptr;
        return Status::OK();
      }
      const char* elem_end = nullptr;
      if (doc.current_location().get(elem_end)) elem_end = end;
      if (elem_end <= start) {
        // A scalar read from its token does not move the iterator; its token is its text.
        std::string_view tok = v.raw_json_token();
        elem_end = tok.data() + tok.size();
      }
      while (elem_end > start && IsJsonBlank(elem_end[-1])) --elem_end;
      std::string_view text(start, static_cast<size_t>(elem_end - start));
      if (!ok) {
        AddError(errors, line, error_class_, std::move(error_message_), text);
        continue;
      }
      if (text.size() > options.max_record_bytes) {
        AddError(errors, line, kOversized,
                 "record of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                     std::to_string(options.max_record_bytes) + " bytes",
                 text);
        continue;
      }
      Status st = rows.CommitRow(line, text);
      if (!st.ok()) {
        doc_ = nullptr;
        return st;
      }
    }
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) {
      AddError(errors, LineAt(rest), kMalformedJson, "malformed JSON: unexpected content after the JSON array",
               std::string_view(rest, static_cast<size_t>(end - rest)));
    }
    doc_ = nullptr;
    return Status::OK();
  }

  Status Decode(std::string_view data, int64_t first_line, const BatchCallback& on_batch,
                std::vector<DecodeError>& errors) {
    rows.Start(&on_batch);
    // A UTF-8 byte order mark is not part of the first record.
    if (data.size() >= 3 && std::memcmp(data.data(), "\xEF\xBB\xBF", 3) == 0) data.remove_prefix(3);
    size_t i = 0;
    while (i < data.size() && IsJsonBlank(data[i])) ++i;
    Status st;
    if (i < data.size() && data[i] == '[') {
      int64_t line = first_line;
      for (size_t k = 0; k < i; ++k) line += data[k] == '\n';
      st = DecodeArray(data.substr(i), line, errors);
    } else {
      st = DecodeLines(data, first_line, errors);
    }
    SLUICE_RETURN_IF_ERROR(st);
    return rows.Flush();
  }

  SchemaPtr schema;
  DecodeOptions options;
  RowAssembler rows;
  std::vector<DataType> types;
  std::vector<PathNode> nodes;
  od::parser parser;

  // State of the record being decoded.
  od::document* doc_ = nullptr;
  const char* record_end_ = nullptr;  // end of the record's bytes (bounds scans)
  const char* error_class_ = nullptr;
  std::string error_message_;
  bool mismatch_ = false;
  std::string mismatch_message_;
  // Line tracking for arrays.
  const char* line_pos_ = nullptr;
  int64_t line_no_ = 0;
};

JsonDecoder::JsonDecoder(SchemaPtr schema, DecodeOptions options)
    : impl_(std::make_unique<Impl>(std::move(schema), std::move(options))) {}
JsonDecoder::~JsonDecoder() = default;

int64_t JsonDecoder::next_line() const { return impl_->next_line_; }

Status JsonDecoder::Decode(std::string_view data, int64_t first_line, const BatchCallback& on_batch,
                           std::vector<DecodeError>& errors) {
  return impl_->Decode(data, first_line, on_batch, errors);
}

}  // namespace sluice::formats
