// Tests of cache format 4 (docs/cache-format.md "Version 4"): every header, record and map
// unit field round-trips; torn or garbage headers, records and units are refused; checked-in
// samples keep decoding; versions 1-3 still decode and a version-3 reader refuses version 4;
// the recovery check of a slot's map for every subset of a write that power loss may keep;
// the geometry of upgrades.
#include "cache/local/cache_format_v4.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr uint32_t kMiB = 1 << 20;

std::array<uint8_t, 16> TestUuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; i++) u[i] = static_cast<uint8_t>(i + 1);
  return u;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::vector<uint8_t> Unhex(const std::string& s, size_t size = 0) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    v.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  if (v.size() < size) v.resize(size, 0);
  return v;
}

CacheHeaderV4 SampleHeader() {
  CacheHeaderV4 h = MakeCacheHeaderV4(TestUuid(), kMiB, uint64_t{1} << 30, 64 * kMiB);
  h.base.flushed_seq = 9;
  h.base.uploaded_below = 7;
  for (uint8_t i = 0; i < 16; i++) {
    h.base.writer_token[i] = static_cast<uint8_t>(0xa0 + i);
    h.base.prev_writer_token[i] = static_cast<uint8_t>(0xb0 + i);
  }
  return h;
}

// Checked-in samples: if these stop decoding, the on-disk format changed (bump the version).
// Version 4, 1 MiB blocks, 64 MiB: 63 slots, map at 66330624, stride 16384.
constexpr char kSampleHeaderV4[] =
    "53334e424443463104000000001000000102030405060708090a0b0c0d0e0f1000001000000010003f000000000000"
    "00"
    "3f10000000000000001000000000000000200400000000000900000000000000000000400000000007000000000000"
    "00"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf0020f4030000000000400000000240"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000e6e20a76c7bb72e6";
// The version-3 sample of cache_format_test.cc (4 KiB blocks, 1 GiB).
constexpr char kSampleHeaderV3[] =
    "53334e424443463103000000001000000102030405060708090a0b0c0d0e0f1000100000001000003ef00300000000"
    "00"
    "4dec040000000000001000000000000000303b01000000000900000000000000000000400000000007000000000000"
    "00"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "00000000000000001715f1eb15c073cc";
// A DIRTY|MAPPED record: block 5, seq 6, epoch 7.
constexpr char kSampleMappedRecord[] =
    "534e4352020200000500000000000000060000000000000007000000000000000000000000000000000000000000"
    "000000000000000000001be4e17a6c92eff8";
// Unit 1 of slot 3, seq 6: sectors 8..15 valid (sums 0x11111111 * 1..8), 8..11 dirty.
constexpr char kSampleUnitHead[] =
    "534e5355010040000300000000000000060000000000000000ff000000000000000f000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "1111111122222222333333334444444455555555666666667777777788888888";
constexpr char kSampleUnitSum[] = "0ff0dce9009ab125";  // bytes 504..511

MapUnit SampleUnit() {
  MapUnit m;
  m.index = 1;
  m.count = 64;
  m.slot = 3;
  m.seq = 6;
  m.valid = 0xff00;
  m.dirty = 0x0f00;
  for (uint32_t k = 8; k < 16; k++) m.sums[k] = 0x11111111u * (k - 7);
  return m;
}

TEST(CacheFormatV4, HeaderRoundTripsEveryField) {
  CacheHeaderV4 h = SampleHeader();
  ASSERT_TRUE(h.has_map());
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(h, buf);
  CacheHeaderV4 d;
  auto st = DecodeHeaderV4(buf, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(*st, HeaderState::kValid);
  EXPECT_EQ(d.version, 4u);
  EXPECT_EQ(d.base.volume_uuid, TestUuid());
  EXPECT_EQ(d.base.block_size, kMiB);
  EXPECT_EQ(d.base.slot_stride, kMiB);
  EXPECT_EQ(d.base.slot_count, h.base.slot_count);
  EXPECT_EQ(d.base.record_count, h.base.record_count);
  EXPECT_EQ(d.base.index_offset, kCacheHeaderSize);
  EXPECT_EQ(d.base.data_offset, h.base.data_offset);
  EXPECT_EQ(d.base.flushed_seq, 9u);
  EXPECT_EQ(d.base.volume_size, uint64_t{1} << 30);
  EXPECT_EQ(d.base.uploaded_below, 7u);
  EXPECT_EQ(d.base.writer_token, h.base.writer_token);
  EXPECT_EQ(d.base.prev_writer_token, h.base.prev_writer_token);
  EXPECT_EQ(d.map_offset, h.map_offset);
  EXPECT_EQ(d.map_stride, 16384u);  // 32 units of 512 bytes
  EXPECT_EQ(d.map_offset % kCacheAlign, 0u);
  EXPECT_GE(d.map_offset, d.base.data_offset + d.base.slot_count * d.base.slot_stride);
  EXPECT_EQ(CacheFileSizeV4(d), d.map_offset + d.base.slot_count * 16384);
  EXPECT_LE(CacheFileSizeV4(d),
            64 * kMiB + 2 * kCacheAlign + d.base.record_count * kCacheRecordSize);
  EXPECT_EQ(MapUnitOffset(d, 2, 3), d.map_offset + 2 * 16384 + 3 * 512);
}

TEST(CacheFormatV4, CheckedInHeaderSample) {
  CacheHeaderV4 h = SampleHeader();
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(h, buf);
  EXPECT_EQ(Hex(buf.data(), 256), kSampleHeaderV4);
  std::vector<uint8_t> sample = Unhex(kSampleHeaderV4, kCacheHeaderSize);
  CacheHeaderV4 d;
  auto st = DecodeHeaderV4(sample, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(d.base.slot_count, 63u);
  EXPECT_EQ(d.map_offset, 66330624u);
  EXPECT_EQ(d.map_stride, 16384u);
  EXPECT_EQ(d.base.writer_token[0], 0xa0);
}

TEST(CacheFormatV4, EveryHeaderByteIsCovered) {
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(SampleHeader(), buf);
  CacheHeaderV4 d;
  for (size_t at = 0; at < 256; at++) {
    auto copy = buf;
    copy[at] ^= 0x10;
    EXPECT_FALSE(DecodeHeaderV4(copy, &d).ok()) << "flipped byte " << at;
  }
  std::array<uint8_t, kCacheHeaderSize> zero{};
  auto st = DecodeHeaderV4(zero, &d);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, HeaderState::kEmpty);
}

// Sealed headers (right checksum) with wrong version-4 geometry.
TEST(CacheFormatV4, InconsistentMapGeometryIsRefused) {
  CacheHeaderV4 d;
  auto refused = [&](CacheHeaderV4 h, const char* why) {
    std::array<uint8_t, kCacheHeaderSize> buf{};
    EncodeHeaderV4(h, buf);
    auto st = DecodeHeaderV4(buf, &d);
    ASSERT_FALSE(st.ok()) << why;
    EXPECT_NE(st.status().message().find(why), std::string::npos) << st.status().message();
  };
  CacheHeaderV4 h = SampleHeader();
  h.map_stride = 8192;
  refused(h, "map stride");
  h = SampleHeader();
  h.map_offset -= kCacheAlign;  // over the last slot
  refused(h, "overlaps");
  h = SampleHeader();
  h.map_offset += 512;
  refused(h, "not aligned");
  h = SampleHeader();
  h.map_offset = 0;  // a stride without a map
  refused(h, "without a map");
  h = MakeCacheHeaderV4(TestUuid(), 4096, uint64_t{1} << 30, 64 * kMiB);
  h.map_offset = CacheFileSize(h.base);
  h.map_stride = 512;
  refused(h, "allow none");
  // A sector size other than 512, sealed by hand.
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(SampleHeader(), buf);
  buf[141] = 0x10;  // 4096
  SealHeader(buf.data());
  EXPECT_NE(DecodeHeaderV4(buf, &d).status().message().find("sector size"), std::string::npos);
}

TEST(CacheFormatV4, SmallBlocksGetNoMap) {
  CacheHeaderV4 h = MakeCacheHeaderV4(TestUuid(), 4096, uint64_t{1} << 30, 64 * kMiB);
  EXPECT_FALSE(h.has_map());
  EXPECT_EQ(h.map_stride, 0u);
  EXPECT_EQ(h.base.slot_count, MakeCacheHeader(TestUuid(), 4096, 1 << 30, 64 * kMiB).slot_count);
  EXPECT_EQ(CacheFileSizeV4(h), CacheFileSize(h.base));
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(h, buf);
  CacheHeaderV4 d;
  ASSERT_TRUE(DecodeHeaderV4(buf, &d).ok());
  EXPECT_EQ(d.version, 4u);
  EXPECT_FALSE(d.has_map());
  EXPECT_FALSE(BlockSizeHasMap(16384));
  EXPECT_FALSE(BlockSizeHasMap(32768 + 100));
  EXPECT_TRUE(BlockSizeHasMap(32768));
  EXPECT_EQ(UnitsPerSlot(96 * 1024), 3u);
  EXPECT_EQ(UnitSectorCount(33 * 1024, 1), 2u);  // a short last unit
}

TEST(CacheFormatV4, OlderVersionsStillDecodeAndAVersion3ReaderRefusesVersion4) {
  std::vector<uint8_t> v3 = Unhex(kSampleHeaderV3, kCacheHeaderSize);
  CacheHeaderV4 d;
  auto st = DecodeHeaderV4(v3, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(d.version, 3u);
  EXPECT_FALSE(d.has_map());
  EXPECT_EQ(d.base.block_size, 4096u);
  EXPECT_EQ(d.base.flushed_seq, 9u);
  EXPECT_EQ(d.base.uploaded_below, 7u);
  v3[100] ^= 1;
  EXPECT_FALSE(DecodeHeaderV4(v3, &d).ok());

  std::vector<uint8_t> v4 = Unhex(kSampleHeaderV4, kCacheHeaderSize);
  CacheHeader old;
  auto refused = DecodeHeader(v4, &old);  // the version-3 reader
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unsupported cache format version 4"),
            std::string::npos);
  EXPECT_NE(refused.status().message().find("newer s3nbd"), std::string::npos);
  v4[8] = 5;  // a version after 4
  SealHeader(v4.data());
  EXPECT_NE(DecodeHeaderV4(v4, &d).status().message().find("version 5"), std::string::npos);
}

TEST(CacheFormatV4, MappedRecords) {
  std::array<uint8_t, kCacheRecordSize> buf{};
  EncodeRecord(CacheRecord{RecordKind::kDirty, 5, 6, 7, 0, kRecordMapped}, buf);
  EXPECT_EQ(Hex(buf.data(), 64), kSampleMappedRecord);
  CacheRecord r;
  ASSERT_TRUE(DecodeRecordV4(Unhex(kSampleMappedRecord), true, &r).ok());
  EXPECT_EQ(r.kind, RecordKind::kDirty);
  EXPECT_EQ(r.flags, kRecordMapped);
  EXPECT_EQ(r.block, 5u);
  EXPECT_EQ(r.seq, 6u);
  EXPECT_EQ(r.epoch, 7u);
  EXPECT_NE(DecodeRecordV4(buf, false, &r).message().find("flags"), std::string::npos);
  EXPECT_NE(DecodeRecord(buf, &r).message().find("flags"), std::string::npos);  // v3 reader
  for (size_t at = 0; at < kCacheRecordSize; at += 5) {
    auto copy = buf;
    copy[at] ^= 4;
    EXPECT_FALSE(DecodeRecordV4(copy, true, &r).ok()) << "flipped byte " << at;
  }
  auto refused = [&](CacheRecord rec, const char* why) {
    EncodeRecord(rec, buf);
    Status s = DecodeRecordV4(buf, true, &r);
    EXPECT_NE(s.message().find(why), std::string::npos) << why << ": " << s.message();
  };
  refused(CacheRecord{RecordKind::kClean, 5, 6, 7, 0, kRecordMapped}, "flags");
  refused(CacheRecord{RecordKind::kErase, 5, 6, 7, 0, kRecordMapped}, "flags");
  refused(CacheRecord{RecordKind::kDirty, 5, 6, 7, 0, kRecordMapped | kRecordOpen},
          "OPEN and MAPPED");
  refused(CacheRecord{RecordKind::kDirty, 5, 6, 7, 99, kRecordMapped}, "hash");
  refused(CacheRecord{RecordKind::kDirty, 5, 6, 7, 0, 4}, "flags");
  EncodeRecord(CacheRecord{RecordKind::kDirty, 5, 6, 7, 0, kRecordOpen}, buf);  // upgraded v3
  EXPECT_TRUE(DecodeRecordV4(buf, true, &r).ok());
  EXPECT_EQ(r.flags, kRecordOpen);
  EncodeRecord(CacheRecord{RecordKind::kClean, 5, 6, 7, 1234}, buf);
  ASSERT_TRUE(DecodeRecordV4(buf, true, &r).ok());
  EXPECT_EQ(r.hash, 1234u);
}

TEST(CacheFormatV4, MapUnitRoundTripAndSample) {
  std::array<uint8_t, kMapUnitSize> buf{};
  EncodeMapUnit(SampleUnit(), buf);
  std::string hex = Hex(buf.data(), kMapUnitSize);
  EXPECT_EQ(hex.substr(0, std::string(kSampleUnitHead).size()), kSampleUnitHead);
  EXPECT_EQ(hex.substr(1008), kSampleUnitSum);
  EXPECT_TRUE(IsAllZero(buf.data() + 104, 400));  // sums of sectors 16..63, reserved
  MapUnit d;
  auto st = DecodeMapUnit(buf, 3, 1, 64, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(*st, UnitState::kValid);
  EXPECT_EQ(d.index, 1);
  EXPECT_EQ(d.count, 64);
  EXPECT_EQ(d.slot, 3u);
  EXPECT_EQ(d.seq, 6u);
  EXPECT_EQ(d.valid, 0xff00u);
  EXPECT_EQ(d.dirty, 0x0f00u);
  EXPECT_EQ(d.sums, SampleUnit().sums);
  std::array<uint8_t, kMapUnitSize> zero{};
  st = DecodeMapUnit(zero, 3, 1, 64, &d);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, UnitState::kEmpty);
}

TEST(CacheFormatV4, TornOrGarbageUnitsAreRefused) {
  std::array<uint8_t, kMapUnitSize> buf{};
  EncodeMapUnit(SampleUnit(), buf);
  MapUnit d;
  for (size_t at = 0; at < kMapUnitSize; at++) {  // the checksum covers every byte
    auto copy = buf;
    copy[at] ^= 0x80;
    EXPECT_FALSE(DecodeMapUnit(copy, 3, 1, 64, &d).ok()) << "flipped byte " << at;
  }
  // A torn write: the first half of a new unit over the second half of an old one.
  MapUnit other = SampleUnit();
  other.seq = 99;
  other.valid = other.dirty = 0xffff;
  other.sums.fill(7);
  other.sums[0] = 0;
  std::array<uint8_t, kMapUnitSize> newer{};
  EncodeMapUnit(other, newer);
  std::copy(newer.begin(), newer.begin() + 256, buf.begin());
  EXPECT_NE(DecodeMapUnit(buf, 3, 1, 64, &d).status().message().find("checksum"),
            std::string::npos);
  std::fill(buf.begin(), buf.end(), 0x5a);
  EXPECT_NE(DecodeMapUnit(buf, 3, 1, 64, &d).status().message().find("magic"), std::string::npos);

  auto refused = [&](MapUnit u, uint64_t slot, uint32_t index, uint16_t count, const char* why) {
    EncodeMapUnit(u, buf);
    auto st = DecodeMapUnit(buf, slot, index, count, &d);
    ASSERT_FALSE(st.ok()) << why;
    EXPECT_NE(st.status().message().find(why), std::string::npos) << st.status().message();
  };
  refused(SampleUnit(), 4, 1, 64, "in the place of slot 4");  // a misdirected write
  refused(SampleUnit(), 3, 2, 64, "unit 2");
  refused(SampleUnit(), 3, 1, 10, "in the place");  // count differs
  MapUnit u = SampleUnit();
  u.count = 10;
  refused(u, 3, 1, 10, "past its sectors");  // valid bits 10..15 past a 10-sector unit
  u = SampleUnit();
  u.dirty = 0x10000;
  refused(u, 3, 1, 64, "not valid");
  u = SampleUnit();
  u.sums[0] = 1;
  refused(u, 3, 1, 64, "checksum on a sector");
}

TEST(CacheFormatV4, SectorSumsArePinnedAndBoundToTheirPlace) {
  std::string a(512, '\xab'), z(512, '\0');
  EXPECT_EQ(SectorSum(5, 3, 2048, a.data()), 0x52cafe55u);
  EXPECT_EQ(SectorSum(0, 0, 2048, z.data()), 0xee7703d1u);
  EXPECT_NE(SectorSum(5, 4, 2048, a.data()), SectorSum(5, 3, 2048, a.data()));
  EXPECT_NE(SectorSum(6, 3, 2048, a.data()), SectorSum(5, 3, 2048, a.data()));
  a[511] = 0;
  EXPECT_NE(SectorSum(5, 3, 2048, a.data()), 0x52cafe55u);
}

TEST(CacheFormatV4, SlotMapApplyAndUnits) {
  SlotMap m(kMiB);
  std::string data(4096, 'x');
  EXPECT_EQ(m.Apply(7, 40960, data, true),
            (std::pair<uint32_t, uint32_t>{1, 1}));  // sectors 80..87
  EXPECT_EQ(m.valid.Count(), 8u);
  EXPECT_EQ(m.dirty.Count(), 8u);
  MapUnit u = m.Unit(3, 11, 1);
  EXPECT_EQ(u.valid, 0xffu << 16);
  EXPECT_EQ(u.dirty, 0xffu << 16);
  EXPECT_EQ(u.sums[16], SectorSum(7, 80, 2048, data.data()));
  EXPECT_EQ(u.sums[15], 0u);
  EXPECT_EQ(u.count, 64);
  EXPECT_EQ(u.seq, 11u);
  // A fill (not dirty) across the first two units.
  EXPECT_EQ(m.Apply(7, 32768 - 1024, std::string(2048, 'f'), false),
            (std::pair<uint32_t, uint32_t>{0, 1}));
  EXPECT_EQ(m.valid.Count(), 12u);
  EXPECT_EQ(m.dirty.Count(), 8u);
  EXPECT_EQ(m.Unit(3, 11, 0).valid, uint64_t{3} << 62);
  EXPECT_EQ(m.Unit(3, 11, 0).dirty, 0u);
  // Units encode and decode (their invariants hold).
  std::array<uint8_t, kMapUnitSize> buf{};
  EncodeMapUnit(m.Unit(3, 11, 1), buf);
  MapUnit d;
  EXPECT_TRUE(DecodeMapUnit(buf, 3, 1, 64, &d).ok());
  // Not whole sectors: nothing applied.
  auto none = m.Apply(7, 100, data, true);
  EXPECT_GT(none.first, none.second);
  EXPECT_EQ(m.valid.Count(), 12u);
}

// A slot of 1 MiB whose previous owner left `foreign` bytes, its map area, and the writes of
// one version into it, with the power-loss subsets of docs/design-log.md applied by hand.
class SlotFixture {
 public:
  SlotFixture() : h_(SampleHeader()), data_(kMiB, 'F'), map_(h_.map_stride, 0), m_(kMiB) {}
  // A write of `len` bytes of `c` at `offset`: which of its unit (U) and data (D) writes persist.
  void Write(uint64_t offset, size_t len, char c, bool unit, bool data, bool dirty = true) {
    std::string bytes(len, c);
    auto [first, last] = m_.Apply(kBlock, offset, bytes, dirty);
    if (data) data_.replace(offset, len, bytes);
    if (unit)
      for (uint32_t u = first; u <= last; u++)
        EncodeMapUnit(m_.Unit(kSlot, seq_, u), std::span<uint8_t, kMapUnitSize>(
                                                   map_.data() + u * kMapUnitSize, kMapUnitSize));
  }
  Result<RecoveredSlot> Recover(uint64_t flushed_seq) {
    return VerifySlotMap(h_, kSlot,
                         CacheRecord{RecordKind::kDirty, kBlock, seq_, 1, 0, kRecordMapped}, map_,
                         data_, flushed_seq);
  }
  std::vector<uint8_t>& map() { return map_; }
  void set_seq(uint64_t s) { seq_ = s; }

  static constexpr uint64_t kBlock = 77, kSlot = 5;

 private:
  CacheHeaderV4 h_;
  std::string data_;
  std::vector<uint8_t> map_;
  SlotMap m_;
  uint64_t seq_ = 20;
};

TEST(CacheFormatV4, RecoveryOfEveryPersistedSubsetOfAWrite) {
  for (int subset = 0; subset < 4; subset++) {
    const bool unit = subset & 1, data = subset & 2;
    SlotFixture f;
    f.Write(8192, 4096, 'a', unit, data);
    auto r = f.Recover(/*flushed_seq=*/10);  // seq 20 is unflushed
    ASSERT_TRUE(r.ok()) << subset << ": " << r.status().message();
    if (unit && data) {
      EXPECT_TRUE(r->keep());
      EXPECT_EQ(r->map.dirty.Count(), 8u);
      EXPECT_TRUE(r->map.valid.AllSet(16, 8));
    } else {
      EXPECT_FALSE(r->keep()) << "subset " << subset;  // write lost, version dropped
      EXPECT_EQ(r->map.valid.Count(), 0u);
      EXPECT_EQ(r->lost_dirty, unit ? 8u : 0u);  // units over foreign bytes never verify
    }
  }
}

TEST(CacheFormatV4, RecoveryDropsTornSectorsAndRewritesWithoutTheirUnit) {
  SlotFixture f;
  f.Write(0, 8192, 'a', true, true);
  f.Write(4096, 4096, 'b', false, true);  // rewrites sectors 8..15: data kept, unit lost
  auto r = f.Recover(10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->keep());
  EXPECT_EQ(r->lost_dirty, 8u);
  EXPECT_TRUE(r->map.dirty.AllSet(0, 8));
  EXPECT_FALSE(r->map.valid.AnySet(8, 8));
}

TEST(CacheFormatV4, FlushedDirtyDataFailingItsSumIsCorruption) {
  SlotFixture f;
  f.Write(0, 4096, 'a', true, false);  // as if the data rotted after a flush
  auto r = f.Recover(/*flushed_seq=*/20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EIO);
  EXPECT_NE(
      r.status().message().find("block 77 slot 5 sector 0: flushed dirty data fails its checksum"),
      std::string::npos)
      << r.status().message();
}

TEST(CacheFormatV4, RecoveryDropsCopiesThatFailAndKeepsGoodOnes) {
  SlotFixture f;
  f.Write(0, 4096, 'a', true, true);
  f.Write(65536, 4096, 'c', true, false, /*dirty=*/false);  // a fill whose data was lost
  f.Write(131072, 1024, 'c', true, true, false);            // a fill that made it
  auto r = f.Recover(/*flushed_seq=*/100);                  // flushed or not: only copies
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->dropped_copies, 8u);
  EXPECT_EQ(r->lost_dirty, 0u);
  EXPECT_EQ(r->map.valid.Count(), 10u);
  EXPECT_EQ(r->map.dirty.Count(), 8u);
}

TEST(CacheFormatV4, StaleUnitsDescribeNothing) {
  SlotFixture f;
  f.set_seq(3);  // an earlier owner of the slot wrote its units
  f.Write(0, 4096, 'a', true, true);
  f.set_seq(20);
  auto r = f.Recover(10);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->keep());
  EXPECT_EQ(r->map.valid.Count(), 0u);
  EXPECT_EQ(r->lost_dirty, 0u);
}

TEST(CacheFormatV4, AGarbageUnitMakesTheSlotUntrusted) {
  SlotFixture f;
  f.Write(0, 4096, 'a', true, true);
  f.map()[3 * kMapUnitSize + 17] = 0x33;  // unit 3: neither zero nor a unit
  auto r = f.Recover(10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EINVAL);
  EXPECT_NE(r.status().message().find("map unit 3"), std::string::npos) << r.status().message();
  CacheHeaderV4 h = SampleHeader();
  std::string data(kMiB, 0);
  std::vector<uint8_t> map(h.map_stride, 0);
  EXPECT_FALSE(VerifySlotMap(h, 1, CacheRecord{RecordKind::kDirty, 1, 2, 3, 0}, map, data, 0).ok());
}

TEST(CacheFormatV4, UpgradeOfARegularFileKeepsEverySlot) {
  CacheHeader v3 = MakeCacheHeader(TestUuid(), kMiB, uint64_t{1} << 30, 256 * kMiB);
  UpgradePlan p = PlanUpgrade(v3, 0);
  ASSERT_TRUE(p.possible) << p.why;
  EXPECT_EQ(p.header.base.slot_count, v3.slot_count);
  EXPECT_EQ(p.first_taken, v3.slot_count);
  EXPECT_EQ(p.header.map_offset, CacheFileSize(v3));  // right after the last slot
  EXPECT_EQ(p.zero_from, p.header.map_offset);
  EXPECT_EQ(p.zero_len, v3.slot_count * 16384);
  EXPECT_EQ(p.file_size, CacheFileSize(v3) + v3.slot_count * 16384);
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(p.header, buf);
  CacheHeaderV4 d;
  ASSERT_TRUE(DecodeHeaderV4(buf, &d).ok());
  EXPECT_EQ(d.base.data_offset, v3.data_offset);  // no slot moves
}

TEST(CacheFormatV4, UpgradeOfABlockDeviceTakesTheFewestSlots) {
  CacheHeader v3 = MakeCacheHeader(TestUuid(), kMiB, uint64_t{1} << 30, 256 * kMiB);
  const uint64_t dev = CacheFileSize(v3);
  UpgradePlan p = PlanUpgrade(v3, dev);
  ASSERT_TRUE(p.possible) << p.why;
  const uint64_t n = p.header.base.slot_count, per = v3.slot_stride + 16384;
  EXPECT_LT(n, v3.slot_count);
  EXPECT_LE(p.file_size, dev);
  EXPECT_GT(v3.data_offset + (n + 1) * per, dev);  // one more slot would not fit
  EXPECT_EQ(p.first_taken, n);
  EXPECT_EQ(p.header.base.record_count, v3.record_count);  // taken slots become tombstones
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeaderV4(p.header, buf);
  CacheHeaderV4 d;
  ASSERT_TRUE(DecodeHeaderV4(buf, &d).ok());
  // A device with room to spare loses no slot; a tiny one, and small blocks, are not upgraded.
  EXPECT_EQ(PlanUpgrade(v3, dev + v3.slot_count * 16384).header.base.slot_count, v3.slot_count);
  EXPECT_FALSE(PlanUpgrade(v3, v3.data_offset + 3 * per).possible);
  UpgradePlan small = PlanUpgrade(MakeCacheHeader(TestUuid(), 4096, 1 << 30, 64 * kMiB), 0);
  EXPECT_FALSE(small.possible);
  EXPECT_NE(small.why.find("no sector map"), std::string::npos);
}

}  // namespace
}  // namespace s3nbd
