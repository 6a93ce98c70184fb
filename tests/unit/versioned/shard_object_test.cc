// Manifest shard objects and garbage chunks: round trips (plain, zstd, encrypted), every check
// of the decoder against what the root expects, entry rules, flipped bytes, wrong keys.
#include "cache/versioned/shard_object.h"

#include <gtest/gtest.h>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "cache/util/coding.h"
#include "tests/unit/versioned/format_test_util.h"

namespace s3nbd {
namespace {

using namespace format_test;

struct Encoded {
  std::string obj;
  ShardRef ref;
};

Encoded Shard(const ManifestIdentity& id, const std::vector<ShardEntry>& e = SampleShardEntries(), uint64_t shard = 0) {
  Encoded out;
  auto r = EncodeShardObject(id, shard, 2, 17, e, &out.ref);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (r.ok()) out.obj = *r;
  return out;
}

std::string Refusal(const ManifestIdentity& id, const ShardRef& ref, const std::string& obj, uint32_t sources = 1) {
  auto r = DecodeShardObject(id, ref, sources, obj);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EIO);
  return r.status().message();
}

// A plain object's header edited by someone who recomputes its checksum.
void Rechecksum(std::string* obj) {
  XXH3_state_t st;
  XXH3_INITSTATE(&st);
  XXH3_64bits_reset_withSeed(&st, GetLE<uint64_t>(obj->data() + 8));
  XXH3_64bits_update(&st, obj->data(), 88);
  XXH3_64bits_update(&st, obj->data() + 96, obj->size() - 96);
  PutLE<uint64_t>(obj->data() + 88, XXH3_64bits_digest(&st));
}

std::vector<ShardEntry> Many(uint32_t n) {
  std::vector<ShardEntry> v;
  for (uint32_t i = 0; i < n; i++) v.push_back(ShardEntry{i, true, false, 0, 2, 100 + i, 0x77, 50, 3});
  return v;
}

TEST(ManifestShardTest, RoundTripEveryVariant) {
  for (int v = 0; v < 4; v++) {
    ManifestIdentity id = ManId(v & 1, v & 2);
    Encoded s = Shard(id, Many(200), 1);
    EXPECT_EQ(s.ref, (ShardRef{1, 0, 200, 2, 17, GetLE<uint64_t>(s.obj.data() + 88), s.obj.size()}));
    auto e = DecodeShardObject(id, s.ref, 1, s.obj);
    ASSERT_TRUE(e.ok()) << e.status().message();
    EXPECT_EQ(*e, Many(200));
    EXPECT_EQ(static_cast<uint8_t>(s.obj[5]), ((v & 2) ? 1 : 0) | ((v & 1) ? 2 : 0)) << v;
  }
  // Incompressible entries are stored plain even on a zstd volume; an empty shard works.
  std::vector<ShardEntry> noise;
  uint64_t x = 0x9e3779b97f4a7c15;
  auto next = [&] { return x = x * 6364136223846793005u + 1442695040888963407u; };
  for (uint32_t i = 0; i < 2; i++) noise.push_back(ShardEntry{i, true, false, 0, next(), next(), next(), next(), next()});
  Encoded s = Shard(ManId(false, true), noise);
  EXPECT_EQ(s.obj[5], 0);
  EXPECT_TRUE(DecodeShardObject(ManId(false, true), s.ref, 1, s.obj).ok());
  s = Shard(ManId(), {});
  EXPECT_TRUE(DecodeShardObject(ManId(), s.ref, 1, s.obj).ok());
}

TEST(ManifestShardTest, ChecksAgainstWhatTheRootExpects) {
  Encoded s = Shard(ManId());
  ShardRef r = s.ref;
  r.gen = 16;
  EXPECT_EQ(Refusal(ManId(), r, s.obj),
            "volume sample: shard 0: replayed or misplaced object: holds generation "
            "0000000000000002-0000000000000011, manifest expects 0000000000000002-0000000000000010");
  r = s.ref;
  r.checksum ^= 1;
  EXPECT_NE(Refusal(ManId(), r, s.obj).find("stale or replaced object: checksum"), std::string::npos);
  r = s.ref;
  r.shard = 1;
  EXPECT_NE(Refusal(ManId(), r, s.obj).find("misplaced object: it holds shard index 0"), std::string::npos);
  r = s.ref;
  r.length += 1;
  EXPECT_NE(Refusal(ManId(), r, s.obj).find("manifest expects"), std::string::npos);
  r = s.ref;
  r.entries = 2;
  EXPECT_NE(Refusal(ManId(), r, s.obj).find("plaintext length 144, manifest expects 96"), std::string::npos);
  r = s.ref;
  r.entries = kShardBlocks + 1;
  EXPECT_NE(Refusal(ManId(), r, s.obj).find("more than the shard's 4096 blocks"), std::string::npos);
  ManifestIdentity other = ManId();
  other.uuid = Uuid(0x30);
  EXPECT_NE(Refusal(other, s.ref, s.obj).find("another volume"), std::string::npos);
  // A plain object in an encrypted volume; zstd flag on a volume without zstd.
  EXPECT_NE(Refusal(ManId(true), s.ref, s.obj).find("not encrypted but the volume is"), std::string::npos);
  Encoded z = Shard(ManId(false, true), Many(100));
  EXPECT_NE(Refusal(ManId(), z.ref, z.obj).find("does not enable"), std::string::npos);
}

TEST(ManifestShardTest, HeaderTruncationAndFlips) {
  for (int v = 0; v < 4; v++) {
    ManifestIdentity id = ManId(v & 1, v & 2);
    Encoded s = Shard(id, Many(100));
    for (size_t n = 0; n < s.obj.size(); n++) EXPECT_FALSE(DecodeShardObject(id, s.ref, 1, s.obj.substr(0, n)).ok()) << n;
    for (size_t pos = 0; pos < s.obj.size(); pos++) {
      std::string o = s.obj;
      o[pos] ^= 0x04;
      // Refused, or (a zstd frame has bits that do not change its output) the same entries:
      // the checksum covers the plaintext, never anything else.
      auto d = DecodeShardObject(id, s.ref, 1, o);
      if (d.ok()) {
        ASSERT_TRUE((v & 2) && !(v & 1) && pos >= 96) << "variant " << v << " byte " << pos;
        ASSERT_EQ(*d, Many(100)) << "variant " << v << " byte " << pos;
      }
    }
  }
  Encoded s = Shard(ManId());
  std::string o = s.obj;
  o[60] = 1;  // salt of a plain object
  Rechecksum(&o);
  ShardRef r = s.ref;
  r.checksum = GetLE<uint64_t>(o.data() + 88);
  EXPECT_NE(Refusal(ManId(), r, o).find("salt of an unencrypted object"), std::string::npos);
  o = s.obj;
  o[4] = 2;
  EXPECT_NE(Refusal(ManId(), s.ref, o).find("shard format version 2"), std::string::npos);
}

TEST(ManifestShardTest, WrongKeyFails) {
  Encoded s = Shard(ManId(true));
  ManifestIdentity other = ManId(true);
  other.key = TestKey(3);
  EXPECT_NE(Refusal(other, s.ref, s.obj).find("authentication failed (AES-GCM)"), std::string::npos);
  // The plaintext does not show through.
  EXPECT_EQ(s.obj.find(std::string("\xef\xcd\xab\x89\x67\x45\x23\x01", 8)), std::string::npos);
}

TEST(ManifestShardTest, EntryRules) {
  auto refused = [](std::vector<ShardEntry> e, const std::string& what, uint64_t shard = 0) {
    ShardRef ref;
    auto r = EncodeShardObject(ManId(), shard, 2, 17, e, &ref);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().err(), EINVAL);
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  auto e = SampleShardEntries();
  std::swap(e[0], e[1]);
  refused(e, "not sorted strictly by index");
  e = SampleShardEntries();
  e[1].index = 7;
  refused(e, "not sorted strictly by index");
  e = SampleShardEntries();
  e[2].index = kShardBlocks;
  refused(e, "index is beyond the shard or the volume");
  refused({ShardEntry{1, true, false, 0, 1, 1, 1, 1, 1}}, "index is beyond the shard or the volume", 2);  // 8193 blocks
  e = SampleShardEntries();
  e[1].gen = 1;
  refused(e, "ZERO entry with a generation");
  e = SampleShardEntries();
  e[1].legacy = true;
  refused(e, "LEGACY without PRESENT");
  e = SampleShardEntries();
  e[2].epoch = 1;
  refused(e, "LEGACY entry with an epoch");
  ShardRef ref;
  EXPECT_EQ(EncodeShardObject(ManId(), 3, 2, 17, SampleShardEntries(), &ref).status().err(), EINVAL);
  // Sources: the entry's source plus the shard table entry's must be in the source table.
  e = SampleShardEntries();
  e[0].source = 1;
  Encoded s = Shard(ManId(), e);
  EXPECT_NE(Refusal(ManId(), s.ref, s.obj, 1).find("source 1 is not in the source table"), std::string::npos);
  EXPECT_TRUE(DecodeShardObject(ManId(), s.ref, 2, s.obj).ok());
  ShardRef shifted = s.ref;
  shifted.source = 1;
  EXPECT_FALSE(DecodeShardObject(ManId(), shifted, 2, s.obj).ok());
  EXPECT_TRUE(DecodeShardObject(ManId(), shifted, 3, s.obj).ok());
  // Unknown entry flags and the reserved byte (a hostile writer).
  for (size_t at : {size_t{4}, size_t{5}}) {
    std::string o = Shard(ManId()).obj;
    o[96 + at] |= 0x40;
    Rechecksum(&o);
    ShardRef r = Shard(ManId()).ref;
    r.checksum = GetLE<uint64_t>(o.data() + 88);
    EXPECT_NE(Refusal(ManId(), r, o).find("unknown flags or reserved byte"), std::string::npos);
  }
}

TEST(ManifestShardTest, GarbageChunks) {
  for (int v = 0; v < 4; v++) {
    ManifestIdentity id = ManId(v & 1, v & 2);
    std::vector<GarbageEntry> many;
    for (uint64_t i = 0; i < 300; i++) many.push_back(GarbageEntry{GarbageKind::kGeneration, i, 1, i + 1, 1, 2, 99});
    GarbageChunkRef ref;
    auto obj = EncodeGarbageChunk(id, 2, 18, many, &ref);
    ASSERT_TRUE(obj.ok()) << obj.status().message();
    auto d = DecodeGarbageChunk(id, ref, *obj);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(*d, many);
    GarbageChunkRef r = ref;
    r.epoch = 3;
    EXPECT_NE(DecodeGarbageChunk(id, r, *obj).status().message().find("volume sample: garbage chunk 0000000000000003-0000000000000012: replayed or misplaced"),
              std::string::npos);
    // A shard object is not a garbage chunk (shard index field).
    Encoded s = Shard(id);
    EXPECT_FALSE(DecodeGarbageChunk(id, GarbageChunkRef{2, 17, s.ref.checksum, s.ref.length, 3}, s.obj).ok());
  }
  GarbageChunkRef ref;
  EXPECT_EQ(EncodeGarbageChunk(ManId(), 2, 18, {}, &ref).status().err(), EINVAL);
  std::vector<GarbageEntry> too(kMaxGarbageChunkEntries + 1, SampleChunkEntries()[0]);
  EXPECT_EQ(EncodeGarbageChunk(ManId(), 2, 18, too, &ref).status().err(), EINVAL);
  EXPECT_NE(DecodeGarbageChunk(ManId(), GarbageChunkRef{2, 18, 0, 1000, kMaxGarbageChunkEntries + 1}, "x")
                .status()
                .message()
                .find("a chunk holds 1 to 65536"),
            std::string::npos);
}

}  // namespace
}  // namespace s3nbd
