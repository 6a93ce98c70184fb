// Tests of the coding helpers (cache/util/coding.h): little-endian fields round-trip and have
// the documented byte order, the all-zero check finds a single set bit anywhere, the clocks move.
#include "cache/util/coding.h"

#include <gtest/gtest.h>

#include <string>

namespace s3nbd {
namespace {

TEST(CodingTest, LittleEndianByteOrder) {
  unsigned char b[8];
  PutLE<uint32_t>(b, 0x11223344u);
  EXPECT_EQ(b[0], 0x44);
  EXPECT_EQ(b[3], 0x11);
  PutLE<uint64_t>(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(b[7], 0x01);
  EXPECT_EQ(GetLE<uint64_t>(b), 0x0102030405060708ull);
  EXPECT_EQ(GetLE<uint16_t>(b), 0x0708);
  EXPECT_EQ(GetLE<uint32_t>(b + 4), 0x01020304u);
}

TEST(CodingTest, RoundTripsAtAnyAlignment) {
  char buf[24] = {};
  for (int off = 0; off < 8; off++) {
    PutLE<uint64_t>(buf + off, 0xfedcba9876543210ull + off);
    EXPECT_EQ(GetLE<uint64_t>(buf + off), 0xfedcba9876543210ull + off) << off;
    PutLE<int16_t>(buf + off, -2);
    EXPECT_EQ(GetLE<int16_t>(buf + off), -2) << off;
  }
}

TEST(CodingTest, AllZeroFindsAnySetBit) {
  EXPECT_TRUE(IsAllZero(std::string_view()));
  for (size_t n : {1u, 7u, 31u, 32u, 33u, 100u, 4096u}) {
    std::string s(n, '\0');
    EXPECT_TRUE(IsAllZero(s)) << n;
    for (size_t i = 0; i < n; i++) {
      s[i] = static_cast<char>(0x80 >> (i % 8));
      EXPECT_FALSE(IsAllZero(s)) << n << " at " << i;
      s[i] = 0;
    }
  }
}

TEST(CodingTest, ClocksMove) {
  const int64_t a = SteadyNowNs();
  const int64_t b = SteadyNowNs();
  EXPECT_LE(a, b);
  EXPECT_GT(WallNowSeconds(), 1'700'000'000);  // after 2023-11: a sane wall clock
}

}  // namespace
}  // namespace s3nbd
