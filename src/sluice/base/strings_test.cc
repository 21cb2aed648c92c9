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
