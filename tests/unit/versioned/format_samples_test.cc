// Checked-in samples of the v2 log and manifest objects (tests/unit/versioned/samples/): each
// decodes to exactly the values it was made from, its bytes sit at the offsets docs/format.md
// gives, and re-encoding the deterministic ones reproduces the file byte for byte. If one of
// these fails, the format changed: bump its version and document it, do not edit the sample.
#include <gtest/gtest.h>

#include "cache/util/coding.h"
#include "tests/unit/versioned/format_test_util.h"

namespace s3nbd {
namespace {

using namespace format_test;

uint64_t U64(const std::string& s, size_t at) { return GetLE<uint64_t>(s.data() + at); }
uint32_t U32(const std::string& s, size_t at) { return GetLE<uint32_t>(s.data() + at); }

std::string Must(Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::string();
}

TEST(SegmentSampleTest, EpochSegment) {
  SegmentHeader f = SampleFields(12, 2);
  f.flush_point = false;
  SegmentBuilder b(SegId(), f);
  b.Add(SampleEpoch());
  std::string obj = Must(b.Seal());
  ASSERT_TRUE(SampleMatches("segment-epoch.bin", obj));
  std::string s = ReadSample("segment-epoch.bin");
  auto d = DecodeSegment(SegId(), 12, s);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const SegmentHeader& h = d->header;
  EXPECT_EQ(s.substr(0, 4), "S3NL");
  EXPECT_EQ(s[4], 1);
  EXPECT_EQ(s[5], 0);  // no flags: plain, not a flush point
  EXPECT_EQ(GetLE<uint16_t>(s.data() + 6), 128);
  EXPECT_EQ(h.lsn, 12u);
  EXPECT_EQ(U64(s, 8), 12u);
  EXPECT_EQ(h.epoch, 2u);
  EXPECT_EQ(U64(s, 16), 2u);
  EXPECT_EQ(s.substr(24, 16), std::string(reinterpret_cast<const char*>(Uuid().data()), 16));
  EXPECT_FALSE(h.flush_point);
  EXPECT_FALSE(h.encrypted);
  EXPECT_EQ(h.flush_count, 3u);
  EXPECT_EQ(h.time_us, 1764633600123456u);
  EXPECT_EQ(h.prev, 0x0102030405060708u);
  EXPECT_EQ(U64(s, 72), h.prev);
  EXPECT_EQ(h.record_count, 2u);
  EXPECT_EQ(h.record_bytes, 16 + 57 + 11 + 16 + 16u);
  EXPECT_EQ(U32(s, 56), h.record_bytes);
  EXPECT_EQ(h.data_bytes, 0u);
  EXPECT_EQ(h.salt, ObjectSalt{});
  EXPECT_EQ(U64(s, 112), 0u);
  EXPECT_EQ(h.checksum, U64(s, 120));
  ASSERT_EQ(d->records.size(), 1u);
  EXPECT_EQ(std::get<EpochRecord>(d->records[0]), SampleEpoch());
  EXPECT_EQ(s[128 + 8], 1);  // type EPOCH
  EXPECT_EQ(U32(s, 128 + 12), 57 + 11u);
  EXPECT_EQ(s[128 + 16 + 68 + 8], 7);  // then COMMIT
  EXPECT_EQ(U32(s, 128 + 16 + 68 + 16), 1u);  // one record before it
}

TEST(SegmentSampleTest, PlainSegmentWithEveryRecord) {
  std::string root = Must(EncodeManifestRoot(ManId(), SampleRoot()));
  SegmentHeader sealed;
  std::string obj = Must(SampleBuilder(SegId(), root).Seal(&sealed));
  ASSERT_TRUE(SampleMatches("segment-plain.bin", obj));
  std::string s = ReadSample("segment-plain.bin");
  std::vector<std::string> extents;
  auto d = DecodeSegment(SegId(), 5, s, &extents);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const SegmentHeader& h = d->header;
  EXPECT_EQ(h.lsn, 5u);
  EXPECT_EQ(h.epoch, 2u);
  EXPECT_TRUE(h.flush_point);
  EXPECT_EQ(s[5], 4);  // the FLUSH-point flag alone
  EXPECT_EQ(h.flush_count, 3u);
  EXPECT_EQ(h.record_count, 7u);
  EXPECT_EQ(h.record_bytes, 16 * 7 + root.size() + 32 + 16 + 32 + 16 + 32 + 16);
  EXPECT_EQ(h.data_bytes, 1024 + 512u);
  EXPECT_EQ(U64(s, 64), h.data_bytes);
  EXPECT_EQ(h.checksum, sealed.checksum);
  ASSERT_EQ(d->records.size(), 6u);
  EXPECT_EQ(std::get<CheckpointRecord>(d->records[0]).root, root);
  const auto& w = std::get<WriteRecord>(d->records[1]);
  EXPECT_EQ(w.block, 7u);
  EXPECT_EQ(w.offset, 512u);
  EXPECT_EQ(w.length, 1024u);
  EXPECT_EQ(w.data_offset, 0u);
  EXPECT_EQ(std::get<ZeroRecord>(d->records[2]), (ZeroRecord{8, 0, 512}));
  EXPECT_EQ(std::get<BlockRecord>(d->records[3]), (BlockRecord{9, 2, 4, 0x9999888877776666}));
  EXPECT_EQ(std::get<EraseRecord>(d->records[4]), (EraseRecord{10, 3}));
  const auto& w2 = std::get<WriteRecord>(d->records[5]);
  EXPECT_EQ(w2.block, 8192u);
  EXPECT_EQ(w2.offset, 3584u);
  EXPECT_EQ(w2.data_offset, 1024u);
  ASSERT_EQ(extents.size(), 2u);
  EXPECT_EQ(extents[0], Pattern(1024, 1));
  EXPECT_EQ(extents[1], Pattern(512, 2));
  // The data area holds the plaintext extents in record order, right after the record area.
  EXPECT_EQ(s.substr(128 + h.record_bytes), Pattern(1024, 1) + Pattern(512, 2));
  // The CHECKPOINT body is the root sample, and decodes as one.
  EXPECT_TRUE(SampleMatches("root.bin", root));
}

TEST(SegmentSampleTest, EncryptedSegmentWithFixedSalt) {
  std::string root = Must(EncodeManifestRoot(ManId(true), SampleRoot()));
  std::string obj = Must(SampleBuilder(SegId(true), root).SealWithSaltForTest(TestSalt()));
  ASSERT_TRUE(SampleMatches("segment-encrypted.bin", obj));
  std::string s = ReadSample("segment-encrypted.bin");
  std::vector<std::string> extents;
  auto d = DecodeSegment(SegId(true), 5, s, &extents);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const SegmentHeader& h = d->header;
  EXPECT_TRUE(h.encrypted);
  EXPECT_EQ(s[5], 2 | 4);
  EXPECT_EQ(h.salt, TestSalt());
  EXPECT_EQ(s.substr(80, 32), std::string(reinterpret_cast<const char*>(TestSalt().data()), 32));
  EXPECT_EQ(h.record_bytes, 16 * 7 + root.size() + 32 + 16 + 32 + 16 + 32 + 16 + 16);  // + the tag
  EXPECT_EQ(h.data_bytes, 1024 + 16 + 512 + 16u);  // each extent with its tag
  ASSERT_EQ(d->records.size(), 6u);
  EXPECT_EQ(std::get<WriteRecord>(d->records[5]).data_offset, 1024 + 16u);
  EXPECT_EQ(extents, (std::vector<std::string>{Pattern(1024, 1), Pattern(512, 2)}));
  // Nothing of the plaintext is visible: neither the root's magic nor the extents.
  EXPECT_EQ(s.find("S3NM"), std::string::npos);
  EXPECT_EQ(s.find(Pattern(64, 1)), std::string::npos);
  // Another key does not open it.
  SegmentIdentity other = SegId(true);
  other.key = TestKey(9);
  EXPECT_EQ(DecodeSegment(other, 5, s).status().err(), EIO);
}

TEST(ManifestSampleTest, Root) {
  std::string s = ReadSample("root.bin");
  auto r = DecodeManifestRoot(ManId(), 5, s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, SampleRoot());
  EXPECT_EQ(s.substr(0, 4), "S3NM");
  EXPECT_EQ(GetLE<uint16_t>(s.data() + 6), 144);
  EXPECT_EQ(U64(s, 8), 3u);     // checkpoint number
  EXPECT_EQ(U64(s, 32), 40u);   // log start
  EXPECT_EQ(U32(s, 64), 2u);    // S
  EXPECT_EQ(U32(s, 68), 2u);    // G
  EXPECT_EQ(U32(s, 72), 1u);    // C
  EXPECT_EQ(U32(s, 76), 2u);    // V
  EXPECT_EQ(U32(s, 80), 2u);    // M
  EXPECT_EQ(U64(s, 104), 20u);  // previous checkpoint
  EXPECT_EQ(U64(s, 128), 0x1122334455667788u);
  // Sources (20 + 0, 20 + 7 bytes), then the shard table.
  EXPECT_EQ(s.substr(144 + 20 + 20, 7), "parent/");
  EXPECT_EQ(U64(s, 144 + 47), 0u);        // shard 0
  EXPECT_EQ(U64(s, 144 + 47 + 48), 2u);   // shard 2
  EXPECT_EQ(s.size(), 144 + 47 + 2 * 48 + 2 * 16 + 40 + 2 * 56u);
  EXPECT_EQ(Must(EncodeManifestRoot(ManId(), *r)), s);
}

TEST(ManifestSampleTest, ShardObjects) {
  ShardRef ref;
  std::string plain = Must(EncodeShardObject(ManId(), 0, 2, 17, SampleShardEntries(), &ref));
  ASSERT_TRUE(SampleMatches("shard-plain.bin", plain));
  std::string s = ReadSample("shard-plain.bin");
  EXPECT_EQ(s.substr(0, 4), "S3NS");
  EXPECT_EQ(s.size(), 96 + 3 * 48u);
  EXPECT_EQ(U64(s, 8), 0u);
  EXPECT_EQ(U64(s, 16), 2u);
  EXPECT_EQ(U64(s, 24), 17u);
  EXPECT_EQ(U32(s, 48), 3 * 48u);
  EXPECT_EQ(U32(s, 52), 3 * 48u);
  EXPECT_EQ(ref, (ShardRef{0, 0, 3, 2, 17, U64(s, 88), s.size()}));
  auto e = DecodeShardObject(ManId(), ref, 1, s);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(*e, SampleShardEntries());
  EXPECT_EQ(s[96 + 48 + 4], 0);      // entry 1 is a ZERO entry
  EXPECT_EQ(s[96 + 96 + 4], 1 | 2);  // entry 2 is PRESENT | LEGACY

  ShardRef eref;
  std::string enc = Must(EncodeShardObjectWithSaltForTest(ManId(true), 0, 2, 17, SampleShardEntries(),
                                                          TestSalt(0x70), &eref));
  ASSERT_TRUE(SampleMatches("shard-encrypted.bin", enc));
  s = ReadSample("shard-encrypted.bin");
  EXPECT_EQ(s[5], 2);
  EXPECT_EQ(s.size(), 96 + 3 * 48 + 16u);
  EXPECT_EQ(s.substr(56, 32), std::string(reinterpret_cast<const char*>(TestSalt(0x70).data()), 32));
  e = DecodeShardObject(ManId(true), eref, 1, s);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(*e, SampleShardEntries());

  // zstd output may differ between zstd versions: this sample is decoded, not re-encoded.
  std::vector<ShardEntry> many;
  for (uint32_t i = 0; i < 64; i++) many.push_back(ShardEntry{i * 2, true, false, 0, 2, 100 + i, 0x77 + i, 50, 3});
  ShardRef zref;
  std::string z = Must(EncodeShardObject(ManId(false, true), 1, 2, 19, many, &zref));
  if (std::getenv("S3NBD_WRITE_SAMPLES")) {
    ASSERT_TRUE(SampleMatches("shard-zstd.bin", z));
  }
  s = ReadSample("shard-zstd.bin");
  EXPECT_EQ(s[5], 1);
  EXPECT_LT(s.size(), 96 + 64 * 48u);
  EXPECT_EQ(U32(s, 52), 64 * 48u);
  zref.checksum = U64(s, 88);
  zref.length = s.size();
  e = DecodeShardObject(ManId(false, true), zref, 1, s);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(*e, many);
}

TEST(ManifestSampleTest, GarbageChunk) {
  GarbageChunkRef ref;
  std::string obj = Must(EncodeGarbageChunk(ManId(), 2, 18, SampleChunkEntries(), &ref));
  ASSERT_TRUE(SampleMatches("garbage-chunk.bin", obj));
  std::string s = ReadSample("garbage-chunk.bin");
  EXPECT_EQ(U64(s, 8), kGarbageChunkShard);
  EXPECT_EQ(s.size(), 96 + 2 * 56u);
  EXPECT_EQ(ref, (GarbageChunkRef{2, 18, U64(s, 88), s.size(), 2}));
  auto e = DecodeGarbageChunk(ManId(), ref, s);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(*e, SampleChunkEntries());
  EXPECT_EQ(s[96], 3);       // kind LEGACY
  EXPECT_EQ(s[96 + 56], 4);  // kind garbage chunk
}

TEST(PointerSampleTest, Pointer) {
  CheckpointPointer p{5, 2, 0x0f1e2d3c4b5a6978};
  ASSERT_TRUE(SampleMatches("pointer.bin", EncodeCheckpointPointer(p)));
  std::string s = ReadSample("pointer.bin");
  EXPECT_EQ(s.size(), 40u);
  EXPECT_EQ(s.substr(0, 4), "S3NP");
  EXPECT_EQ(s[4], 1);
  EXPECT_EQ(U64(s, 8), 5u);
  EXPECT_EQ(U64(s, 16), 2u);
  EXPECT_EQ(U64(s, 24), 0x0f1e2d3c4b5a6978u);
  auto d = DecodeCheckpointPointer("sample", 5, s);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, p);
}

}  // namespace
}  // namespace s3nbd
