#include "sluice/formats/csv/csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "sluice/types/temporal.h"

namespace sluice::formats {
namespace {

struct Decoded {
  Status status;
  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  std::vector<std::vector<Value>> rows;
  std::vector<int64_t> lines;
};

Decoded DecodeCsv(SchemaPtr schema, std::string_view text, CsvOptions csv = {}, DecodeOptions options = {}) {
  Decoded d;
  CsvDecoder dec(schema, csv, options);
  std::string buf(text);
  buf.append(kInputPadding, '"');  // padding that would confuse a decoder reading past the end
  d.status = dec.Decode(std::string_view(buf.data(), text.size()),
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

bool SameValue(const Value& a, const Value& b) {
  if (a.type().id == TypeId::kFloat64 && b.type().id == TypeId::kFloat64 && !a.is_null() && !b.is_null() &&
      std::isnan(a.double_value()) && std::isnan(b.double_value())) {
    return true;
  }
  return a == b;
}

void ExpectRoundTrip(SchemaPtr schema, const Batch& batch, CsvOptions csv) {
  CsvEncoder enc(schema, csv);
  std::string out;
  enc.EncodeHeader(out);
  enc.Encode(batch, out);
  Decoded d = DecodeCsv(schema, out, csv);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].error_class << ": " << d.errors[0].message << "\n" << out;
  ASSERT_EQ(d.rows.size(), batch.num_rows()) << out;
  for (uint32_t r = 0; r < batch.num_rows(); ++r) {
    for (size_t c = 0; c < schema->size(); ++c) {
      Value want = batch.column(c)->GetValue(r);
      EXPECT_TRUE(SameValue(d.rows[r][c], want))
          << "row " << r << " field " << schema->field(c).name << ": got " << d.rows[r][c].ToString() << ", want "
          << want.ToString() << "\n"
          << out;
    }
  }
}

SchemaPtr AllTypes() {
  return MakeSchema({{"b", DataType::Bool()},
                     {"i32", DataType::Int32()},
                     {"i64", DataType::Int64()},
                     {"f", DataType::Float64()},
                     {"d", DataType::Decimal(12, 3)},
                     {"s", DataType::String()},
                     {"bin", DataType::Binary()},
                     {"dt", DataType::Date()},
                     {"ts", DataType::Timestamp()}});
}

Batch AllTypesBatch(SchemaPtr schema) {
  BatchBuilder bb(schema);
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  bb.AppendRow({Value::Bool(true), Value::Int32(INT32_MIN), Value::Int64(INT64_MAX), Value::Float64(0.1),
                Value::Decimal(-123456789012, 12, 3), Value::String("a,b \"quoted\"\nnext\r\nline é 😀"),
                Value::Binary(bytes), Value::Date(-719162), Value::Timestamp(-1)});
  bb.AppendRow({Value::Bool(false), Value::Int32(INT32_MAX), Value::Int64(INT64_MIN), Value::Float64(-2.5e-300),
                Value::Decimal(5, 12, 3), Value::String(""), Value::Binary(""), Value::Date(0),
                Value::Timestamp(-62135596800000000)});
  bb.AppendRow({Value::Null(DataType::Bool()), Value::Null(DataType::Int32()), Value::Null(DataType::Int64()),
                Value::Null(DataType::Float64()), Value::Null(DataType::Decimal(12, 3)),
                Value::Null(DataType::String()), Value::Null(DataType::Binary()), Value::Null(DataType::Date()),
                Value::Null(DataType::Timestamp())});
  bb.AppendRow({Value::Bool(true), Value::Int32(0), Value::Int64(-1),
                Value::Float64(std::numeric_limits<double>::infinity()), Value::Decimal(0, 12, 3),
                Value::String(" padded "), Value::Binary("\xff"), Value::Date(20778),
                Value::Timestamp(1795000000123456)});
  bb.AppendRow({Value::Bool(false), Value::Int32(-1), Value::Int64(0),
                Value::Float64(std::numeric_limits<double>::quiet_NaN()), Value::Decimal(-1, 12, 3),
                Value::String("NA"), Value::Binary("ab"), Value::Date(-1), Value::Timestamp(0)});
  bb.AppendRow({Value::Bool(true), Value::Int32(7), Value::Int64(1), Value::Float64(1e300),
                Value::Decimal(999999999999, 12, 3), Value::String("\""), Value::Binary("abc"),
                Value::Date(2932896), Value::Timestamp(-86400000001)});
  return bb.Finish();
}

TEST(CsvRoundTrip, EveryTypeWithNullsUnicodeAndEdgeValues) {
  SchemaPtr schema = AllTypes();
  ExpectRoundTrip(schema, AllTypesBatch(schema), CsvOptions{});
}

TEST(CsvRoundTrip, CustomDelimiterAndNullMarkers) {
  SchemaPtr schema = AllTypes();
  CsvOptions semi;
  semi.delimiter = ';';
  semi.null_values = {"NA", ""};
  ExpectRoundTrip(schema, AllTypesBatch(schema), semi);
  CsvOptions tab;
  tab.delimiter = '\t';
  tab.null_values = {"\\N"};
  ExpectRoundTrip(schema, AllTypesBatch(schema), tab);
}

TEST(CsvEncoder, QuotesOnlyWhenNeeded) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()},
                                 {"name", DataType::String()},
                                 {"amount", DataType::Decimal(10, 2)},
                                 {"ts", DataType::Timestamp()},
                                 {"na,me", DataType::String()}});
  BatchBuilder bb(schema);
  bb.AppendRow({Value::Int64(1), Value::String("plain"), Value::Decimal(1230, 10, 2), Value::Timestamp(0),
                Value::String("a \"b\"")});
  bb.AppendRow({Value::Int64(2), Value::String(""), Value::Decimal(-5, 10, 2), Value::Null(DataType::Timestamp()),
                Value::String("x,y")});
  bb.AppendRow({Value::Int64(3), Value::String("skip"), Value::Decimal(0, 10, 2), Value::Timestamp(0),
                Value::String("z")});
  Batch b = bb.Finish();
  b.set_selection({0, 1});
  CsvEncoder enc(schema, CsvOptions{});
  std::string out;
  enc.EncodeHeader(out);
  enc.Encode(b, out);
  EXPECT_EQ(out,
            "id,name,amount,ts,\"na,me\"\n"
            "1,plain,12.30,1970-01-01T00:00:00Z,\"a \"\"b\"\"\"\n"
            "2,\"\",-0.05,,\"x,y\"\n");
}

TEST(CsvDecoder, QuotesAndEmbeddedNewlinesKeepLineNumbersRight) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()}, {"text", DataType::String()}});
  std::string in =
      "id,text\n"                          // 1
      "1,\"two\nlines\"\n"                 // 2-3
      "2,\"say \"\"hi\"\", then\r\n\r\nbye\"\r\n"  // 4-6
      "x,plain\n"                          // 7: type error
      "3,\"\"\n"                           // 8
      "4,last";                            // 9
  Decoded d = DecodeCsv(schema, in);
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0][1], Value::String("two\nlines"));
  EXPECT_EQ(d.rows[1][1], Value::String("say \"hi\", then\r\n\r\nbye"));
  EXPECT_EQ(d.rows[2][1], Value::String(""));  // quoted empty is an empty string, not NULL
  EXPECT_EQ(d.rows[3][1], Value::String("last"));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 4, 8, 9}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line, 7);
  EXPECT_EQ(d.errors[0].error_class, "type_mismatch");
  EXPECT_EQ(d.errors[0].message, "field 'id' (column 1): expected int64, got \"x\"");
  EXPECT_EQ(d.errors[0].raw, "x,plain");
}

TEST(CsvDecoder, HeaderMapsByNameThenCaseInsensitively) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()},
                                 {"Name", DataType::String()},
                                 {"missing", DataType::Date()},
                                 {"amount", DataType::Decimal(10, 2)}});
  Decoded d = DecodeCsv(schema, "amount,extra,NAME,id\n1.5,zzz,bob,7\n");
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0][0], Value::Int64(7));
  EXPECT_EQ(d.rows[0][1], Value::String("bob"));
  EXPECT_TRUE(d.rows[0][2].is_null());
  EXPECT_EQ(d.rows[0][3], Value::Decimal(150, 10, 2));

  // An exact match beats a case-insensitive one, whatever the column order.
  SchemaPtr s2 = MakeSchema({{"a", DataType::String()}});
  Decoded e = DecodeCsv(s2, "A,a\nupper,lower\n");
  ASSERT_EQ(e.rows.size(), 1u);
  EXPECT_EQ(e.rows[0][0], Value::String("lower"));
}

TEST(CsvDecoder, WithoutHeaderMapsByPosition) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int32()}, {"_raw", DataType::String()}, {"b", DataType::Bool()}});
  CsvOptions o;
  o.header = false;
  Decoded d = DecodeCsv(schema, "1,TRUE\n2,0\n3,False\n4,yes\n", o);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0][0], Value::Int32(1));
  EXPECT_EQ(d.rows[0][1], Value::String("1,TRUE"));
  EXPECT_EQ(d.rows[0][2], Value::Bool(true));
  EXPECT_EQ(d.rows[1][2], Value::Bool(false));
  EXPECT_EQ(d.rows[2][2], Value::Bool(false));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line, 4);
}

TEST(CsvDecoder, NullMarkers) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}, {"n", DataType::Int64()}});
  CsvOptions o;
  o.null_values = {"NA", "\\N"};
  Decoded d = DecodeCsv(schema, "s,n\nNA,\\N\n\"NA\",1\n,2\n", o);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_TRUE(d.rows[0][0].is_null());
  EXPECT_TRUE(d.rows[0][1].is_null());
  EXPECT_EQ(d.rows[1][0], Value::String("NA"));  // quoted: a value, not a marker
  EXPECT_EQ(d.rows[2][0], Value::String(""));    // "" is not a marker here
  // With the default marker an empty unquoted field is NULL for every type.
  Decoded e = DecodeCsv(schema, "s,n\n,\n");
  ASSERT_EQ(e.rows.size(), 1u);
  EXPECT_TRUE(e.rows[0][0].is_null());
  EXPECT_TRUE(e.rows[0][1].is_null());
}

TEST(CsvDecoder, WrongFieldCounts) {
  SchemaPtr schema = MakeSchema({{"a", DataType::String()}, {"b", DataType::String()}});
  Decoded d = DecodeCsv(schema, "a,b\n1,2\n1\n1,2,3\n\n3,4\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 6}));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].error_class, "field_count");
  EXPECT_EQ(d.errors[0].line, 3);
  EXPECT_EQ(d.errors[0].message, "expected 2 fields, got 1");
  EXPECT_EQ(d.errors[1].line, 4);
  EXPECT_EQ(d.errors[1].raw, "1,2,3");
}

TEST(CsvDecoder, UnbalancedQuoteAtTheEndCostsOnlyItsLine) {
  SchemaPtr schema = MakeSchema({{"a", DataType::String()}, {"b", DataType::String()}});
  Decoded d = DecodeCsv(schema, "a,b\n1,2\n3,\"never closed\n4,5\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(d.rows[1][0], Value::String("4"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].error_class, "unbalanced_quote");
  EXPECT_EQ(d.errors[0].line, 3);
  EXPECT_EQ(d.errors[0].raw, "3,\"never closed");
  EXPECT_NE(d.errors[0].message.find("field 2: "), std::string::npos) << d.errors[0].message;
  EXPECT_NE(d.errors[0].message.find("the input ends with the quote still open"), std::string::npos)
      << d.errors[0].message;
  // On the last line, without a line end after it.
  Decoded last = DecodeCsv(schema, "a,b\n1,2\n3,\"x");
  ASSERT_EQ(last.errors.size(), 1u);
  EXPECT_EQ(last.errors[0].error_class, "unbalanced_quote");
  EXPECT_EQ(last.errors[0].line, 3);
  EXPECT_EQ(last.errors[0].raw, "3,\"x");
}

// A stray quote opens a field that a quote lines later closes, with text after it: the record
// they make is not CSV, so only the stray quote's line is rejected and the lines in between are
// records again. A legal quoted field across lines still is one record.
TEST(CsvDecoder, StrayQuoteIsResynchronizedAtTheNextLine) {
  SchemaPtr schema = MakeSchema({{"id", DataType::String()}, {"ts", DataType::String()}, {"n", DataType::Int64()}});
  const std::string input = "id,ts,n\n"
                            "o-1,2026-10-12T05:23:00Z,1\n"
                            "o-2,\"2026-10-12T05:23:00Z,2\n"  // stray quote
                            "o-3,2026-10-12T05:23:00Z,3\n"
                            "o-4,\"two\r\nlines\",4\r\n"      // legal
                            "o-5,\"2026-10-12T05:23:00Z,5\n"  // stray quote; its field closes at o-7's quote
                            "o-6,2026-10-12T05:23:00Z,6\n"
                            "o-7,\"2026-10-12T05:23:00Z,7\n"  // stray quote; nothing closes it
                            "o-8,2026-10-12T05:23:00Z,8\n";
  Decoded d = DecodeCsv(schema, input);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  std::vector<std::string> ids;
  for (const auto& row : d.rows) ids.push_back(row[0].ToString());
  EXPECT_EQ(ids, (std::vector<std::string>{"o-1", "o-3", "o-4", "o-6", "o-8"}));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 4, 5, 8, 10}));
  EXPECT_EQ(d.rows[2][1], Value::String("two\r\nlines"));
  ASSERT_EQ(d.errors.size(), 3u);
  const std::vector<int64_t> lines = {3, 7, 9};
  const std::vector<int> stray_ids = {2, 5, 7};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d.errors[i].error_class, "unbalanced_quote");
    EXPECT_EQ(d.errors[i].line, lines[i]);
    const std::string n = std::to_string(stray_ids[i]);
    EXPECT_EQ(d.errors[i].raw, "o-" + n + ",\"2026-10-12T05:23:00Z," + n);
    EXPECT_NE(d.errors[i].message.find("field 2: "), std::string::npos) << d.errors[i].message;
  }
  // The first stray quote's field closes at the legal field's opening quote.
  EXPECT_NE(d.errors[0].message.find("line 5 has text after the closing quote"), std::string::npos)
      << d.errors[0].message;
  EXPECT_NE(d.errors[1].message.find("line 9 has text after the closing quote"), std::string::npos)
      << d.errors[1].message;
  EXPECT_NE(d.errors[2].message.find("the input ends with the quote still open"), std::string::npos)
      << d.errors[2].message;
}

// The other ways a quoted field across lines makes a record that is not valid: the quote closes
// but the record has the wrong number of fields, or a later unquoted field holds a quote, or the
// record goes past max_record_bytes (with the quote still open, or closed). Each costs one line.
TEST(CsvDecoder, InvalidRecordsAcrossLinesCostTheirFirstLine) {
  SchemaPtr schema = MakeSchema({{"a", DataType::String()}, {"b", DataType::String()}, {"c", DataType::String()}});
  struct Case {
    std::string input;
    std::string message;
  };
  DecodeOptions small;
  small.max_record_bytes = 24;
  for (const auto& [input, message] : std::vector<Case>{
           {"x,\"y,z\n1,2,3\n4,5\",6,7\n", "the record has 4 fields, not 3"},
           {"x,\"y\n1\",2\"3\n", "line 3 has a quote inside an unquoted field"},
           {"x,\"y,z\n1,2,3\n4,5,6\n7,8,9\n\"", "the quote is still open 24 bytes"},
           {"x,\"y\n1\",zzzzzzzzzzzzzzzzzzzz\n", "the record is 28 bytes, over the limit of 24 bytes"},
       }) {
    Decoded d = DecodeCsv(schema, "a,b,c\n" + input, CsvOptions{}, small);
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    ASSERT_FALSE(d.errors.empty()) << input;
    EXPECT_EQ(d.errors[0].error_class, "unbalanced_quote") << input;
    EXPECT_EQ(d.errors[0].line, 2) << input;
    EXPECT_EQ(d.errors[0].raw, input.substr(0, input.find('\n'))) << input;
    EXPECT_NE(d.errors[0].message.find(message), std::string::npos) << d.errors[0].message;
    // What comes next starts on the next line, as a row or as an error of its own.
    std::vector<int64_t> next = d.lines;
    for (size_t i = 1; i < d.errors.size(); ++i) next.push_back(d.errors[i].line);
    ASSERT_FALSE(next.empty()) << input;
    EXPECT_EQ(*std::min_element(next.begin(), next.end()), 3) << input;
  }
  // A single line over the limit is oversized_record, whether or not a quote is open in it.
  for (const char* line : {"\"0123456789\",0123456789,01234", "x,\"an open quote on a long line"}) {
    Decoded one = DecodeCsv(schema, std::string("a,b,c\n") + line + "\n1,2,3\n", CsvOptions{}, small);
    ASSERT_EQ(one.errors.size(), 1u) << line;
    EXPECT_EQ(one.errors[0].error_class, "oversized_record") << line;
    EXPECT_EQ(one.errors[0].raw, line);
    EXPECT_EQ(one.lines, (std::vector<int64_t>{3})) << line;
  }
}

TEST(CsvDecoder, TextAfterClosingQuoteIsMalformed) {
  SchemaPtr schema = MakeSchema({{"a", DataType::String()}, {"b", DataType::String()}});
  Decoded d = DecodeCsv(schema, "a,b\n\"x\"y,1\n2,3\n");
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.lines[0], 3);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].error_class, "malformed_csv");
  EXPECT_EQ(d.errors[0].line, 2);
}

TEST(CsvDecoder, InvalidUtf8) {
  SchemaPtr schema = MakeSchema({{"a", DataType::String()}});
  Decoded d = DecodeCsv(schema, "a\nok\nbad\xff\ntrunc\xe2\x82\n\xe2\x82\xac\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1][0], Value::String("€"));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].error_class, "invalid_utf8");
  EXPECT_EQ(d.errors[0].line, 3);
  EXPECT_EQ(d.errors[1].line, 4);
  // A header that is not UTF-8 fails the input as a whole: its columns cannot be mapped.
  Decoded h = DecodeCsv(schema, "\xff\n1\n");
  EXPECT_EQ(h.status.code(), StatusCode::kDataError);
}

TEST(CsvDecoder, CrLfBomAndTypes) {
  SchemaPtr schema = MakeSchema({{"d", DataType::Decimal(6, 2)},
                                 {"ts", DataType::Timestamp()},
                                 {"f", DataType::Float64()},
                                 {"dt", DataType::Date()}});
  Decoded d = DecodeCsv(schema,
                        "\xEF\xBB\xBF" "d,ts,f,dt\r\n"
                        " 1.005 ,1700000000123,1e3,2026-11-21\r\n"
                        "-2.5e1,1969-12-31T23:59:59Z,-inf,1969-12-31\r\n"
                        "10000,0,1,2026-01-01\r\n");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], Value::Decimal(101, 6, 2));
  EXPECT_EQ(d.rows[0][1], Value::Timestamp(1700000000123000));
  EXPECT_EQ(d.rows[0][2], Value::Float64(1000));
  EXPECT_EQ(d.rows[1][0], Value::Decimal(-2500, 6, 2));
  EXPECT_EQ(d.rows[1][1], Value::Timestamp(-1000000));
  EXPECT_EQ(d.rows[1][3], Value::Date(-1));
  ASSERT_EQ(d.errors.size(), 1u);  // 10000 needs five integer digits, decimal(6,2) has four
  EXPECT_EQ(d.errors[0].line, 4);
}

TEST(CsvDecoder, RawOversizedAndBatchSplitting) {
  SchemaPtr schema = MakeSchema({{"a", DataType::Int64()}, {"_raw", DataType::String()}});
  DecodeOptions o;
  o.batch_rows = 3;
  o.max_record_bytes = 10;
  o.origin_source = "orders";
  std::string in = "a\n";
  for (int i = 0; i < 7; ++i) in += std::to_string(i) + "\n";
  in += "12345678901\n";  // 11 bytes
  Decoded d = DecodeCsv(schema, in, CsvOptions{}, o);
  ASSERT_EQ(d.batches.size(), 3u);
  EXPECT_EQ(d.batches[0].num_rows(), 3u);
  EXPECT_EQ(d.batches[2].num_rows(), 1u);
  EXPECT_EQ(d.batches[2].origin()->source, "orders");
  EXPECT_EQ(d.rows[6][1], Value::String("6"));
  EXPECT_EQ(d.lines[6], 8);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].error_class, "oversized_record");
  EXPECT_EQ(d.errors[0].line, 9);
}

TEST(CsvDecoder, SingleColumnBlankLineIsAnEmptyField) {
  SchemaPtr schema = MakeSchema({{"s", DataType::String()}});
  Decoded d = DecodeCsv(schema, "s\na\n\nb\n");
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_TRUE(d.rows[1][0].is_null());
  EXPECT_EQ(d.rows[2][0], Value::String("b"));
}

TEST(CsvDecoder, QuoteInsideAnUnquotedFieldIsMalformed) {
  SchemaPtr schema = std::make_shared<Schema>(std::vector<Field>{{"id", DataType::Int64()}, {"name", DataType::String()}});
  CsvDecoder dec(schema, CsvOptions{}, DecodeOptions{});
  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  std::string input = "id,name\n1,ok\n2,Bo\"b\n3,fine\n";
  ASSERT_TRUE(dec.Decode(input, [&](Batch b) { batches.push_back(std::move(b)); return Status::OK(); }, errors).ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error_class, "malformed_csv");
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].raw, "2,Bo\"b");
  size_t rows = 0;
  for (const auto& b : batches) rows += b.num_rows();
  EXPECT_EQ(rows, 2u);
}

// Rows (line, values) and errors (line, class, text) as one comparable text.
std::string Render(const std::vector<Batch>& batches, const std::vector<DecodeError>& errors) {
  std::string out;
  for (const auto& b : batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      out += std::to_string(b.RowOffset(r)) + ":";
      for (size_t c = 0; c < b.num_columns(); ++c) out += b.column(c)->GetValue(r).ToString() + "|";
      out += "\n";
    }
  }
  for (const auto& e : errors) out += "E" + std::to_string(e.line) + ":" + e.error_class + ":" + e.raw + "\n";
  return out;
}

// Decodes `input` the way a file is streamed: each call gets what the last one left unconsumed
// followed by the next piece; `pieces` gives the piece sizes (the last one repeats).
std::string DecodeStreamed(SchemaPtr schema, const std::string& input, const DecodeOptions& options,
                           const std::vector<size_t>& pieces) {
  CsvDecoder dec(schema, CsvOptions{}, options);
  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  auto sink = [&](Batch b) {
    batches.push_back(std::move(b));
    return Status::OK();
  };
  std::string buffer;
  size_t pos = 0;
  for (size_t i = 0;; ++i) {
    size_t n = std::min(pieces[std::min(i, pieces.size() - 1)], input.size() - pos);
    buffer += input.substr(pos, n);
    pos += n;
    const bool last = pos == input.size();
    auto consumed = dec.DecodeChunk(buffer, last, sink, errors);
    if (!consumed.ok()) return "status: " + consumed.status().ToString();
    if (last) {
      if (*consumed != buffer.size()) return "the last chunk was not consumed";
      break;
    }
    buffer.erase(0, *consumed);
  }
  return Render(batches, errors);
}

std::string DecodeWhole(SchemaPtr schema, const std::string& input, const DecodeOptions& options) {
  CsvDecoder dec(schema, CsvOptions{}, options);
  std::vector<Batch> batches;
  std::vector<DecodeError> errors;
  Status st = dec.Decode(
      input,
      [&](Batch b) {
        batches.push_back(std::move(b));
        return Status::OK();
      },
      errors);
  return st.ok() ? Render(batches, errors) : "status: " + st.ToString();
}

// Streaming must give the same rows and errors as decoding the whole input, wherever the chunks
// are cut (inside quotes, between CR and LF, inside the BOM and the header, inside a record that
// is resynchronized, before and after its size limit).
TEST(CsvDecoder, ChunkedDecodingEqualsWholeDecoding) {
  SchemaPtr schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"d", DataType::Date()}});
  DecodeOptions small;
  small.max_record_bytes = 40;
  struct Case {
    std::string input;
    DecodeOptions options;
    std::string must_hold;  // in the whole decode, so the case tests what it means to
  };
  const std::vector<Case> cases = {
      {"\xEF\xBB\xBFid,name,d\r\n1,\"a,b\",2026-01-02\r\n2,\"multi\nline \"\"q\"\"\",\r\n3,x,bad-date\n"
       "4,Bo\"b,2026-01-01\n5,only two\n\n6,\"z\",2026-03-04\n7,\"open,2026-01-01\n8,tail,2026-01-01",
       DecodeOptions{}, "\n11:8|tail|2026-01-01|\n"},
      {"id,name,d\n1,\"stray,2026-01-01\r\n2,b,2026-01-02\n3,\"ok\r\nok\",2026-01-03\n4,\"stray,2026-01-04\n"
       "5,e,2026-01-05\n",
       DecodeOptions{}, "E2:unbalanced_quote:1,\"stray,2026-01-01\n"},
      {"id,name,d\n1,\"stray,2026-01-01\n2,b,2026-01-02\n3,c,2026-01-03\n4,d,2026-01-04\n5,e,2026-01-05\n", small,
       "the quote is still open"},
  };
  for (const auto& c : cases) {
    const std::string expected = DecodeWhole(schema, c.input, c.options);
    std::string messages;
    {
      CsvDecoder dec(schema, CsvOptions{}, c.options);
      std::vector<DecodeError> errors;
      (void)dec.Decode(
          c.input, [](Batch) { return Status::OK(); }, errors);
      for (const auto& e : errors) messages += e.message + "\n";
    }
    ASSERT_NE((expected + messages).find(c.must_hold), std::string::npos) << expected << messages;
    for (size_t cut = 0; cut <= c.input.size(); ++cut) {
      ASSERT_EQ(DecodeStreamed(schema, c.input, c.options, {cut, c.input.size()}), expected) << "cut at " << cut;
    }
    for (size_t piece = 1; piece <= 8; ++piece) {
      ASSERT_EQ(DecodeStreamed(schema, c.input, c.options, {piece}), expected) << "pieces of " << piece;
    }
  }
}

// A reference computation: rows of which a few have a stray quote, others a legal quoted field
// across lines. Every good row must come out with its line, every stray line be one error at its
// line, whole or streamed.
TEST(CsvDecoder, StrayQuotesAgainstAReference) {
  SchemaPtr schema = MakeSchema({{"id", DataType::Int64()}, {"note", DataType::String()}, {"n", DataType::Int64()}});
  std::mt19937 rng(20261012);
  std::string input = "id,note,n\n";
  std::string expected_rows, expected_errors;
  int64_t line = 2;
  for (int i = 1; i <= 3000; ++i) {
    const unsigned kind = rng() % 100;
    const std::string n = std::to_string(rng() % 1000);
    if (kind < 2) {  // a stray quote
      std::string text = std::to_string(i) + ",\"stray " + std::to_string(i) + "," + n;
      input += text + "\n";
      expected_errors += "E" + std::to_string(line) + ":unbalanced_quote:" + text + "\n";
      line += 1;
    } else if (kind < 6) {  // legal: a delimiter, a doubled quote and a line break in quotes
      input += std::to_string(i) + ",\"a,\"\"b\"\"\nc\"," + n + "\n";
      expected_rows += std::to_string(line) + ":" + std::to_string(i) + "|a,\"b\"\nc|" + n + "|\n";
      line += 2;
    } else {
      input += std::to_string(i) + ",plain," + n + "\n";
      expected_rows += std::to_string(line) + ":" + std::to_string(i) + "|plain|" + n + "|\n";
      line += 1;
    }
  }
  const std::string expected = expected_rows + expected_errors;
  ASSERT_NE(expected_errors, "");
  EXPECT_EQ(DecodeWhole(schema, input, DecodeOptions{}), expected);
  DecodeOptions small;
  small.max_record_bytes = 300;  // some stray quotes now stop at the limit instead
  EXPECT_EQ(DecodeWhole(schema, input, small), expected);
  EXPECT_EQ(DecodeStreamed(schema, input, small, {97, 1, 4096, 13}), expected);
}

}  // namespace
}  // namespace sluice::formats
