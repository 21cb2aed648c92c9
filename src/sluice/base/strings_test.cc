#include "sluice/base/strings.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Strings, DidYouMean) {
  std::vector<std::string> keys = {"inputs", "filter", "select", "kind"};
  EXPECT_EQ(DidYouMean("fliter", keys), "filter");
  EXPECT_EQ(DidYouMean("input", keys), "inputs");
  EXPECT_EQ(DidYouMean("zzzzzzzz", keys), "");
  EXPECT_EQ(DidYouMeanSuffix("slect", keys), " (did you mean 'select'?)");
}

TEST(Strings, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain ascii text, long enough for the fast path"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xff"));
}

TEST(Strings, CountByte) {
  std::string s;
  size_t expected = 0;
  for (int i = 0; i < 1000; ++i) {
    s += (i % 7 == 0) ? '\n' : static_cast<char>('a' + i % 26);
    expected += i % 7 == 0;
    ASSERT_EQ(CountByte(s, '\n'), expected) << i;  // every length, so every tail size
  }
  EXPECT_EQ(CountByte("", 'x'), 0u);
}

TEST(Strings, ByteSizes) {
  EXPECT_EQ(ParseByteSize("128MB"), 128 << 20);
  EXPECT_EQ(ParseByteSize("64 MiB"), 64 << 20);
  EXPECT_EQ(ParseByteSize("4096"), 4096);
  EXPECT_EQ(ParseByteSize("1gb"), 1 << 30);
  EXPECT_FALSE(ParseByteSize("MB"));
  EXPECT_FALSE(ParseByteSize("12 parsecs"));
}

TEST(Strings, Durations) {
  EXPECT_EQ(ParseDurationMicros("30s"), 30000000);
  EXPECT_EQ(ParseDurationMicros("1m"), 60000000);
  EXPECT_EQ(ParseDurationMicros("1h30m"), 5400000000LL);
  EXPECT_EQ(ParseDurationMicros("250ms"), 250000);
  EXPECT_EQ(ParseDurationMicros("24h"), 86400000000LL);
  EXPECT_FALSE(ParseDurationMicros("10"));
  EXPECT_FALSE(ParseDurationMicros("1y"));
  EXPECT_FALSE(ParseDurationMicros(""));
}

TEST(Strings, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
  EXPECT_FALSE(EqualsIgnoreCase("caf\xc3\xa9", "CAF\xc3\x89")) << "ASCII letters only";
}

TEST(Strings, Trim) {
  EXPECT_EQ(Trim(" \t\r\n x y \v\f"), "x y");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("\t a \r\n", kBlanks), "a \r\n") << "blanks are spaces and tabs only";
  EXPECT_EQ(TrimRight("  error\n \n", "\n "), "  error");
  EXPECT_EQ(TrimRight("x\t"), "x");
}

TEST(Strings, IsIdentifier) {
  const std::vector<std::string> good = {"a", "_", "orders", "_x9", "fact_orders_2", std::string(63, 'b')};
  for (const std::string& ok : good) {
    EXPECT_TRUE(IsIdentifier(ok)) << ok;
  }
  const std::vector<std::string> bad_names = {"", "9lives", "Orders", "a-b", "a b", "a.b", "caf\xc3\xa9",
                                              std::string(64, 'a')};
  for (const std::string& bad : bad_names) {
    EXPECT_FALSE(IsIdentifier(bad)) << bad;
  }
}

TEST(Strings, ParseBoolDataAndCastSpellings) {
  for (auto spellings : {BoolSpellings::kData, BoolSpellings::kCast}) {
    EXPECT_EQ(ParseBool("true", spellings), true);
    EXPECT_EQ(ParseBool("TRUE", spellings), true);
    EXPECT_EQ(ParseBool("1", spellings), true);
    EXPECT_EQ(ParseBool("False", spellings), false);
    EXPECT_EQ(ParseBool("0", spellings), false);
    EXPECT_EQ(ParseBool("", spellings), std::nullopt);
    EXPECT_EQ(ParseBool(" true", spellings), std::nullopt) << "the caller trims";
    EXPECT_EQ(ParseBool("2", spellings), std::nullopt);
  }
  // A CSV field says true/false or 1/0; a cast also reads the words people type.
  for (const char* word : {"t", "yes", "Y", "ON"}) {
    EXPECT_EQ(ParseBool(word, BoolSpellings::kData), std::nullopt) << word;
    EXPECT_EQ(ParseBool(word, BoolSpellings::kCast), true) << word;
  }
  for (const char* word : {"F", "no", "n", "Off"}) {
    EXPECT_EQ(ParseBool(word, BoolSpellings::kData), std::nullopt) << word;
    EXPECT_EQ(ParseBool(word, BoolSpellings::kCast), false) << word;
  }
  EXPECT_EQ(ParseBool("yess", BoolSpellings::kCast), std::nullopt);
}

}  // namespace
}  // namespace sluice

namespace sluice {
TEST(Strings, RedactUrlPassword) {
  EXPECT_EQ(RedactUrlPassword("postgresql://u:secret@127.0.0.1:5432/db"), "postgresql://u:***@127.0.0.1:5432/db");
  EXPECT_EQ(RedactUrlPassword("postgresql://u@127.0.0.1:5432/db"), "postgresql://u@127.0.0.1:5432/db");
  EXPECT_EQ(RedactUrlPassword("postgresql://u:p@ss@host/db"), "postgresql://u:***@host/db");
  EXPECT_EQ(RedactUrlPassword("sqlite:/tmp/meta.db"), "sqlite:/tmp/meta.db");
}
}  // namespace sluice
