// V2Keys: the exact key names of docs/format.md, their listing order, and the parse of every
// kind back to its numbers; foreign keys (other prefix, other layout, bad digits) refused.
#include "cache/versioned/v2_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace s3nbd {
namespace {

V2Key MustParse(const V2Keys& k, const std::string& key) {
  auto r = k.Parse(key);
  EXPECT_TRUE(r.ok()) << key << ": " << r.status().message();
  return r.ok() ? *r : V2Key{};
}

void ExpectForeign(const V2Keys& k, const std::string& key) {
  auto r = k.Parse(key);
  ASSERT_FALSE(r.ok()) << key << " parsed as " << V2KeyKindName(r->kind);
  EXPECT_EQ(r.status().err(), EINVAL);
  EXPECT_NE(r.status().message().find("not an s3nbd version-2 key of this volume"),
            std::string::npos);
}

TEST(V2KeysTest, FlatNamesAreTheDocumentedOnes) {
  V2Keys k("vol/", KeyLayout::kFlat);
  EXPECT_EQ(k.Descriptor(), "vol/volume.s3nbd");
  EXPECT_EQ(k.LogSegment(0x1a), "vol/l/000000000000001a");
  EXPECT_EQ(k.CheckpointPointer(255), "vol/m/00000000000000ff");
  EXPECT_EQ(k.BlockGeneration(5, 2, 0xabc),
            "vol/b/0000000000000005/0000000000000002-0000000000000abc");
  EXPECT_EQ(k.LegacyBlock(5), "vol/b/0000000000000005");
  EXPECT_EQ(k.Shard(3, 1, 7), "vol/s/00000003/0000000000000001-0000000000000007");
  EXPECT_EQ(k.GarbageChunk(1, 8), "vol/s/g/0000000000000001-0000000000000008");
  EXPECT_EQ(k.Snapshot("daily.1"), "vol/snap/daily.1");
  EXPECT_EQ(k.LogListPrefix(), "vol/l/");
  EXPECT_EQ(k.CheckpointListPrefix(), "vol/m/");
  EXPECT_EQ(k.BlockListPrefix(), "vol/b/");
  EXPECT_EQ(k.ShardListPrefix(), "vol/s/");
  EXPECT_EQ(k.SnapshotListPrefix(), "vol/snap/");
}

TEST(V2KeysTest, HashedGenerationExtendsTheV1HashedKey) {
  V2Keys k("", KeyLayout::kHashed);
  BlockKeys v1("", KeyLayout::kHashed);
  std::string g = k.BlockGeneration(77, 3, 4);
  EXPECT_EQ(g, v1.BlockKey(77) + "/0000000000000003-0000000000000004");
  EXPECT_EQ(g.substr(0, 2), "h/");
  EXPECT_EQ(g.size(), 2 + 4 + 1 + 16 + 1 + 33u);
  EXPECT_EQ(k.BlockListPrefix(), "h/");
  V2Key p = MustParse(k, g);
  EXPECT_EQ(p.kind, V2KeyKind::kBlockGeneration);
  EXPECT_EQ(p.block, 77u);
  EXPECT_EQ(p.epoch, 3u);
  EXPECT_EQ(p.gen, 4u);
  V2Key legacy = MustParse(k, v1.BlockKey(77));
  EXPECT_EQ(legacy.kind, V2KeyKind::kLegacyBlock);
  EXPECT_EQ(legacy.block, 77u);
  // The hash digits of another block: an orphan, not this volume's key.
  std::string wrong = v1.BlockKey(78).substr(0, 7) + v1.BlockKey(77).substr(7) +
                      "/0000000000000003-0000000000000004";
  ExpectForeign(k, wrong);
  ExpectForeign(
      k, "b/000000000000004d/0000000000000003-0000000000000004");  // flat key on hashed volume
  // A long prefix with a '/' where a generation's '/' would be: still the legacy key.
  V2Keys deep("a/bcdefghijklmnopqrst/uv/", KeyLayout::kHashed);
  V2Key d = MustParse(deep, deep.LegacyBlock(1));
  EXPECT_EQ(d.kind, V2KeyKind::kLegacyBlock);
  EXPECT_EQ(d.block, 1u);
}

TEST(V2KeysTest, ParseRoundTripsEveryKind) {
  V2Keys k("p/q/", KeyLayout::kFlat);
  const uint64_t big = 0xfedcba9876543210ull;
  V2Key v = MustParse(k, k.LogSegment(big));
  EXPECT_EQ(v.kind, V2KeyKind::kLogSegment);
  EXPECT_EQ(v.lsn, big);
  v = MustParse(k, k.CheckpointPointer(9));
  EXPECT_EQ(v.kind, V2KeyKind::kCheckpointPointer);
  EXPECT_EQ(v.lsn, 9u);
  v = MustParse(k, k.BlockGeneration(big, 1, big - 1));
  EXPECT_EQ(v.kind, V2KeyKind::kBlockGeneration);
  EXPECT_EQ(v.block, big);
  EXPECT_EQ(v.epoch, 1u);
  EXPECT_EQ(v.gen, big - 1);
  v = MustParse(k, k.LegacyBlock(12));
  EXPECT_EQ(v.kind, V2KeyKind::kLegacyBlock);
  EXPECT_EQ(v.block, 12u);
  v = MustParse(k, k.Shard(0xffffffffu, 2, 3));
  EXPECT_EQ(v.kind, V2KeyKind::kShard);
  EXPECT_EQ(v.shard, 0xffffffffu);
  EXPECT_EQ(v.epoch, 2u);
  EXPECT_EQ(v.gen, 3u);
  v = MustParse(k, k.GarbageChunk(4, 5));
  EXPECT_EQ(v.kind, V2KeyKind::kGarbageChunk);
  EXPECT_EQ(v.epoch, 4u);
  EXPECT_EQ(v.gen, 5u);
  v = MustParse(k, k.Snapshot("Before_upgrade-2026.12"));
  EXPECT_EQ(v.kind, V2KeyKind::kSnapshot);
  EXPECT_EQ(v.snapshot, "Before_upgrade-2026.12");
  EXPECT_EQ(MustParse(k, "p/q/volume.s3nbd").kind, V2KeyKind::kDescriptor);
  EXPECT_EQ(MustParse(k, "p/q/lease.s3nbd").kind, V2KeyKind::kLease);
  EXPECT_EQ(MustParse(k, "p/q/writer.s3nbd").kind, V2KeyKind::kWriterToken);
}

TEST(V2KeysTest, LogKeysListInLsnOrder) {
  V2Keys k("v/", KeyLayout::kFlat);
  std::vector<uint64_t> lsns = {0, 1, 9, 10, 15, 16, 255, 256, 4096, 1ull << 40, ~0ull};
  std::vector<std::string> keys;
  for (uint64_t l : lsns) keys.push_back(k.LogSegment(l));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));  // S3 lists in byte order
}

TEST(V2KeysTest, ForeignKeysAreRefused) {
  V2Keys k("vol/", KeyLayout::kFlat);
  ExpectForeign(k, "other/l/0000000000000001");                                  // another prefix
  ExpectForeign(k, "vol/l/1");                                                   // not zero-padded
  ExpectForeign(k, "vol/l/000000000000000A");                                    // uppercase
  ExpectForeign(k, "vol/l/00000000000000001");                                   // 17 digits
  ExpectForeign(k, "vol/m/");                                                    // no LSN
  ExpectForeign(k, "vol/x/0000000000000001");                                    // unknown kind
  ExpectForeign(k, "vol/b/0000000000000005/0000000000000002_0000000000000abc");  // '_' for '-'
  ExpectForeign(k, "vol/b/0000000000000005/0000000000000002-0000000000000abc/x");
  ExpectForeign(k, "vol/b/0000000000000005/");
  ExpectForeign(k, "vol/s/0003/0000000000000001-0000000000000007");  // shard needs 8 digits
  ExpectForeign(k, "vol/s/00000003/0000000000000001");
  ExpectForeign(k, "vol/s/g/0000000000000001-000000000000008");
  ExpectForeign(k, "vol/snap/");
  ExpectForeign(k, "vol/snap/.hidden");
  ExpectForeign(k, "vol/snap/a/b");
  ExpectForeign(k, "vol/h/0000/0000000000000005");  // hashed key on a flat volume
  ExpectForeign(k, "vol/volume.s3nbd.bak");
  ExpectForeign(k, "vol/create-only-probe.00000000000000000000000000000000.s3nbd");
}

TEST(V2KeysTest, SnapshotNames) {
  EXPECT_TRUE(ValidateSnapshotName("a").ok());
  EXPECT_TRUE(ValidateSnapshotName(std::string(128, 'x')).ok());
  EXPECT_FALSE(ValidateSnapshotName("").ok());
  EXPECT_FALSE(ValidateSnapshotName(std::string(129, 'x')).ok());
  EXPECT_FALSE(ValidateSnapshotName("-x").ok());
  EXPECT_FALSE(ValidateSnapshotName("a b").ok());
  EXPECT_FALSE(ValidateSnapshotName("a/b").ok());
  EXPECT_EQ(ValidateSnapshotName("é").err(), EINVAL);
}

}  // namespace
}  // namespace s3nbd
