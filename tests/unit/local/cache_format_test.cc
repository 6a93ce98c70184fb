// Tests of the cache file format (docs/cache-format.md): round trips, checksum rejection,
// and a checked-in sample header and record that must keep decoding.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "cache/local/cache_format.h"

namespace s3nbd {
namespace {

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

std::vector<uint8_t> Unhex(const std::string& s) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    v.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return v;
}

TEST(LocalCacheFormat, HeaderRoundTrip) {
  CacheHeader h = MakeCacheHeader(TestUuid(), 4096, 1 << 30, 1 << 20);
  h.flushed_seq = 77;
  std::array<uint8_t, kCacheHeaderSize> buf{};
  EncodeHeader(h, buf);
  CacheHeader d;
  auto st = DecodeHeader(buf, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(*st, HeaderState::kValid);
  EXPECT_EQ(d.volume_uuid, h.volume_uuid);
  EXPECT_EQ(d.block_size, 4096u);
  EXPECT_EQ(d.slot_count, h.slot_count);
  EXPECT_EQ(d.record_count, h.record_count);
  EXPECT_EQ(d.data_offset, h.data_offset);
  EXPECT_EQ(d.flushed_seq, 77u);
  EXPECT_EQ(d.data_offset % kCacheAlign, 0u);
  EXPECT_LE(CacheFileSize(d), (1u << 20) + 2 * kCacheAlign + d.record_count * kCacheRecordSize);
}

TEST(LocalCacheFormat, HeaderEmptyAndCorrupt) {
  std::array<uint8_t, kCacheHeaderSize> buf{};
  CacheHeader d;
  auto st = DecodeHeader(buf, &d);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, HeaderState::kEmpty);
  EncodeHeader(MakeCacheHeader(TestUuid(), 4096, 1 << 30, 1 << 20), buf);
  for (size_t at : {0, 8, 20, 40, 72, 121}) {
    auto copy = buf;
    copy[at] ^= 0x40;
    EXPECT_FALSE(DecodeHeader(copy, &d).ok()) << "flipped byte " << at;
  }
  auto copy = buf;
  copy[0] = 'X';
  EXPECT_NE(DecodeHeader(copy, &d).status().message().find("magic"), std::string::npos);
}

TEST(LocalCacheFormat, RecordRoundTripAndChecksum) {
  CacheRecord r{RecordKind::kDirty, 123456789, 42, 3, 0xdeadbeefcafe};
  std::array<uint8_t, kCacheRecordSize> buf{};
  EncodeRecord(r, buf);
  CacheRecord d;
  ASSERT_TRUE(DecodeRecord(buf, &d).ok());
  EXPECT_EQ(d.kind, RecordKind::kDirty);
  EXPECT_EQ(d.block, 123456789u);
  EXPECT_EQ(d.seq, 42u);
  EXPECT_EQ(d.epoch, 3u);
  EXPECT_EQ(d.hash, 0xdeadbeefcafeu);
  for (size_t at = 0; at < kCacheRecordSize; at += 7) {
    auto copy = buf;
    copy[at] ^= 1;
    EXPECT_FALSE(DecodeRecord(copy, &d).ok()) << "flipped byte " << at;
  }
  std::array<uint8_t, kCacheRecordSize> zero{};
  ASSERT_TRUE(DecodeRecord(zero, &d).ok());
  EXPECT_EQ(d.kind, RecordKind::kFree);
}

TEST(LocalCacheFormat, OpenFlagOnlyOnDirtyRecords) {
  CacheRecord r{RecordKind::kDirty, 9, 10, 11, 0, kRecordOpen};
  std::array<uint8_t, kCacheRecordSize> buf{};
  EncodeRecord(r, buf);
  CacheRecord d;
  ASSERT_TRUE(DecodeRecord(buf, &d).ok());
  EXPECT_EQ(d.flags, kRecordOpen);
  r.kind = RecordKind::kClean;  // a CLEAN record is always hashed
  EncodeRecord(r, buf);
  EXPECT_NE(DecodeRecord(buf, &d).message().find("flags"), std::string::npos);
  r.kind = RecordKind::kDirty;
  r.flags = 2;  // unknown flag bits
  EncodeRecord(r, buf);
  EXPECT_NE(DecodeRecord(buf, &d).message().find("flags"), std::string::npos);
}

// Checked-in samples: if these stop decoding, the on-disk format changed (bump the version).
// Version 1 files (no record flags) are still read.
constexpr char kSampleHeaderV1[] =
    "53334e424443463101000000001000000102030405060708090a0b0c0d0e0f100010000000100000fb000000000000"
    "00"
    "fb10000000000000001000000000000000500400000000000900000000000000000000400000000000000000000000"
    "00"
    "000000000000000000000000000000000000000000000000ccbdc278cf0313cf";
constexpr char kSampleHeader[] =
    "53334e424443463102000000001000000102030405060708090a0b0c0d0e0f100010000000100000fb000000000000"
    "00"
    "fb10000000000000001000000000000000500400000000000900000000000000000000400000000000000000000000"
    "00"
    "000000000000000000000000000000000000000000000000f4d04b84e4c19587";
// Version 3: uploaded_below 7, writer tokens a0..af and b0..bf (checksum at 248).
constexpr char kSampleHeaderV3[] =
    "53334e424443463103000000001000000102030405060708090a0b0c0d0e0f1000100000001000003ef0030000000000"
    "4dec040000000000001000000000000000303b0100000000090000000000000000000040000000000700000000000000"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf00000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000001715f1eb15c073cc";
constexpr char kSampleRecord[] =
    "534e435203000000050000000000000006000000000000000700000000000000"
    "0000000000000000000000000000000000000000000000000e7e269257dff02b";

// A checked-in header sample as the 4096 bytes of a header.
std::vector<uint8_t> HeaderOf(const char* sample) {
  std::vector<uint8_t> h = Unhex(sample);
  h.resize(kCacheHeaderSize, 0);
  return h;
}

TEST(LocalCacheFormat, DecodesCheckedInV3Header) {
  std::vector<uint8_t> h = HeaderOf(kSampleHeaderV3);
  CacheHeader d;
  auto st = DecodeHeader(h, &d);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(d.volume_uuid, TestUuid());
  EXPECT_EQ(d.flushed_seq, 9u);
  EXPECT_EQ(d.uploaded_below, 7u);
  EXPECT_EQ(d.writer_token[0], 0xa0);
  EXPECT_EQ(d.prev_writer_token[15], 0xbf);
  h[100] ^= 1;  // a token byte is covered by the v3 checksum
  EXPECT_FALSE(DecodeHeader(h, &d).ok());
}

TEST(LocalCacheFormat, OlderHeadersHaveNoWatermarkOrTokens) {
  std::vector<uint8_t> h = HeaderOf(kSampleHeader);
  CacheHeader d;
  d.uploaded_below = 5;
  ASSERT_TRUE(DecodeHeader(h, &d).ok());
  EXPECT_EQ(d.uploaded_below, 0u);
  EXPECT_EQ(d.writer_token, (std::array<uint8_t, 16>{}));
}

TEST(LocalCacheFormat, DecodesCheckedInSamples) {
  for (const char* sample : {kSampleHeaderV1, kSampleHeader}) {
    std::vector<uint8_t> h = HeaderOf(sample);
    CacheHeader d;
    auto st = DecodeHeader(h, &d);
    ASSERT_TRUE(st.ok()) << st.status().message();
    EXPECT_EQ(d.volume_uuid, TestUuid());
    EXPECT_EQ(d.block_size, 4096u);
    EXPECT_EQ(d.flushed_seq, 9u);
    EXPECT_EQ(d.volume_size, 1u << 30);
  }
  CacheRecord r;
  ASSERT_TRUE(DecodeRecord(Unhex(kSampleRecord), &r).ok());
  EXPECT_EQ(r.kind, RecordKind::kErase);
  EXPECT_EQ(r.block, 5u);
  EXPECT_EQ(r.seq, 6u);
  EXPECT_EQ(r.epoch, 7u);
}

TEST(LocalCacheFormat, EncodesCheckedInSamples) {
  CacheHeader h = MakeCacheHeader(TestUuid(), 4096, 1 << 30, 1 << 30);
  h.flushed_seq = 9;
  h.uploaded_below = 7;
  for (uint8_t i = 0; i < 16; i++) {
    h.writer_token[i] = static_cast<uint8_t>(0xa0 + i);
    h.prev_writer_token[i] = static_cast<uint8_t>(0xb0 + i);
  }
  std::array<uint8_t, kCacheHeaderSize> hb{};
  EncodeHeader(h, hb);
  std::array<uint8_t, kCacheRecordSize> rb{};
  EncodeRecord(CacheRecord{RecordKind::kErase, 5, 6, 7, 0}, rb);
  EXPECT_EQ(Hex(hb.data(), 256), kSampleHeaderV3);
  EXPECT_EQ(Hex(rb.data(), 64), kSampleRecord);
}

}  // namespace
}  // namespace s3nbd
