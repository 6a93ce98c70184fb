// Volume descriptor format version 2 (docs/format.md): the checked-in samples decode field by
// field and re-encode byte for byte, every refusal rule of the version-2 fields, the default
// shard-blocks, and that version 1 neither gains nor accepts a version-2 field.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cache/volume/volume_descriptor.h"

namespace s3nbd {
namespace {

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(S3NBD_SOURCE_DIR) + "/tests/unit/versioned/samples/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing sample " << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(VolumeDescriptorV2Test, DecodesThePlainSampleAndReencodesIt) {
  std::string text = Sample("descriptor-v2.s3nbd");
  auto d = DecodeDescriptor(text);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->format, 2);
  EXPECT_EQ(d->UuidString(), "0b6e3c1a-5d2f-4e8b-9a71-2c4d6e8f0a1b");
  EXPECT_EQ(d->size, 10737418240u);
  EXPECT_EQ(d->block_size, 4096u);
  EXPECT_EQ(d->key_layout, KeyLayout::kHashed);
  EXPECT_EQ(d->compression, "zstd");
  EXPECT_EQ(d->compression_level, 3);
  EXPECT_FALSE(d->encrypted());
  EXPECT_EQ(d->shard_blocks, 65536u);
  EXPECT_EQ(d->log_window, 8u);
  EXPECT_EQ(d->object_keys, "");
  EXPECT_EQ(d->upgraded_from, 0);
  EXPECT_EQ(d->upgraded, "");
  EXPECT_EQ(d->created, "2026-12-01T10:00:00Z");
  EXPECT_EQ(EncodeDescriptor(*d), text);
}

TEST(VolumeDescriptorV2Test, DecodesTheEncryptedUpgradedSampleAndReencodesIt) {
  std::string text = Sample("descriptor-v2-encrypted-upgraded.s3nbd");
  auto d = DecodeDescriptor(text);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->format, 2);
  EXPECT_EQ(d->size, 1048576u);
  EXPECT_EQ(d->block_size, 65536u);
  EXPECT_EQ(d->key_layout, KeyLayout::kFlat);
  EXPECT_EQ(d->encryption, "aes-256-gcm");
  EXPECT_EQ(d->key.params.n, 65536u);
  EXPECT_EQ(d->key.wrapped.size(), 60u);
  EXPECT_EQ(d->shard_blocks, 65536u);
  EXPECT_EQ(d->log_window, 4u);
  EXPECT_EQ(d->object_keys, "hkdf-sha256");
  EXPECT_EQ(d->upgraded_from, 1);
  EXPECT_EQ(d->upgraded, "2026-12-01T11:00:00Z");
  EXPECT_EQ(d->created, "2026-11-22T01:00:00Z");
  EXPECT_EQ(EncodeDescriptor(*d), text);
}

TEST(VolumeDescriptorV2Test, RefusesBadVersion2Fields) {
  struct Case {
    std::string text, expect;
  };
  const std::string plain = Sample("descriptor-v2.s3nbd");
  const std::string enc = Sample("descriptor-v2-encrypted-upgraded.s3nbd");
  const Case cases[] = {
      {Replace(plain, "s3nbd-volume 2", "s3nbd-volume 3"), "knows versions 1 and 2"},
      {Replace(plain, "shard-blocks 65536\n", ""), "required field 'shard-blocks' is missing"},
      {Replace(plain, "log-window 8\n", ""), "required field 'log-window' is missing"},
      {Replace(plain, "shard-blocks 65536", "shard-blocks 2048"),
       "'shard-blocks': 2048 is not a power of two from 4096 to 2^24"},
      {Replace(plain, "shard-blocks 65536", "shard-blocks 33554432"), "'shard-blocks'"},
      {Replace(plain, "shard-blocks 65536", "shard-blocks 65535"), "'shard-blocks'"},
      {Replace(plain, "shard-blocks 65536", "shard-blocks -1"), "not a number"},
      {Replace(plain, "log-window 8", "log-window 0"), "'log-window': 0 is not from 1 to 64"},
      {Replace(plain, "log-window 8", "log-window 65"), "'log-window': 65 is not from 1 to 64"},
      {Replace(plain, "log-window 8", "log-window 8\nobject-keys hkdf-sha256"),
       "'object-keys' is given but the volume is not encrypted"},
      {Replace(enc, "object-keys hkdf-sha256\n", ""),
       "encrypted volume: required field 'object-keys' is missing"},
      {Replace(enc, "object-keys hkdf-sha256", "object-keys random"),
       "volume uses object-keys 'random', not supported"},
      {Replace(enc, "upgraded-from 1\n", ""), "'upgraded' is given without 'upgraded-from'"},
      {Replace(enc, "upgraded-from 1", "upgraded-from 2"), "'upgraded-from': 2 is not 1"},
      {Replace(enc, "upgraded 2026-12-01T11:00:00Z", "upgraded yesterday"),
       "'upgraded': 'yesterday' is not a UTC time"},
      {plain + "log-window 4\n", "'log-window' appears twice"},
      {plain + "colour blue\n", "unknown field 'colour'"},
  };
  for (const Case& c : cases) {
    auto d = DecodeDescriptor(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_EQ(d.status().err(), EINVAL);
    EXPECT_NE(d.status().message().find(c.expect), std::string::npos)
        << "message: " << d.status().message() << " expected: " << c.expect;
  }
  // The upgrade fields are optional: a created (not upgraded) encrypted volume.
  std::string created =
      Replace(Replace(enc, "upgraded-from 1\n", ""), "upgraded 2026-12-01T11:00:00Z\n", "");
  auto d = DecodeDescriptor(created);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->upgraded_from, 0);
  EXPECT_EQ(EncodeDescriptor(*d), created);
}

TEST(VolumeDescriptorV2Test, Version1NeitherAcceptsNorWritesVersion2Fields) {
  std::string v2 = Sample("descriptor-v2.s3nbd");
  std::string v1 =
      Replace(Replace(Replace(v2, "s3nbd-volume 2", "s3nbd-volume 1"), "shard-blocks 65536\n", ""),
              "log-window 8\n", "");
  auto d = DecodeDescriptor(v1);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->format, 1);
  EXPECT_EQ(EncodeDescriptor(*d), v1);
  for (const char* field : {"shard-blocks 65536", "log-window 8", "object-keys hkdf-sha256",
                            "upgraded-from 1", "upgraded 2026-12-01T11:00:00Z"}) {
    auto bad = DecodeDescriptor(v1 + field + "\n");
    ASSERT_FALSE(bad.ok()) << field;
    EXPECT_NE(bad.status().message().find("unknown field"), std::string::npos)
        << bad.status().message();
  }
  // Fields set on a version-1 value are not written: format 1 stays byte for byte.
  VolumeDescriptor stray = *d;
  stray.shard_blocks = 65536;
  stray.log_window = 8;
  EXPECT_EQ(EncodeDescriptor(stray), v1);
}

TEST(VolumeDescriptorV2Test, DefaultShardBlocks) {
  EXPECT_EQ(DefaultShardBlocks(0), 65536u);
  EXPECT_EQ(DefaultShardBlocks(1), 65536u);
  EXPECT_EQ(DefaultShardBlocks(uint64_t{65536} * 4096), 65536u);  // 2^28 blocks: 4096 shards
  EXPECT_EQ(DefaultShardBlocks(uint64_t{65536} * 4096 + 1), 131072u);
  EXPECT_EQ(DefaultShardBlocks(uint64_t{1} << 30), 262144u);
  EXPECT_EQ(DefaultShardBlocks(uint64_t{1} << 36), 1u << 24);
  EXPECT_EQ(DefaultShardBlocks((uint64_t{1} << 36) + 1),
            1u << 24);  // more than 4096 shards above 2^36
  EXPECT_EQ(DefaultShardBlocks(~uint64_t{0}), 1u << 24);
}

TEST(VolumeDescriptorV2Test, MakeVersion2SetsTheCreateDefaults) {
  auto d = NewDescriptor(uint64_t{1} << 40, 4096, KeyLayout::kFlat);  // 2^28 blocks
  ASSERT_TRUE(d.ok());
  MakeVersion2(&*d);
  EXPECT_EQ(d->format, 2);
  EXPECT_EQ(d->shard_blocks, 65536u);
  EXPECT_EQ(d->log_window, 8u);
  EXPECT_EQ(d->object_keys, "");
  std::string text = EncodeDescriptor(*d);
  EXPECT_EQ(text.substr(0, 15), "s3nbd-volume 2\n");
  auto back = DecodeDescriptor(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(EncodeDescriptor(*back), text);
  d->encryption = "aes-256-gcm";
  MakeVersion2(&*d);
  EXPECT_EQ(d->object_keys, "hkdf-sha256");
}

}  // namespace
}  // namespace s3nbd
