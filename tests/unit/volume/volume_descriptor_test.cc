#include "cache/volume/volume_descriptor.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

// A checked-in sample of format version 1 (docs/format.md); decoding must keep working.
constexpr const char* kSampleV1 =
    "s3nbd-volume 1\n"
    "uuid 0b6e3c1a-5d2f-4e8b-9a71-2c4d6e8f0a1b\n"
    "size 10737418240\n"
    "block-size 1048576\n"
    "key-layout hashed\n"
    "compression none\n"
    "encryption none\n"
    "created 2026-11-22T00:30:00Z\n";

TEST(VolumeDescriptorTest, DecodesCheckedInSample) {
  auto d = DecodeDescriptor(kSampleV1);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->UuidString(), "0b6e3c1a-5d2f-4e8b-9a71-2c4d6e8f0a1b");
  EXPECT_EQ(d->size, 10737418240u);
  EXPECT_EQ(d->block_size, 1048576u);
  EXPECT_EQ(d->block_count(), 10240u);
  EXPECT_EQ(d->key_layout, KeyLayout::kHashed);
  EXPECT_EQ(EncodeDescriptor(*d), kSampleV1);
}

TEST(VolumeDescriptorTest, NewRoundTrips) {
  auto a = NewDescriptor(1 << 30, 65536, KeyLayout::kFlat);
  auto b = NewDescriptor(1 << 30, 65536, KeyLayout::kFlat);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->UuidString(), b->UuidString());
  EXPECT_EQ(a->UuidString()[14], '4');  // version 4
  auto back = DecodeDescriptor(EncodeDescriptor(*a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->uuid, a->uuid);
  EXPECT_EQ(back->size, a->size);
}

TEST(VolumeDescriptorTest, GeometryRules) {
  EXPECT_TRUE(ValidateGeometry(4096, 4096).ok());
  EXPECT_TRUE(ValidateGeometry(10ull << 40, 8 << 20).ok());
  EXPECT_TRUE(ValidateGeometry(1536, 4096).ok());  // smaller than one block, multiple of 512
  EXPECT_FALSE(ValidateGeometry(1 << 20, 2048).ok());
  EXPECT_FALSE(ValidateGeometry(1 << 20, 16 << 20).ok());
  EXPECT_FALSE(ValidateGeometry(1 << 20, 3 * 4096).ok());
  EXPECT_FALSE(ValidateGeometry(0, 4096).ok());
  EXPECT_FALSE(ValidateGeometry(1000, 4096).ok());
  EXPECT_NE(ValidateGeometry(1 << 20, 3000).message().find("power of two"), std::string::npos);
  // NBD sizes are int64: 2^63 would be negative in nbdkit's get_size
  EXPECT_TRUE(ValidateGeometry(uint64_t{INT64_MAX} - 511, 4096).ok());
  Status big = ValidateGeometry(uint64_t{1} << 63, 4096);
  EXPECT_FALSE(big.ok());
  EXPECT_NE(big.message().find("larger than 2^63 - 1"), std::string::npos) << big.message();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(VolumeDescriptorTest, RefusesBadInput) {
  struct Case { std::string text, expect; };
  std::string ok = kSampleV1;
  const Case cases[] = {
      {"", "bad magic"},
      {"garbage\n", "bad magic"},
      {Replace(ok, "s3nbd-volume 1", "s3nbd-volume 3"), "not supported"},
      {Replace(ok, "s3nbd-volume 1", "s3nbd-volume 2"), "required field 'shard-blocks' is missing"},
      {Replace(ok, "size 10737418240", "size -5"), "not a number"},
      {Replace(ok, "size 10737418240", "size 99999999999999999999999"), "not a number"},
      {Replace(ok, "size 10737418240", "size 1000"), "multiple of 512"},
      {Replace(ok, "size 10737418240", "size 9223372036854775808"), "larger than 2^63 - 1"},
      {Replace(ok, "block-size 1048576", "block-size 1000"), "power of two"},
      {Replace(ok, "block-size 1048576", "block-size 99999999999"), "too large"},
      {Replace(ok, "key-layout hashed", "key-layout zigzag"), "key-layout"},
      {Replace(ok, "compression none", "compression lz4"), "not supported"},
      {Replace(ok, "compression none", "compression zstd:99"), "not supported"},
      {ok + "key-salt 000102030405060708090a0b0c0d0e0f\n", "not encrypted"},
      {Replace(ok, "encryption none", "encryption aes-256-gcm"), "'key-kdf' is missing"},
      {Replace(ok, "encryption none", "encryption rot13"), "not supported"},
      {Replace(ok, "uuid 0b6e3c1a", "uuid 0b6e3c1z"), "not a UUID"},
      {Replace(ok, "uuid 0b6e3c1a-5d2f-4e8b-9a71-2c4d6e8f0a1b\n", ""), "'uuid' is missing"},
      {ok + "size 4096\n", "appears twice"},
      {ok + "colour blue\n", "unknown field 'colour'"},
      {ok + "novalue\n", "has no value"},
      {std::string(70000, 'x'), "64 KiB"},
  };
  for (const Case& c : cases) {
    auto d = DecodeDescriptor(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_NE(d.status().message().find(c.expect), std::string::npos)
        << "message: " << d.status().message() << " expected: " << c.expect;
    EXPECT_EQ(d.status().err(), EINVAL);
  }
}

// A checked-in sample of an encrypted, compressed volume (docs/format.md, "Encryption").
constexpr const char* kSampleEncrypted =
    "s3nbd-volume 1\n"
    "uuid 0b6e3c1a-5d2f-4e8b-9a71-2c4d6e8f0a1b\n"
    "size 1048576\n"
    "block-size 65536\n"
    "key-layout flat\n"
    "compression zstd:5\n"
    "encryption aes-256-gcm\n"
    "key-kdf scrypt\n"
    "key-kdf-n 65536\n"
    "key-kdf-r 8\n"
    "key-kdf-p 1\n"
    "key-salt 000102030405060708090a0b0c0d0e0f\n"
    "key-wrapped 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b\n"
    "key-check 000102030405060708090a0b0c0d0e0f\n"
    "created 2026-11-22T01:00:00Z\n";

TEST(VolumeDescriptorTest, DecodesEncryptedCompressedSample) {
  auto d = DecodeDescriptor(kSampleEncrypted);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->compression, "zstd");
  EXPECT_EQ(d->compression_level, 5);
  EXPECT_TRUE(d->encrypted());
  EXPECT_EQ(d->key.params.n, 65536u);
  EXPECT_EQ(d->key.salt.size(), 16u);
  EXPECT_EQ(d->key.wrapped.size(), 60u);
  EXPECT_EQ(EncodeDescriptor(*d), kSampleEncrypted);
  std::string s = kSampleEncrypted;
  EXPECT_FALSE(DecodeDescriptor(Replace(s, "key-kdf-n 65536", "key-kdf-n 1000")).ok());
  EXPECT_FALSE(DecodeDescriptor(Replace(s, "key-kdf-n 65536", "key-kdf-n 4194304\nkey-kdf-r 32")).ok());
  EXPECT_FALSE(DecodeDescriptor(Replace(s, "key-salt 00", "key-salt 0g")).ok());
  EXPECT_FALSE(DecodeDescriptor(Replace(s, "key-check 000102030405060708090a0b0c0d0e0f\n", "")).ok());
}

TEST(VolumeDescriptorTest, SurvivesRandomMutations) {
  std::string ok = kSampleV1;
  uint64_t seed = 1;
  for (int i = 0; i < 20000; i++) {
    std::string t = ok;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t pos = (seed >> 33) % t.size();
    t[pos] = static_cast<char>(seed >> 20);
    if (i % 3 == 0) t.resize((seed >> 40) % (t.size() + 1));
    auto d = DecodeDescriptor(t);  // must not crash; if it decodes, it is valid
    if (d.ok()) {
      EXPECT_TRUE(ValidateGeometry(d->size, d->block_size).ok());
    }
  }
}

}  // namespace
}  // namespace s3nbd
