// The checkpoint pointer: round trip, every check (length, magic, version, reserved, LSN of
// the key, checksum) and every flipped byte.
#include "cache/versioned/checkpoint_pointer.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

std::string Refusal(uint64_t lsn, const std::string& obj) {
  auto r = DecodeCheckpointPointer("vol", lsn, obj);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EIO);
  return r.status().message();
}

TEST(CheckpointPointerTest, RoundTrip) {
  CheckpointPointer p{0x123456789a, 4, 0xdeadbeefcafef00d};
  std::string b = EncodeCheckpointPointer(p);
  EXPECT_EQ(b.size(), 40u);
  auto d = DecodeCheckpointPointer("vol", p.lsn, b);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, p);
}

TEST(CheckpointPointerTest, Checks) {
  CheckpointPointer p{9, 4, 77};
  const std::string b = EncodeCheckpointPointer(p);
  EXPECT_EQ(Refusal(9, b.substr(0, 39)), "volume vol: checkpoint pointer 9: object is 39 bytes, not 40");
  EXPECT_NE(Refusal(9, b + "x").find("41 bytes"), std::string::npos);
  EXPECT_NE(Refusal(10, b).find("pointer holds LSN 9 (copied from another key)"), std::string::npos);
  auto resealed = [&](size_t at, char v) {
    std::string o = b;
    o[at] = v;
    PutLE<uint64_t>(o.data() + 32, XXH3_64bits_withSeed(o.data(), 32, GetLE<uint64_t>(o.data() + 8)));
    return Refusal(9, o);
  };
  EXPECT_NE(resealed(0, 'X').find("bad magic"), std::string::npos);
  EXPECT_NE(resealed(4, 2).find("pointer version 2"), std::string::npos);
  for (size_t at : {5, 6, 7}) EXPECT_NE(resealed(at, 1).find("reserved bytes"), std::string::npos);
  for (size_t pos = 0; pos < b.size(); pos++) {
    std::string o = b;
    o[pos] ^= 0x20;
    EXPECT_FALSE(DecodeCheckpointPointer("vol", 9, o).ok()) << pos;
  }
}

}  // namespace
}  // namespace s3nbd
