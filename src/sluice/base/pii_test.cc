#include "sluice/base/pii.h"

#include <gtest/gtest.h>

#include <vector>

#include "sluice/base/digest.h"

namespace sluice {
namespace {

TEST(Pii, MaskIsTheKeyedHashPrefix) {
  PiiMasker m("key-one");
  const std::string mask = m.Mask("alice@example.com");
  EXPECT_EQ(mask, "pii:" + HexEncode(HmacSha256("key-one", "alice@example.com")).substr(0, 16));
  EXPECT_EQ(mask.size(), 4u + 16u);
  EXPECT_EQ(m.Mask("alice@example.com"), mask) << "equal values, equal masks";
  EXPECT_NE(m.Mask("bob@example.com"), mask);
  EXPECT_NE(PiiMasker("key-two").Mask("alice@example.com"), mask) << "another key, another mask";
  EXPECT_EQ(mask.find("alice"), std::string::npos);
}

TEST(Pii, ScrubReplacesEveryOccurrenceLongestFirst) {
  PiiMasker m("k");
  std::vector<std::string> values = {"anne", "anne@x.org", "", "1"};
  const std::string text = "cannot cast 'anne@x.org' to int64 (anne, 1)";
  EXPECT_EQ(m.Scrub(text, values), "cannot cast '" + m.Mask("anne@x.org") + "' to int64 (" + m.Mask("anne") + ", 1)")
      << "short values are left alone";
  EXPECT_EQ(m.Scrub("nothing here", values), "nothing here");
  EXPECT_EQ(m.Scrub("abc", {}), "abc");
}

TEST(Pii, NewKeysAreRandom) {
  auto a = NewPiiKey();
  auto b = NewPiiKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST(Pii, MaskKeepLast4) {
  EXPECT_EQ(MaskKeepLast4("4111111111111234"), "************1234");
  EXPECT_EQ(MaskKeepLast4("alice@example.com"), "*************.com");
  EXPECT_EQ(MaskKeepLast4("1234"), "****");
  EXPECT_EQ(MaskKeepLast4("ab"), "**");
  EXPECT_EQ(MaskKeepLast4(""), "");
  EXPECT_EQ(MaskKeepLast4("Zoë Müller"), "******ller") << "characters, not bytes";
  EXPECT_EQ(MaskKeepLast4("xxxxéèêë"), "****éèêë");
}

}  // namespace
}  // namespace sluice
