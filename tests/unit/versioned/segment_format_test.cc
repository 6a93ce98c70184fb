// Log segments: round trips, torn tails (every length), flipped bytes (every position), spliced
// records, the record rules (data offsets, EPOCH alone, CHECKPOINT first, ranges), wrong keys,
// the limits, ranged extents and the wording of the errors.
#include "cache/versioned/segment_format.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "cache/util/coding.h"
#include "tests/unit/versioned/format_test_util.h"

namespace s3nbd {
namespace {

using namespace format_test;

std::string Seal(const SegmentBuilder& b) {
  auto r = b.Seal();
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::string();
}

std::string Unchecked(const SegmentBuilder& b) {
  auto r = b.SealUncheckedForTest(TestSalt());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::string();
}

std::string Segment(bool encrypted) {
  return Seal(SampleBuilder(SegId(encrypted), std::string("opaque root bytes")));
}

// Recomputes every checksum of a plain segment after a test edited it (a hostile writer that
// knows the format): header, each record (the header's checksum as seed) and COMMIT's.
void Rechecksum(std::string* obj) {
  char* p = obj->data();
  uint64_t lsn = GetLE<uint64_t>(p + 8);
  PutLE<uint64_t>(p + 120, XXH3_64bits_withSeed(p, 120, lsn));
  uint64_t seed = GetLE<uint64_t>(p + 120);
  uint32_t r = GetLE<uint32_t>(p + 56);
  for (size_t pos = 128; pos < 128 + r;) {
    char* rec = p + pos;
    uint32_t len = GetLE<uint32_t>(rec + 12);
    if (rec[8] == 7)
      PutLE<uint64_t>(rec + 24, XXH3_64bits_withSeed(p + 128 + r, obj->size() - 128 - r, lsn));
    PutLE<uint64_t>(rec, XXH3_64bits_withSeed(rec + 8, 8 + size_t{len}, seed));
    pos += 16 + len;
  }
}

// The offset of record i in a plain segment.
size_t RecordAt(const std::string& obj, size_t i) {
  size_t pos = 128;
  while (i--) pos += 16 + GetLE<uint32_t>(obj.data() + pos + 12);
  return pos;
}

TEST(SegmentFormatTest, RoundTripPlainAndEncrypted) {
  for (bool enc : {false, true}) {
    std::string obj = Segment(enc);
    std::vector<std::string> ext;
    auto d = DecodeSegment(SegId(enc), 5, obj, &ext);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->header.encrypted, enc);
    ASSERT_EQ(d->records.size(), 6u);
    EXPECT_EQ(TypeOf(d->records[0]), RecordType::kCheckpoint);
    EXPECT_EQ(ext, (std::vector<std::string>{Pattern(1024, 1), Pattern(512, 2)}));
    // The front alone (what replay reads) gives the same records.
    auto f = DecodeSegmentFront(SegId(enc), 5, obj.substr(0, SegmentFrontBytes(d->header)), obj.size());
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->records, d->records);
    // The header alone.
    auto h = DecodeSegmentHeader(SegId(enc), 5, obj.substr(0, 128), obj.size());
    ASSERT_TRUE(h.ok()) << h.status().message();
    EXPECT_EQ(h->checksum, d->header.checksum);
  }
  // Two encrypted seals of the same records differ (fresh salt), both decode.
  EXPECT_NE(Segment(true), Segment(true));
}

TEST(SegmentFormatTest, TornTailAtEveryLengthIsTorn) {
  for (bool enc : {false, true}) {
    std::string obj = Segment(enc);
    for (size_t n = 0; n < obj.size(); n++) {
      std::string cut = obj.substr(0, n);
      Status s = DecodeSegment(SegId(enc), 5, cut).status();
      ASSERT_TRUE(IsTornSegment(s)) << "length " << n << ": " << s.message();
      EXPECT_NE(s.message().find("torn"), std::string::npos);
      if (n >= 128) {  // a front read of a short object: the header says more
        ASSERT_TRUE(IsTornSegment(DecodeSegmentFront(SegId(enc), 5, cut, n).status())) << n;
        ASSERT_TRUE(IsTornSegment(DecodeSegmentHeader(SegId(enc), 5, cut, n).status())) << n;
      }
    }
    // Padding is torn as well (the length is not 128 + R + D).
    EXPECT_TRUE(IsTornSegment(DecodeSegment(SegId(enc), 5, obj + "x").status()));
  }
}

TEST(SegmentFormatTest, FlippedByteAnywhereIsNeverAccepted) {
  for (bool enc : {false, true}) {
    const std::string obj = Segment(enc);
    auto good = DecodeSegment(SegId(enc), 5, obj);
    ASSERT_TRUE(good.ok());
    const size_t front = SegmentFrontBytes(good->header);
    for (size_t pos = 0; pos < obj.size(); pos++) {
      for (uint8_t mask : {0x01, 0x80}) {
        std::string bad = obj;
        bad[pos] = static_cast<char>(bad[pos] ^ mask);
        Status whole = DecodeSegment(SegId(enc), 5, bad).status();
        ASSERT_FALSE(whole.ok()) << "byte " << pos << " accepted";
        ASSERT_TRUE(whole.err() == EIO || IsTornSegment(whole)) << whole.message();
        if (pos < front) {
          Status f = DecodeSegmentFront(SegId(enc), 5, bad, bad.size()).status();
          ASSERT_FALSE(f.ok()) << "front: byte " << pos << " accepted";
          ASSERT_TRUE(f.err() == EIO || IsTornSegment(f)) << f.message();
        }
      }
    }
  }
}

TEST(SegmentFormatTest, ErrorsNameVolumeSegmentRecordAndCheck) {
  std::string obj = Segment(false);
  obj[RecordAt(obj, 3) + 20] ^= 1;  // inside record 3's body (BLOCK)
  EXPECT_EQ(DecodeSegment(SegId(), 5, obj).status().message(),
            "volume sample: log segment 5: record 3: checksum mismatch");
  obj = Segment(false);
  obj[130] ^= 1;  // inside record 0's checksum field
  EXPECT_EQ(DecodeSegmentFront(SegId(), 5, obj, obj.size()).status().message(),
            "volume sample: log segment 5: record 0: checksum mismatch");
  obj = Segment(false);
  obj.back() ^= 1;  // data area: only the whole-object check sees it
  EXPECT_TRUE(DecodeSegmentFront(SegId(), 5, obj, obj.size()).ok());
  EXPECT_EQ(DecodeSegment(SegId(), 5, obj).status().message(),
            "volume sample: log segment 5: data area checksum mismatch (COMMIT)");
}

TEST(SegmentFormatTest, RecordSplicedFromAnotherSegmentFails) {
  SegmentHeader fa = SampleFields(5, 2), fb = SampleFields(5, 2);
  fb.prev = 99;  // another segment: another header checksum
  SegmentBuilder a(SegId(), fa), b(SegId(), fb);
  a.Add(ZeroRecord{1, 0, 512});
  b.Add(ZeroRecord{2, 0, 512});
  std::string sa = Seal(a), sb = Seal(b);
  ASSERT_EQ(sa.size(), sb.size());
  std::string spliced = sa;
  spliced.replace(128, 32, sb.substr(128, 32));  // b's ZERO record into a
  EXPECT_EQ(DecodeSegment(SegId(), 5, spliced).status().message(),
            "volume sample: log segment 5: record 0: checksum mismatch");
  // The same record from a segment at another LSN fails as well.
  SegmentBuilder c(SegId(), SampleFields(6, 2));
  c.Add(ZeroRecord{1, 0, 512});
  std::string sc = Seal(c);
  spliced = sa;
  spliced.replace(128, 32, sc.substr(128, 32));
  EXPECT_EQ(DecodeSegment(SegId(), 5, spliced).status().err(), EIO);
  // And a whole segment copied to another position: its LSN is not the key's.
  EXPECT_NE(DecodeSegment(SegId(), 6, sa).status().message().find("holds LSN 5"), std::string::npos);
}

TEST(SegmentFormatTest, WriteDataOffsetsMustChain) {
  std::string obj = Segment(false);
  size_t w2 = RecordAt(obj, 5);  // the second WRITE: data offset at body + 16
  ASSERT_EQ(obj[w2 + 8], 2);
  PutLE<uint64_t>(obj.data() + w2 + 16 + 16, 1023);
  Rechecksum(&obj);
  EXPECT_EQ(DecodeSegment(SegId(), 5, obj).status().message(),
            "volume sample: log segment 5: record 5: data offset 1023, the previous WRITE's data ends at 1024");
  // Extents that do not fill D: one more data byte, D one larger.
  obj = Segment(false);
  obj.push_back('x');
  PutLE<uint64_t>(obj.data() + 64, GetLE<uint64_t>(obj.data() + 64) + 1);
  Rechecksum(&obj);
  EXPECT_NE(DecodeSegment(SegId(), 5, obj).status().message().find("the WRITE extents take 1536 bytes, the data area is 1537"),
            std::string::npos);
}

TEST(SegmentFormatTest, EpochSegmentHoldsOnlyEpoch) {
  EpochRecord e = SampleEpoch();
  SegmentBuilder ok(SegId(), SampleFields(12, 2));
  ok.Add(e);
  EXPECT_TRUE(DecodeSegment(SegId(), 12, Seal(ok)).ok());
  SegmentBuilder b(SegId(), SampleFields(12, 2));
  b.Add(e);
  b.Add(ZeroRecord{1, 0, 512});
  EXPECT_EQ(b.Seal().status().err(), EINVAL);  // the builder refuses it
  EXPECT_EQ(DecodeSegment(SegId(), 12, Unchecked(b)).status().message(),
            "volume sample: log segment 12: record 0: an EPOCH segment holds other records besides EPOCH and COMMIT");
  SegmentBuilder two(SegId(), SampleFields(12, 2));
  two.Add(e);
  two.Add(e);
  EXPECT_EQ(DecodeSegment(SegId(), 12, Unchecked(two)).status().err(), EIO);
  // EPOCH of another epoch than its header's.
  SegmentBuilder other(SegId(), SampleFields(12, 3));
  other.Add(e);
  EXPECT_NE(DecodeSegment(SegId(), 12, Unchecked(other)).status().message().find("EPOCH claims epoch 2"),
            std::string::npos);
}

TEST(SegmentFormatTest, CheckpointOnlyFirstAndOnce) {
  SegmentBuilder b(SegId(), SampleFields(5, 2));
  b.Add(ZeroRecord{1, 0, 512});
  b.Add(CheckpointRecord{"root"});
  EXPECT_EQ(b.Seal().status().err(), EINVAL);
  EXPECT_EQ(DecodeSegment(SegId(), 5, Unchecked(b)).status().message(),
            "volume sample: log segment 5: record 1: CHECKPOINT is not the first record");
  SegmentBuilder twice(SegId(), SampleFields(5, 2));
  twice.Add(CheckpointRecord{"root"});
  twice.Add(CheckpointRecord{"root"});
  EXPECT_EQ(DecodeSegment(SegId(), 5, Unchecked(twice)).status().err(), EIO);
}

TEST(SegmentFormatTest, RangesOfBlocksAndExtents) {
  auto refused = [](auto add, const std::string& what) {
    SegmentBuilder b(SegId(), SampleFields(5, 2));
    add(b);
    EXPECT_EQ(b.Seal().status().err(), EINVAL) << what;
    Status s = DecodeSegment(SegId(), 5, Unchecked(b)).status();
    EXPECT_EQ(s.err(), EIO) << what;
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  };
  refused([](SegmentBuilder& b) { b.AddWrite(kBlocks, 0, "x"); }, "beyond the volume's 8193 blocks");
  refused([](SegmentBuilder& b) { b.AddWrite(1, 4095, "xy"); }, "runs past the block size");
  refused([](SegmentBuilder& b) { b.AddWrite(1, 0, ""); }, "extent of length 0");
  refused([](SegmentBuilder& b) { b.Add(ZeroRecord{1, 4000, 100}); }, "runs past the block size");
  refused([](SegmentBuilder& b) { b.Add(ZeroRecord{1, 0, 0}); }, "extent of length 0");
  refused([](SegmentBuilder& b) { b.Add(BlockRecord{kBlocks, 1, 1, 1}); }, "beyond the volume's");
  refused([](SegmentBuilder& b) { b.Add(EraseRecord{1, 0}); }, "ERASE of 0 blocks");
  refused([](SegmentBuilder& b) { b.Add(EraseRecord{8000, 194}); }, "runs past the volume's");
  refused([](SegmentBuilder& b) { b.Add(EraseRecord{1, ~uint64_t{0}}); }, "runs past the volume's");
  // The edges are fine.
  SegmentBuilder edge(SegId(), SampleFields(5, 2));
  edge.AddWrite(kBlocks - 1, 4095, "x");
  edge.Add(EraseRecord{0, kBlocks});
  EXPECT_TRUE(DecodeSegment(SegId(), 5, Seal(edge)).ok());
}

TEST(SegmentFormatTest, CommitAndCountsAreChecked) {
  // A header that counts one record more: the lengths are consistent, so CORRUPT, not TORN.
  std::string obj = Segment(false);
  PutLE<uint32_t>(obj.data() + 60, 8);
  Rechecksum(&obj);
  Status s = DecodeSegment(SegId(), 5, obj).status();
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("header counts 8 records"), std::string::npos) << s.message();
  // A COMMIT that counts wrong.
  obj = Segment(false);
  PutLE<uint32_t>(obj.data() + RecordAt(obj, 6) + 16, 5);
  Rechecksum(&obj);
  EXPECT_NE(DecodeSegment(SegId(), 5, obj).status().message().find("record 6: COMMIT counts 5 records before it, there are 6"),
            std::string::npos);
  // No COMMIT at all: the last record's type changed to ERASE (a 16-byte body too).
  obj = Segment(false);
  obj[RecordAt(obj, 6) + 8] = 5;
  Rechecksum(&obj);
  s = DecodeSegment(SegId(), 5, obj).status();
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("the last record is not COMMIT"), std::string::npos) << s.message();
  // A record whose length runs past the record area of a complete object: CORRUPT.
  obj = Segment(false);
  PutLE<uint32_t>(obj.data() + RecordAt(obj, 6) + 12, 17);
  Rechecksum(&obj);
  s = DecodeSegment(SegId(), 5, obj).status();
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("record 6: length 17 runs past the record area"), std::string::npos) << s.message();
  // Unknown record types, and type 0 (zeroed bytes never parse).
  for (char t : {0, 8, 0x7f}) {
    obj = Segment(false);
    obj[RecordAt(obj, 4) + 8] = t;
    Rechecksum(&obj);
    EXPECT_NE(DecodeSegment(SegId(), 5, obj).status().message().find("record 4: unknown record type"),
              std::string::npos);
  }
}

TEST(SegmentFormatTest, HeaderChecks) {
  std::string obj = Segment(false);
  auto with = [&](size_t at, uint8_t v) {
    std::string o = obj;
    o[at] = static_cast<char>(v);
    Rechecksum(&o);
    return DecodeSegment(SegId(), 5, o).status().message();
  };
  EXPECT_NE(with(0, 'X').find("bad magic"), std::string::npos);
  EXPECT_NE(with(4, 2).find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(with(5, 1 | 4).find("unknown header flags"), std::string::npos);  // bit 0 (zstd) is reserved
  EXPECT_NE(with(24, 0).find("another volume"), std::string::npos);
  EXPECT_NE(with(112, 1).find("reserved header field"), std::string::npos);
  EXPECT_NE(with(80, 1).find("salt of an unencrypted segment"), std::string::npos);
  // The plain segment under an encrypted volume, and the reverse.
  EXPECT_NE(DecodeSegment(SegId(true), 5, obj).status().message().find("not encrypted but the volume is"),
            std::string::npos);
  EXPECT_NE(DecodeSegment(SegId(false), 5, Segment(true)).status().message().find("encrypted but the volume is not"),
            std::string::npos);
  SegmentIdentity other = SegId();
  other.uuid = Uuid(0x20);
  EXPECT_NE(DecodeSegment(other, 5, obj).status().message().find("another volume"), std::string::npos);
}

TEST(SegmentFormatTest, WrongKeyFails) {
  std::string obj = Segment(true);
  SegmentIdentity other = SegId(true);
  other.key = TestKey(11);
  Status s = DecodeSegmentFront(other, 5, obj, obj.size()).status();
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("record area: authentication failed"), std::string::npos) << s.message();
  // The salt is bound: another salt in the header (checksum recomputed) does not open.
  std::string o = obj;
  o[80] ^= 1;
  PutLE<uint64_t>(o.data() + 120, XXH3_64bits_withSeed(o.data(), 120, 5));
  EXPECT_NE(DecodeSegment(SegId(true), 5, o).status().message().find("authentication failed"), std::string::npos);
}

TEST(SegmentFormatTest, LimitsBeforeAllocating) {
  std::string obj = Segment(false);
  auto header_with = [&](uint32_t r, uint64_t d) {
    std::string h = obj.substr(0, 128);
    PutLE<uint32_t>(h.data() + 56, r);
    PutLE<uint64_t>(h.data() + 64, d);
    PutLE<uint64_t>(h.data() + 120, XXH3_64bits_withSeed(h.data(), 120, 5));
    return DecodeSegmentHeader(SegId(), 5, h, 128 + uint64_t{r} + d).status();
  };
  EXPECT_TRUE(header_with(16 << 20, 256u << 20).ok());
  Status s = header_with((16 << 20) + 1, 0);
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("record area length 16777217 is out of range"), std::string::npos);
  s = header_with(64, (uint64_t{256} << 20) + 1);
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("data area length"), std::string::npos);
  EXPECT_EQ(header_with(31, 0).err(), EIO);  // not even room for COMMIT
  EXPECT_EQ(header_with(0xffffffffu, ~uint64_t{0} - 200).err(), EIO);
  // The builder refuses a record area over 16 MiB.
  SegmentBuilder big(SegId(), SampleFields(5, 2));
  big.Add(CheckpointRecord{std::string(16 << 20, 'r')});
  s = big.Seal().status();
  EXPECT_EQ(s.err(), EINVAL);
  EXPECT_NE(s.message().find("over the limits"), std::string::npos);
}

TEST(SegmentFormatTest, RangedExtentIsAuthenticated) {
  for (bool enc : {false, true}) {
    std::string obj = Segment(enc);
    auto f = DecodeSegmentFront(SegId(enc), 5, obj, obj.size());
    ASSERT_TRUE(f.ok());
    const SegmentHeader& h = f->header;
    const auto& w0 = std::get<WriteRecord>(f->records[1]);
    const auto& w1 = std::get<WriteRecord>(f->records[5]);
    auto range = [&](const WriteRecord& w) { return obj.substr(ExtentObjectOffset(h, w), StoredExtentLength(h, w)); };
    std::string out(w1.length, '?');
    ASSERT_TRUE(OpenWriteExtent(SegId(enc), h, 5, 1, w1, range(w1), out.data()).ok());
    EXPECT_EQ(out, Pattern(512, 2));
    // A tampered extent, a short one, and (encrypted) an extent opened as another WRITE.
    std::string bad = range(w1);
    bad[100] ^= 4;
    Status s = OpenWriteExtent(SegId(enc), h, 5, 1, w1, bad, out.data());
    EXPECT_EQ(s.err(), EIO);
    EXPECT_EQ(out, std::string(512, '\0'));  // never unverified bytes
    EXPECT_NE(s.message().find("volume sample: log segment 5: record 5: extent"), std::string::npos);
    EXPECT_EQ(OpenWriteExtent(SegId(enc), h, 5, 1, w1, range(w1).substr(1), out.data()).err(), EIO);
    if (enc) {
      EXPECT_EQ(OpenWriteExtent(SegId(enc), h, 5, 0, w1, range(w1), out.data()).err(), EIO);
    }
    // Another WRITE's record with this extent's bytes.
    WriteRecord moved = w0;
    moved.length = w1.length;
    EXPECT_EQ(OpenWriteExtent(SegId(enc), h, 1, 0, moved, range(w1), out.data()).err(), EIO);
  }
}

}  // namespace
}  // namespace s3nbd
