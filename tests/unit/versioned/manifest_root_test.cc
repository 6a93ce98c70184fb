// The manifest root: round trip, every count and order check, reserved bytes, the volume's
// geometry, truncation and padding at every length, and flipped bytes.
#include "cache/versioned/manifest_root.h"

#include <gtest/gtest.h>

#include "cache/util/coding.h"
#include "tests/unit/versioned/format_test_util.h"

namespace s3nbd {
namespace {

using namespace format_test;

std::string Enc(const ManifestRoot& r) {
  auto b = EncodeManifestRoot(ManId(), r);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? *b : std::string();
}

// The encoder refuses the root (EINVAL) with `what` in its message.
void Refused(const ManifestRoot& r, const std::string& what) {
  auto b = EncodeManifestRoot(ManId(), r);
  ASSERT_FALSE(b.ok()) << what;
  EXPECT_EQ(b.status().err(), EINVAL);
  EXPECT_NE(b.status().message().find(what), std::string::npos) << b.status().message();
}

std::string Decode(const std::string& body) {
  auto r = DecodeManifestRoot(ManId(), 7, body);
  EXPECT_FALSE(r.ok());
  return r.status().message();
}

TEST(ManifestRootTest, RoundTripAndMinimal) {
  ManifestRoot r = SampleRoot();
  auto d = DecodeManifestRoot(ManId(), 7, Enc(r));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, r);
  // The smallest root: the first checkpoint of an empty volume.
  ManifestRoot m;
  m.checkpoint = 1;
  m.epoch = m.max_epoch = 1;
  m.volume_size = kBlocks * kBlockSize;
  m.block_size = kBlockSize;
  m.shard_blocks = kShardBlocks;
  m.sources = {SourceEntry{Uuid(), 0, ""}};
  std::string b = Enc(m);
  EXPECT_EQ(b.size(), 144 + 20u);
  d = DecodeManifestRoot(ManId(), 7, b);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, m);
}

TEST(ManifestRootTest, TablesAreSortedAndInRange) {
  ManifestRoot r = SampleRoot();
  std::swap(r.shards[0], r.shards[1]);
  Refused(r, "shard table entry 1: shard indexes are not strictly increasing");
  r = SampleRoot();
  r.shards[1].shard = 0;
  Refused(r, "not strictly increasing");
  r = SampleRoot();
  r.shards[1].shard = 3;  // 8193 blocks: shards 0..2
  Refused(r, "shard 3 is beyond the volume");
  r = SampleRoot();
  r.shards[1].source = 2;
  Refused(r, "source 2 is not in the source table");
  r = SampleRoot();
  r.shards[0].entries = kShardBlocks + 1;
  Refused(r, "more entries than the shard has blocks");
  r = SampleRoot();
  r.shards[0].length = 95;
  Refused(r, "shorter than a header");
  r = SampleRoot();
  r.epoch_markers[1].lsn = 0;
  Refused(r, "epoch marker 1: LSNs and epochs are not strictly increasing");
  r = SampleRoot();
  r.epoch_markers[1].epoch = 3;  // above max epoch
  Refused(r, "is not in 1..max epoch");
  r = SampleRoot();
  r.garbage_chunks[0].entries = 0;
  Refused(r, "entry count is not in 1..65536");
  r = SampleRoot();
  r.garbage_chunks[0].entries = kMaxGarbageChunkEntries + 1;
  Refused(r, "entry count is not in 1..65536");
  r = SampleRoot();
  r.garbage.resize(kMaxInlineGarbage + 1, r.garbage[0]);
  Refused(r, "4097 inline garbage entries, at most 4096");
  r = SampleRoot();
  r.garbage.resize(kMaxInlineGarbage, r.garbage[0]);
  EXPECT_TRUE(EncodeManifestRoot(ManId(), r).ok());
}

TEST(ManifestRootTest, FixedPartRules) {
  ManifestRoot r = SampleRoot();
  r.checkpoint = 0;
  Refused(r, "checkpoint number 0");
  r = SampleRoot();
  r.prev_checkpoint_lsn = ~uint64_t{0};  // only the first checkpoint has none
  Refused(r, "previous checkpoint's LSN disagree");
  r = SampleRoot();
  r.checkpoint = 1;
  Refused(r, "previous checkpoint's LSN disagree");
  r = SampleRoot();
  r.epoch = 3;
  Refused(r, "epoch 3 is not in 1..max epoch");
  r = SampleRoot();
  r.trim_to = 41;
  Refused(r, "trim range is not below log start");
  r = SampleRoot();
  r.trim_from = 31;
  Refused(r, "trim range");
  r = SampleRoot();
  r.sources.clear();
  Refused(r, "empty source table");
  r = SampleRoot();
  r.sources[0].prefix = "x/";
  Refused(r, "source 0 is not this volume");
  r = SampleRoot();
  r.sources[0].uuid = Uuid(0x30);
  Refused(r, "source 0 is not this volume");
  r = SampleRoot();
  r.sources[1].key_layout = 2;
  Refused(r, "source 1: unknown key layout");
  // Another volume's geometry.
  for (int which = 0; which < 3; which++) {
    r = SampleRoot();
    if (which == 0) r.volume_size += kBlockSize;
    if (which == 1) r.block_size *= 2;
    if (which == 2) r.shard_blocks *= 2;
    Refused(r, "the descriptor says");
  }
}

TEST(ManifestRootTest, GarbageEntries) {
  ManifestRoot r = SampleRoot();
  r.garbage[0].kind = static_cast<GarbageKind>(5);
  Refused(r, "unknown kind 5");
  r = SampleRoot();
  r.garbage[0].id = kBlocks;
  Refused(r, "block 8193 is beyond the volume");
  r = SampleRoot();
  r.garbage[1].id = 3;
  Refused(r, "shard 3 is beyond the volume");
  r = SampleRoot();
  r.garbage[0] = GarbageEntry{GarbageKind::kLegacy, 1, 5, 1, 1, 2, 3};
  Refused(r, "LEGACY object with an epoch");
  r = SampleRoot();
  r.garbage[0] = GarbageEntry{GarbageKind::kChunk, 1, 5, 1, 1, 2, 3};
  Refused(r, "garbage chunk entry with an index");
  // Reserved bytes and the source field of an inline entry.
  std::string b = Enc(SampleRoot());
  size_t g0 = b.size() - 2 * 56;
  for (size_t at : {g0 + 1, g0 + 2, g0 + 4}) {
    std::string o = b;
    o[at] = 1;
    EXPECT_NE(Decode(o).find("garbage entry"), std::string::npos) << at;
  }
}

TEST(ManifestRootTest, ReservedBytesAndHeader) {
  const std::string b = Enc(SampleRoot());
  auto with = [&](size_t at, char v) {
    std::string o = b;
    o[at] = v;
    return Decode(o);
  };
  EXPECT_NE(with(0, 'X').find("bad magic"), std::string::npos);
  EXPECT_NE(with(4, 2).find("manifest version 2 is not supported"), std::string::npos);
  EXPECT_NE(with(5, 1).find("unknown flags"), std::string::npos);
  EXPECT_NE(with(6, 0).find("bad fixed part length"), std::string::npos);
  EXPECT_NE(with(84, 1).find("reserved fields"), std::string::npos);
  EXPECT_NE(with(143, 1).find("reserved fields"), std::string::npos);
  EXPECT_NE(with(144 + 17, 1).find("reserved byte"), std::string::npos);  // source 0's
  EXPECT_NE(with(144 + 47 + 10, 1).find("shard table entry 0: reserved"), std::string::npos);
  size_t chunk = 144 + 47 + 2 * 48 + 2 * 16;
  EXPECT_NE(with(chunk + 36, 1).find("garbage chunk entry 0: reserved"), std::string::npos);
  EXPECT_EQ(Decode(b.substr(0, 10)),
            "volume sample: log segment 7: manifest root: body is 10 bytes, shorter than the fixed part");
}

TEST(ManifestRootTest, EveryTruncationAndPaddingFails) {
  const std::string b = Enc(SampleRoot());
  for (size_t n = 0; n < b.size(); n++) EXPECT_FALSE(DecodeManifestRoot(ManId(), 7, b.substr(0, n)).ok()) << n;
  EXPECT_NE(Decode(b + "x").find("tables take"), std::string::npos);
  // Counts that claim more than the body holds are refused before anything is allocated.
  std::string o = b;
  PutLE<uint32_t>(o.data() + 76, 0xffffffffu);  // V
  EXPECT_NE(Decode(o).find("source table runs past the body"), std::string::npos);
  o = b;
  PutLE<uint32_t>(o.data() + 80, 0xffffffffu);  // M
  EXPECT_NE(Decode(o).find("tables take"), std::string::npos);
  o = b;
  PutLE<uint32_t>(o.data() + 64, 3);  // S
  EXPECT_NE(Decode(o).find("tables take"), std::string::npos);
  o = b;
  PutLE<uint16_t>(o.data() + 144 + 20 + 18, 0xffff);  // source 1's prefix length
  EXPECT_NE(Decode(o).find("prefix runs past the body"), std::string::npos);
}

TEST(ManifestRootTest, FlippedBytesNeverDecodeToTheSameRoot) {
  // The root has no checksum of its own (the record's covers it); still, a decoded root
  // re-encodes to exactly its bytes, so no flipped byte is silently ignored.
  const std::string b = Enc(SampleRoot());
  for (size_t pos = 0; pos < b.size(); pos++) {
    std::string o = b;
    o[pos] ^= 0x10;
    auto d = DecodeManifestRoot(ManId(), 7, o);
    if (!d.ok()) continue;
    EXPECT_NE(*d, SampleRoot()) << pos;
    EXPECT_EQ(Enc(*d), o) << pos;
  }
}

}  // namespace
}  // namespace s3nbd
