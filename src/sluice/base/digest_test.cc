#include "sluice/base/digest.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Digest, HexBothWays) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexDecode("00FF10ab"), std::string("\x00\xff\x10\xab", 4)) << "either case";
  EXPECT_EQ(HexDecode(""), "");
  EXPECT_EQ(HexDecode("abc"), std::nullopt) << "an odd number of digits";
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
  EXPECT_EQ(HexDecode("0x"), std::nullopt);
  EXPECT_EQ(HexDigitValue('7'), 7);
  EXPECT_EQ(HexDigitValue('b'), 11);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
}

TEST(Digest, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexDigest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // RFC 4231, test case 2.
  const std::string mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")), mac);
  EXPECT_EQ(HexDigest("what do ya want for nothing?", "Jefe"), mac);
  EXPECT_EQ(HmacSha256("k", "data").size(), 32u);
}

}  // namespace
}  // namespace sluice
