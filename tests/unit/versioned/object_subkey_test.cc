// Per-object subkeys: RFC 5869 vectors through the same EVP path, the label texts, the nonce
// counter, and that salts and labels separate keys.
#include "cache/versioned/object_subkey.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace s3nbd {
namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::string Range(int from, int to) {  // bytes from..to inclusive
  std::string s;
  for (int i = from; i <= to; ++i) s += static_cast<char>(i);
  return s;
}

std::string Okm(std::string_view ikm, std::string_view salt, std::string_view info, size_t len) {
  std::vector<uint8_t> out(len);
  Status s = DeriveHkdfSha256(ikm, salt, info, out.data(), len);
  EXPECT_TRUE(s.ok()) << s.message();
  return Hex(out.data(), len);
}

TEST(ObjectSubkeyTest, Rfc5869Case1) {
  EXPECT_EQ(Okm(std::string(22, '\x0b'), Range(0x00, 0x0c), Range(0xf0, 0xf9), 42),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(ObjectSubkeyTest, Rfc5869Case2LongInputs) {
  EXPECT_EQ(Okm(Range(0x00, 0x4f), Range(0x60, 0xaf), Range(0xb0, 0xff), 82),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(ObjectSubkeyTest, Rfc5869Case3EmptySaltAndInfo) {
  EXPECT_EQ(Okm(std::string(22, '\x0b'), "", "", 42),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(ObjectSubkeyTest, LabelTexts) {
  EXPECT_EQ(SubkeyLabelText(SubkeyLabel::kBlock), "s3nbd-v2 block");
  EXPECT_EQ(SubkeyLabelText(SubkeyLabel::kLog), "s3nbd-v2 log");
  EXPECT_EQ(SubkeyLabelText(SubkeyLabel::kShard), "s3nbd-v2 shard");
}

AesKey TestKey(uint8_t base) {
  AesKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(base + i);
  return k;
}

TEST(ObjectSubkeyTest, SubkeyIsHkdfOfDataKeySaltAndLabel) {
  AesKey dk = TestKey(1);
  ObjectSalt salt;
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(0x80 + i);
  auto sub = DeriveObjectSubkey(dk, salt, SubkeyLabel::kBlock);
  ASSERT_TRUE(sub.ok()) << sub.status().message();
  std::string expect = Okm(std::string(reinterpret_cast<const char*>(dk.data()), dk.size()),
                           std::string(reinterpret_cast<const char*>(salt.data()), salt.size()), "s3nbd-v2 block", 44);
  EXPECT_EQ(Hex(sub->key.data(), 32) + Hex(sub->nonce.data(), 12), expect);
  // Computed independently (Python hmac/hashlib, RFC 5869 by hand): pins label and split.
  EXPECT_EQ(expect, "e08679063aacc1732b2ba32e43775eb483ded19e80ee9c3cac82f1640f135b5c"
                    "2c2687ea2b065e9f067f40cb");
}

TEST(ObjectSubkeyTest, DifferentSaltsLabelsAndKeysGiveDifferentSubkeys) {
  AesKey dk = TestKey(1);
  ObjectSalt a{}, b{};
  b[31] = 1;
  auto block_a = DeriveObjectSubkey(dk, a, SubkeyLabel::kBlock);
  auto block_b = DeriveObjectSubkey(dk, b, SubkeyLabel::kBlock);
  auto log_a = DeriveObjectSubkey(dk, a, SubkeyLabel::kLog);
  auto shard_a = DeriveObjectSubkey(dk, a, SubkeyLabel::kShard);
  auto other_key = DeriveObjectSubkey(TestKey(2), a, SubkeyLabel::kBlock);
  ASSERT_TRUE(block_a.ok() && block_b.ok() && log_a.ok() && shard_a.ok() && other_key.ok());
  EXPECT_NE(block_a->key, block_b->key);
  EXPECT_NE(block_a->nonce, block_b->nonce);
  EXPECT_NE(block_a->key, log_a->key);
  EXPECT_NE(block_a->key, shard_a->key);
  EXPECT_NE(log_a->key, shard_a->key);
  EXPECT_NE(block_a->key, other_key->key);
  auto again = DeriveObjectSubkey(dk, a, SubkeyLabel::kBlock);  // deterministic
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key, block_a->key);
  EXPECT_EQ(again->nonce, block_a->nonce);
}

TEST(ObjectSubkeyTest, NonceWithCounterXorsTheLastEightBytesLittleEndian) {
  std::array<uint8_t, kGcmNonceBytes> n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0x10 + i);
  EXPECT_EQ(NonceWithCounter(n, 0), n);
  auto one = NonceWithCounter(n, 1);
  EXPECT_EQ(Hex(one.data(), 12), "101112131515161718191a1b");
  auto big = NonceWithCounter(n, 0x0102030405060708ull);
  EXPECT_EQ(Hex(big.data(), 12), "101112131c1210121c1a181a");
  EXPECT_NE(NonceWithCounter(n, 2), NonceWithCounter(n, 3));
}

TEST(ObjectSubkeyTest, NewSaltsAreFresh) {
  auto a = NewObjectSalt(), b = NewObjectSalt();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, ObjectSalt{});
}

}  // namespace
}  // namespace s3nbd
