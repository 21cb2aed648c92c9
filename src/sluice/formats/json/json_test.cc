#include "sluice/formats/json/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::formats {
namespace {

// The input with kInputPadding bytes after it. The padding is deliberately not zero or blank:
// decoders may read it but must not take it for data.
struct Padded {
  explicit Padded(std::string_view s) : buf(s) {
    buf.append(kInputPadding, '7');
    size = s.size();
  }
  std::string_view view() const { return std::string_view(buf.data(), size); }
  std::string buf;
  size_t size;
};

struct Decoded {
  Status status;
  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  // All rows of all batches, as Values.
  std::vector<std::vector<Value>> rows;
  std::vector<int64_t> lines;
};

Decoded DecodeJson(SchemaPtr schema, std::string_view text, DecodeOptions options = {},
                   int64_t first_line = 1) {
  Decoded d;
  JsonDecoder dec(schema, options);
  Padded in(text);
  d.status = dec.Decode(in.view(), first_line,
                        [&](Batch b) {
                          d.batches.push_back(std::move(b));
                          return Status::OK();
                        },
                        d.errors);
  for (const auto& b : d.batches) {
    for (uint32_t r = 0; r < b.num_rows(); ++r) {
      std::vector<Value> row;
      for (size_t c = 0; c < b.num_columns(); ++c) row.push_back(b.column(c)->GetValue(r));
      d.rows.push_back(std::move(row));
      d.lines.push_back(b.RowOffset(r));
    }
  }
  return d;
}

SchemaPtr MakeSchema(std::vector<Field> fields) { return std::make_shared<const Schema>(std::move(fields)); }

SchemaPtr AllTypes() {
  return MakeSchema({{"b", DataType::Bool()},
                     {"i32", DataType::Int32()},
                     {"i64", DataType::Int64()},
                     {"f", DataType::Float64()},
                     {"d", DataType::Decimal(18, 2)},
                     {"s", DataType::String()},
                     {"bin", DataType::Binary()},
                     {"dt", DataType::Date()},
                     {"ts", DataType::Timestamp()}});
}

bool SameValue(const Value& a, const Value& b) {
  if (a.type().id == TypeId::kFloat64 && b.type().id == TypeId::kFloat64 && !a.is_null() && !b.is_null() &&
      std::isnan(a.double_value()) && std::isnan(b.double_value())) {
    return true;
  }
  return a == b;
}

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

Batch AllTypesBatch(SchemaPtr schema) {
  BatchBuilder bb(schema);
  const double inf = std::numeric_limits<double>::infinity();
  bb.AppendRow({Value::Bool(true), Value::Int32(INT32_MIN), Value::Int64(INT64_MAX), Value::Float64(0.1),
                Value::Decimal(-123456789012345678, 18, 2), Value::String("héllo \"wörld\"\n\t\\ \x01 😀"),
                Value::Binary(AllBytes()), Value::Date(-719162), Value::Timestamp(-1)});
  bb.AppendRow({Value::Bool(false), Value::Int32(INT32_MAX), Value::Int64(INT64_MIN), Value::Float64(-1e-300),
                Value::Decimal(5, 18, 2), Value::String(""), Value::Binary(""), Value::Date(0),
                Value::Timestamp(-62135596800000000)});
  bb.AppendRow({Value::Null(DataType::Bool()), Value::Null(DataType::Int32()), Value::Null(DataType::Int64()),
                Value::Null(DataType::Float64()), Value::Null(DataType::Decimal(18, 2)),
                Value::Null(DataType::String()), Value::Null(DataType::Binary()), Value::Null(DataType::Date()),
                Value::Null(DataType::Timestamp())});
  bb.AppendRow({Value::Bool(true), Value::Int32(0), Value::Int64(-1), Value::Float64(inf), Value::Decimal(0, 18, 2),
                Value::String("日本語"), Value::Binary("\xff"), Value::Date(20778),
                Value::Timestamp(1795000000123456)});
  bb.AppendRow({Value::Bool(false), Value::Int32(-1), Value::Int64(0),
                Value::Float64(std::numeric_limits<double>::quiet_NaN()), Value::Decimal(-1, 18, 2),
                Value::String("null"), Value::Binary("ab"), Value::Date(-1), Value::Timestamp(0)});
  bb.AppendRow({Value::Bool(true), Value::Int32(7), Value::Int64(1), Value::Float64(-inf),
                Value::Decimal(999999999999999999, 18, 2), Value::String(" "), Value::Binary("abc"),
                Value::Date(2932896), Value::Timestamp(-86400000001)});
  return bb.Finish();
}

TEST(JsonRoundTrip, EveryTypeWithNullsUnicodeAndEdgeValues) {
  SchemaPtr schema = AllTypes();
  Batch batch = AllTypesBatch(schema);
  std::string out;
  JsonEncoder enc(schema);
  enc.Encode(batch, out);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 6);
  Decoded d = DecodeJson(schema, out);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].message;
  ASSERT_EQ(d.rows.size(), batch.num_rows());
  for (uint32_t r = 0; r < batch.num_rows(); ++r) {
    for (size_t c = 0; c < schema->size(); ++c) {
      Value want = batch.column(c)->GetValue(r);
      EXPECT_TRUE(SameValue(d.rows[r][c], want))
          << "row " << r << " field " << schema->field(c).name << ": " << d.rows[r][c].ToString() << " vs "
          << want.ToString();
    }
  }
}

TEST(JsonEncoder, WritesExactTextRegroupsDottedNamesAndHonoursSelection) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()},
                                 {"data.page", DataType::String()},
                                 {"amount", DataType::Decimal(10, 2)},
                                 {"data.ref.id", DataType::Int32()},
                                 {"ts", DataType::Timestamp()},
                                 {"day", DataType::Date()},
                                 {"f", DataType::Float64()},
                                 {"n", DataType::String()}});
  BatchBuilder bb(schema);
  bb.AppendRow({Value::Int64(1), Value::String("/a\"b"), Value::Decimal(1230, 10, 2), Value::Int32(7),
                Value::Timestamp(-1), Value::Date(0), Value::Float64(0.1), Value::Null(DataType::String())});
  bb.AppendRow({Value::Int64(2), Value::String("x"), Value::Decimal(-5, 10, 2), Value::Int32(8),
                Value::Timestamp(0), Value::Date(1), Value::Float64(1e21), Value::String("y")});
  bb.AppendRow({Value::Int64(3), Value::String("z"), Value::Decimal(0, 10, 2), Value::Int32(9), Value::Timestamp(0),
                Value::Date(1), Value::Float64(2), Value::String("w")});
  Batch b = bb.Finish();
  b.set_selection({0, 2});
  JsonEncoder enc(schema);
  std::string out;
  enc.Encode(b, out);
  EXPECT_EQ(out,
            "{\"id\":1,\"data\":{\"page\":\"/a\\\"b\",\"ref\":{\"id\":7}},\"amount\":12.30,"
            "\"ts\":\"1969-12-31T23:59:59.999999Z\",\"day\":\"1970-01-01\",\"f\":0.1,\"n\":null}\n"
            "{\"id\":3,\"data\":{\"page\":\"z\",\"ref\":{\"id\":9}},\"amount\":0.00,"
            "\"ts\":\"1970-01-01T00:00:00Z\",\"day\":\"1970-01-02\",\"f\":2,\"n\":\"w\"}\n");
  std::string row;
  enc.EncodeRow(b, 1, row);
  EXPECT_EQ(row.find('\n'), std::string::npos);
  EXPECT_NE(row.find("\"f\":1e+21"), std::string::npos) << row;
  // The regrouped text decodes back into the dotted fields.
  Decoded d = DecodeJson(schema, out);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][1], Value::String("/a\"b"));
  EXPECT_EQ(d.rows[1][3], Value::Int32(9));
}

TEST(JsonEncoder, EscapesStrings) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\n\r\t\b\f\x01\x1f é");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f é\"");
}

TEST(JsonDecoder, MalformedLinesAreRejectedOneByOne) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()}, {"ok", DataType::Bool()}});
  std::string in =
      "{\"id\":1}\n"
      "{\"id\":\n"                       // 2: truncated
      "{\"id\":3,\"ok\":tru}\n"          // 3: bad literal in a known field
      "{\"id\":4,\"extra\":[1,2,}\n"     // 4: bad JSON inside an unknown key
      "{\"id\":5,\"x\":nul}\n"           // 5: bad literal inside an unknown key
      "{\"id\":6} trailing\n"            // 6: content after the object
      "{\"id\":7,\"x\":01}\n"            // 7: a number JSON does not allow
      "{\"id\":8,\"x\":\"a\\q\"}\n"      // 8: bad escape
      "{\"id\":9}";                     // 9: good, no final newline
  Decoded d = DecodeJson(schema, in);
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(1));
  EXPECT_EQ(d.rows[1][0], Value::Int64(9));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{1, 9}));
  ASSERT_EQ(d.errors.size(), 7u);
  std::vector<int64_t> lines;
  for (const auto& e : d.errors) {
    EXPECT_EQ(e.error_class, "malformed_json") << e.line << ": " << e.message;
    lines.push_back(e.line);
  }
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(d.errors[0].raw, "{\"id\":");
  EXPECT_EQ(d.errors[4].raw, "{\"id\":6} trailing");
}

TEST(JsonDecoder, InvalidUtf8IsItsOwnErrorClass) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}});
  std::string in =
      "{\"s\":\"ok\"}\n"
      "{\"s\":\"a\xff\"}\n"          // stray byte
      "{\"s\":\"\xe2\x82\"}\n"        // truncated sequence
      "{\"s\":\"\xc0\xaf\"}\n"        // overlong
      "{\"other\":\"\xed\xa0\x80\"}\n"  // surrogate, in a key nobody asked for
      "{\"s\":\"\xe2\x82\xac\"}\n";
  Decoded d = DecodeJson(schema, in);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1][0], Value::String("€"));
  ASSERT_EQ(d.errors.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(d.errors[i].error_class, "invalid_utf8");
    EXPECT_EQ(d.errors[i].line, static_cast<int64_t>(i + 2));
  }
  EXPECT_EQ(d.errors[0].raw, "{\"s\":\"a\xff\"}");
}

TEST(JsonDecoder, WrongTypesNameTheFieldTheTypeAndTheValue) {
  SchemaPtr schema = MakeSchema({{"amount", DataType::Decimal(18, 2)},
                                 {"n", DataType::Int32()},
                                 {"flag", DataType::Bool()},
                                 {"day", DataType::Date()},
                                 {"ts", DataType::Timestamp()},
                                 {"name", DataType::String()},
                                 {"bin", DataType::Binary()}});
  std::string in =
      "{\"amount\":\"abc\"}\n"
      "{\"n\":1.5}\n"
      "{\"n\":3000000000}\n"
      "{\"flag\":1}\n"
      "{\"day\":\"2026-13-01\"}\n"
      "{\"ts\":1.5}\n"
      "{\"name\":42}\n"
      "{\"amount\":1234567890123456789}\n"
      "{\"bin\":\"not base64!\"}\n"
      "{\"n\":\"12\"}\n"
      "{\"amount\":\"12.5\",\"n\":-7,\"flag\":false,\"day\":\"2026-11-21\",\"ts\":\"2026-11-21T10:00:00+01:00\","
      "\"name\":\"x\",\"bin\":\"AAE=\"}\n";
  Decoded d = DecodeJson(schema, in);
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.lines[0], 11);
  EXPECT_EQ(d.rows[0][0], Value::Decimal(1250, 18, 2));
  EXPECT_EQ(d.rows[0][1], Value::Int32(-7));
  EXPECT_EQ(d.rows[0][4], Value::Timestamp(*ParseTimestamp("2026-11-21T09:00:00Z")));
  EXPECT_EQ(d.rows[0][6], Value::Binary(std::string("\0\1", 2)));
  ASSERT_EQ(d.errors.size(), 10u);
  for (const auto& e : d.errors) EXPECT_EQ(e.error_class, "type_mismatch") << e.line << ": " << e.message;
  EXPECT_EQ(d.errors[0].message, "field 'amount': expected decimal(18,2), got string \"abc\"");
  EXPECT_NE(d.errors[1].message.find("field 'n': expected int32, got number 1.5"), std::string::npos);
  EXPECT_NE(d.errors[2].message.find("field 'n': expected int32, got number 3000000000"), std::string::npos);
  EXPECT_NE(d.errors[3].message.find("field 'flag': expected bool, got number 1"), std::string::npos);
  EXPECT_NE(d.errors[4].message.find("expected date, got string \"2026-13-01\""), std::string::npos);
  EXPECT_NE(d.errors[6].message.find("field 'name': expected string, got number 42"), std::string::npos);
  EXPECT_NE(d.errors[7].message.find("field 'amount'"), std::string::npos);
  EXPECT_EQ(d.errors[9].line, 10);
}

TEST(JsonDecoder, MissingFieldsAndNullsAreNull) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int64()}, {"b", DataType::String()}, {"c", DataType::Date()}});
  Decoded d = DecodeJson(schema, "{\"a\":1}\n{\"b\":null,\"c\":null,\"a\":null}\n{}\n");
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(1));
  EXPECT_TRUE(d.rows[0][1].is_null());
  for (const auto& v : d.rows[1]) EXPECT_TRUE(v.is_null());
  for (const auto& v : d.rows[2]) EXPECT_TRUE(v.is_null());
  ASSERT_EQ(d.batches.size(), 1u);
  EXPECT_EQ(d.batches[0].column(2)->null_count(), 3u);
}

TEST(JsonDecoder, OversizedRecords) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}});
  DecodeOptions o;
  o.max_record_bytes = 20;
  std::string big = "{\"s\":\"" + std::string(100, 'x') + "\"}";
  Decoded d = DecodeJson(schema, "{\"s\":\"small\"}\n" + big + "\n{\"s\":\"after\"}\n", o);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1][0], Value::String("after"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].error_class, "oversized_record");
  EXPECT_EQ(d.errors[0].line, 2);
  EXPECT_EQ(d.errors[0].raw, big);
  // The raw payload is capped.
  std::string huge = "{\"s\":\"" + std::string(kMaxRawBytes * 2, 'y') + "\"}";
  Decoded h = DecodeJson(schema, huge, o);
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_EQ(h.errors[0].raw.size(), kMaxRawBytes);
}

// `levels` nested containers around `inner`: Nest(2, "[", "1", "]") is [[1]].
std::string Nest(int levels, std::string_view open, std::string_view inner, std::string_view close) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += open;
  s += inner;
  for (int i = 0; i < levels; ++i) s += close;
  return s;
}

// A record nested 100,000 levels deep, wherever the depth is, is one too_deep error (not a stack
// overflow), and the next record decodes.
TEST(JsonDecoder, NestingDeeperThanTheLimitIsTooDeep) {
  SchemaPtr schema = MakeSchema(
      {{"id", DataType::Int64()}, {"s", DataType::String()}, {"data.page", DataType::String()}});
  constexpr int kDeep = 100000;
  const std::string arrays = Nest(kDeep, "[", "1", "]");
  const std::string objects = Nest(kDeep, "{\"a\":", "1", "}");
  const std::vector<std::string> bad = {
      "{\"id\":1,\"s\":" + arrays + "}",                   // a string field's value
      "{\"id\":2,\"other\":" + objects + "}",              // an unknown key's value
      "{\"id\":3,\"s\":[1," + arrays + "]}",               // an element of an array
      "{\"id\":4,\"data\":{\"page\":" + objects + "}}",    // under a dotted path
      "{\"id\":\"wrong type\",\"other\":" + arrays + "}",  // after a type mismatch
      arrays,                                              // a whole line that is an array
      objects,                                             // a whole record
  };
  std::string in;
  for (const auto& line : bad) in += line + "\n";
  in += "{\"id\":9,\"s\":\"after\"}\n";
  Decoded d = DecodeJson(schema, in);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(9));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{8}));
  ASSERT_EQ(d.errors.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(d.errors[i].error_class, "too_deep") << i << ": " << d.errors[i].message;
    EXPECT_EQ(d.errors[i].line, static_cast<int64_t>(i + 1));
    EXPECT_EQ(d.errors[i].raw, bad[i].substr(0, kMaxRawBytes)) << i;
    EXPECT_NE(d.errors[i].message.find("deeper than 1000 levels"), std::string::npos) << d.errors[i].message;
  }

  // A JSON array input: the deep elements are rejected one by one, the others decode.
  // Its text ends at its own closing bracket, not at one inside a string.
  const std::string small_deep = Nest(kMaxJsonNesting + 1, "[", "\"]}\\\"]\"", "]");
  Decoded a = DecodeJson(
      schema, "[{\"id\":1},\n" + arrays + ",\n{\"id\":3,\"s\":" + objects + "},\n" + small_deep + ",\n{\"id\":5}]");
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[1][0], Value::Int64(5));
  EXPECT_EQ(a.lines, (std::vector<int64_t>{1, 5}));
  ASSERT_EQ(a.errors.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.errors[i].error_class, "too_deep") << a.errors[i].message;
    EXPECT_EQ(a.errors[i].line, static_cast<int64_t>(i + 2));
  }
  EXPECT_EQ(a.errors[0].raw, arrays.substr(0, kMaxRawBytes));
  EXPECT_EQ(a.errors[2].raw, small_deep);

  // A whole document nested that deep.
  Decoded w = DecodeJson(schema, arrays);
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_EQ(w.errors[0].error_class, "too_deep");
}

// The limit counts the record as level 1: kMaxJsonNesting levels decode, one more does not.
TEST(JsonDecoder, NestingUpToTheLimitDecodes) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}, {"data.page", DataType::String()}});
  const int inner = kMaxJsonNesting - 1;  // levels inside the record
  const std::string at_limit = Nest(inner, "[", "1", "]");
  Decoded ok = DecodeJson(schema, "{\"s\":" + at_limit + ",\"data\":{\"page\":" + Nest(inner - 1, "{\"b\":", "2", "}") +
                                      "},\"x\":" + Nest(inner, "{\"c\":", "3", "}") + "}\n");
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].message;
  ASSERT_EQ(ok.rows.size(), 1u);
  EXPECT_EQ(ok.rows[0][0], Value::String(at_limit));
  for (const std::string& line :
       {"{\"s\":" + Nest(inner + 1, "[", "1", "]") + "}", "{\"data\":{\"page\":" + Nest(inner, "[", "1", "]") + "}}",
        "{\"x\":" + Nest(inner + 1, "{\"c\":", "3", "}") + "}", Nest(kMaxJsonNesting + 1, "[", "1", "]")}) {
    Decoded d = DecodeJson(schema, "{}\n" + line);  // NDJSON: the first line is an object
    ASSERT_EQ(d.errors.size(), 1u) << line.substr(0, 40);
    EXPECT_EQ(d.errors[0].error_class, "too_deep") << line.substr(0, 40);
  }
  // A line that is an array within the limit is still just not an object.
  Decoded arr = DecodeJson(schema, "{}\n" + Nest(kMaxJsonNesting, "[", "1", "]"));
  ASSERT_EQ(arr.errors.size(), 1u);
  EXPECT_EQ(arr.errors[0].error_class, "type_mismatch");
}

TEST(JsonDecoder, BlankLinesCrLfAndLineNumbers) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()}, {"_raw", DataType::String()}});
  std::string in = "\r\n{\"id\":1}\r\n\r\n   \t\r\n{\"id\":2} \r\n{\"id\":x}\r\n{\"id\":3}";
  Decoded d = DecodeJson(schema, in, {}, 100);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.lines, (std::vector<int64_t>{101, 104, 106}));
  EXPECT_EQ(d.rows[0][1], Value::String("{\"id\":1}"));
  EXPECT_EQ(d.rows[1][1], Value::String("{\"id\":2}"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line, 105);
  EXPECT_EQ(d.errors[0].raw, "{\"id\":x}");
}

TEST(JsonDecoder, RawFieldHoldsTheRecordText) {
  SchemaPtr schema = MakeSchema({{"_raw", DataType::String()}, {"a", DataType::Int64()}});
  Decoded d = DecodeJson(schema, "{\"a\":1,\"_raw\":\"ignored\",\"b\":[1,{\"c\":2}]}\n");
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0][0], Value::String("{\"a\":1,\"_raw\":\"ignored\",\"b\":[1,{\"c\":2}]}"));
  EXPECT_EQ(d.rows[0][1], Value::Int64(1));
}

TEST(JsonDecoder, ArrayInput) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()}, {"_raw", DataType::String()}});
  std::string in = "\n  [\n {\"id\":1},\n {\"id\":\"two\"},\n 42,\n {\"id\":4, \"x\":{}}\n]\n";
  Decoded d = DecodeJson(schema, in);
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(1));
  EXPECT_EQ(d.rows[1][0], Value::Int64(4));
  EXPECT_EQ(d.rows[1][1], Value::String("{\"id\":4, \"x\":{}}"));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{3, 6}));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].error_class, "type_mismatch");
  EXPECT_EQ(d.errors[0].line, 4);
  EXPECT_EQ(d.errors[0].raw, "{\"id\":\"two\"}");
  EXPECT_EQ(d.errors[1].error_class, "type_mismatch");
  EXPECT_EQ(d.errors[1].line, 5);
  EXPECT_EQ(d.errors[1].raw, "42");
}

TEST(JsonDecoder, BrokenArrayStopsWithWhatItHas) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int64()}});
  Decoded d = DecodeJson(schema, "[{\"a\":1},\n{\"a\":2},\n{\"a\": },\n{\"a\":4}]");
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.rows.size(), 2u);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].error_class, "malformed_json");
  EXPECT_EQ(d.errors[0].line, 3);
  EXPECT_NE(d.errors[0].message.find("cannot be resynchronized"), std::string::npos) << d.errors[0].message;
  EXPECT_EQ(d.errors[0].raw, "{\"a\": },\n{\"a\":4}]");

  // Invalid UTF-8 anywhere fails the array as a whole, and says where.
  Decoded u = DecodeJson(schema, "[{\"a\":1},\n{\"a\":2,\"s\":\"\xff\"}]");
  EXPECT_TRUE(u.rows.empty());
  ASSERT_EQ(u.errors.size(), 1u);
  EXPECT_EQ(u.errors[0].error_class, "invalid_utf8");
  EXPECT_EQ(u.errors[0].line, 2);

  // Content after the closing bracket makes the whole array unreadable.
  Decoded t = DecodeJson(schema, "[{\"a\":1}] 5");
  EXPECT_TRUE(t.rows.empty());
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0].error_class, "malformed_json");
}

TEST(JsonDecoder, NestedDottedPaths) {
  SchemaPtr schema = MakeSchema({{"data.page", DataType::String()},
                                 {"data.ref.id", DataType::Int64()},
                                 {"id", DataType::Int64()},
                                 {"meta", DataType::String()}});
  std::string in =
      "{\"id\":1,\"data\":{\"x\":[1,2],\"page\":\"/home\",\"ref\":{\"id\":9,\"y\":true}},\"meta\":{\"k\": [1, \"v\"]}}\n"
      "{\"data\":null,\"id\":2}\n"
      "{\"data\":{\"ref\":null},\"id\":3}\n"
      "{\"data\":\"flat\",\"id\":4}\n"
      "{\"data.page\":\"/flat\",\"id\":5}\n";
  Decoded d = DecodeJson(schema, in);
  ASSERT_EQ(d.rows.size(), 4u) << (d.errors.empty() ? "" : d.errors[0].message);
  EXPECT_EQ(d.rows[0][0], Value::String("/home"));
  EXPECT_EQ(d.rows[0][1], Value::Int64(9));
  EXPECT_EQ(d.rows[0][3], Value::String("{\"k\": [1, \"v\"]}"));  // an object kept as JSON text
  EXPECT_TRUE(d.rows[1][0].is_null());
  EXPECT_TRUE(d.rows[1][1].is_null());
  EXPECT_TRUE(d.rows[2][1].is_null());
  EXPECT_EQ(d.rows[3][0], Value::String("/flat"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line, 4);
  EXPECT_EQ(d.errors[0].error_class, "type_mismatch");
  EXPECT_NE(d.errors[0].message.find("'data'"), std::string::npos) << d.errors[0].message;
}

TEST(JsonDecoder, FieldThatIsAlsoAPrefixKeepsItsJsonText) {
  SchemaPtr schema = MakeSchema({{"data", DataType::String()}, {"data.page", DataType::Int64()}});
  Decoded d = DecodeJson(schema, "{\"data\":{\"page\":3,\"q\":\"x\"}}\n{\"data\":\"plain\"}\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], Value::String("{\"page\":3,\"q\":\"x\"}"));
  EXPECT_EQ(d.rows[0][1], Value::Int64(3));
  EXPECT_EQ(d.rows[1][0], Value::String("plain"));
  EXPECT_TRUE(d.rows[1][1].is_null());
}

TEST(JsonDecoder, DuplicateKeysLastWins) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int64()}, {"d.x", DataType::Int64()}});
  Decoded d = DecodeJson(schema, "{\"a\":1,\"a\":2,\"d\":{\"x\":1},\"d\":{\"x\":5}}\n{\"a\":null,\"a\":3}\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(2));
  EXPECT_EQ(d.rows[0][1], Value::Int64(5));
  EXPECT_EQ(d.rows[1][0], Value::Int64(3));
}

TEST(JsonDecoder, DecimalsComeFromTheExactText) {
  SchemaPtr schema = MakeSchema({{"d", DataType::Decimal(18, 2)}, {"e", DataType::Decimal(5, 0)}});
  Decoded d = DecodeJson(schema,
                         "{\"d\":1.005}\n{\"d\":-1.005}\n{\"d\":1234567890123456.78}\n{\"d\":1.5e2}\n"
                         "{\"d\":\"-0.125\"}\n{\"d\":2E-3,\"e\":99999.4}\n{\"e\":99999.5}\n{\"d\":1e400}\n");
  ASSERT_EQ(d.rows.size(), 6u);
  EXPECT_EQ(d.rows[0][0], Value::Decimal(101, 18, 2));  // a double would give 1.00
  EXPECT_EQ(d.rows[1][0], Value::Decimal(-101, 18, 2));
  EXPECT_EQ(d.rows[2][0], Value::Decimal(123456789012345678, 18, 2));
  EXPECT_EQ(d.rows[3][0], Value::Decimal(15000, 18, 2));
  EXPECT_EQ(d.rows[4][0], Value::Decimal(-13, 18, 2));
  EXPECT_EQ(d.rows[5][0], Value::Decimal(0, 18, 2));
  EXPECT_EQ(d.rows[5][1], Value::Decimal(99999, 5, 0));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].line, 7);  // 99999.5 rounds to 100000: six digits
  EXPECT_EQ(d.errors[0].error_class, "type_mismatch");
  EXPECT_EQ(d.errors[1].line, 8);
  EXPECT_EQ(d.errors[1].error_class, "type_mismatch");
}

TEST(JsonDecoder, Timestamps) {
  SchemaPtr schema = MakeSchema({{"ts", DataType::Timestamp()}});
  Decoded d = DecodeJson(schema,
                         "{\"ts\":\"1969-12-31T23:59:59.5Z\"}\n{\"ts\":-1500}\n{\"ts\":1700000000123}\n"
                         "{\"ts\":\"2026-11-21 10:15:30.123456+02:00\"}\n{\"ts\":\"1700000000123\"}\n"
                         "{\"ts\":9223372036854775807}\n");
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0][0], Value::Timestamp(-500000));
  EXPECT_EQ(d.rows[1][0], Value::Timestamp(-1500000));
  EXPECT_EQ(d.rows[2][0], Value::Timestamp(1700000000123000));
  EXPECT_EQ(d.rows[3][0], Value::Timestamp(*ParseTimestamp("2026-11-21T08:15:30.123456Z")));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].line, 5);  // a string must be ISO-8601
  EXPECT_EQ(d.errors[1].line, 6);  // overflows microseconds
}

TEST(JsonDecoder, EscapedKeysAndStrings) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}, {"t", DataType::String()}});
  Decoded d = DecodeJson(schema, "{\"\\u0073\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\",\"t\":\"\"}\n");
  ASSERT_EQ(d.rows.size(), 1u) << (d.errors.empty() ? "" : d.errors[0].message);
  EXPECT_EQ(d.rows[0][0], Value::String("a\"b\\c\né😀"));
  EXPECT_EQ(d.rows[0][1], Value::String(""));
}

TEST(JsonDecoder, NonObjectLinesAreTypeMismatches) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int64()}});
  Decoded d = DecodeJson(schema, "{\"a\":1}\n42\n\"s\"\n[1]\nnull\n");
  ASSERT_EQ(d.rows.size(), 1u);
  ASSERT_EQ(d.errors.size(), 4u);
  for (const auto& e : d.errors) EXPECT_EQ(e.error_class, "type_mismatch") << e.message;
  EXPECT_NE(d.errors[0].message.find("got number 42"), std::string::npos) << d.errors[0].message;
}

TEST(JsonDecoder, BatchesSplitAtBatchRowsAndCarryOrigin) {
  SchemaPtr schema = MakeSchema({{"i", DataType::Int64()}});
  DecodeOptions o;
  o.batch_rows = 4;
  o.origin_source = "events";
  o.origin_location = "/data/a.ndjson";
  std::string in;
  for (int i = 0; i < 10; ++i) in += "{\"i\":" + std::to_string(i) + "}\n";
  Decoded d = DecodeJson(schema, in, o);
  ASSERT_EQ(d.batches.size(), 3u);
  EXPECT_EQ(d.batches[0].num_rows(), 4u);
  EXPECT_EQ(d.batches[1].num_rows(), 4u);
  EXPECT_EQ(d.batches[2].num_rows(), 2u);
  for (const auto& b : d.batches) {
    ASSERT_NE(b.origin(), nullptr);
    EXPECT_EQ(b.origin()->source, "events");
    EXPECT_EQ(b.origin()->location, "/data/a.ndjson");
  }
  EXPECT_EQ(d.batches[1].RowOffset(0), 5);
  EXPECT_EQ(d.batches[2].column(0)->GetValue(1), Value::Int64(9));
}

TEST(JsonDecoder, CallbackErrorStopsDecoding) {
  SchemaPtr schema = MakeSchema({{"i", DataType::Int64()}});
  DecodeOptions o;
  o.batch_rows = 2;
  JsonDecoder dec(schema, o);
  Padded in("{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n{\"i\":4}\n{\"i\":5}\n");
  std::vector<DecodeError> errors;
  int calls = 0;
  Status st = dec.Decode(in.view(), 1,
                         [&](Batch) {
                           ++calls;
                           return Status::IoError("sink is full");
                         },
                         errors);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(calls, 1);
}

TEST(JsonDecoder, DecoderIsReusableAcrossInputs) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}});
  JsonDecoder dec(schema, {});
  for (int k = 0; k < 3; ++k) {
    Padded in("{\"s\":\"v" + std::to_string(k) + "\"}\n[");
    std::vector<DecodeError> errors;
    std::vector<Batch> out;
    ASSERT_TRUE(dec.Decode(in.view(), 1, [&](Batch b) { out.push_back(std::move(b)); return Status::OK(); }, errors).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].column(0)->GetValue(0), Value::String("v" + std::to_string(k)));
    EXPECT_EQ(errors.size(), 1u);
  }
}

TEST(JsonDecoder, EmptyInputMakesNoBatch) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}});
  Decoded d = DecodeJson(schema, "\n\n  \n");
  EXPECT_TRUE(d.status.ok());
  EXPECT_TRUE(d.batches.empty());
  EXPECT_TRUE(d.errors.empty());
}

}  // namespace
}  // namespace sluice::formats
