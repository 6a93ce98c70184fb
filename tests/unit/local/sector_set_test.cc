// Tests of SectorSet (cache format 4's valid/dirty sets): ranges and their rounding, runs,
// set algebra, and the on-disk bitmap bytes (round trip, damaged input).
#include "cache/local/sector_set.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

namespace s3nbd {
namespace {

using Runs = std::vector<std::pair<uint32_t, uint32_t>>;

Runs RunsOf(const SectorSet& s, bool set = true) {
  Runs r;
  s.ForEachRun([&](uint32_t first, uint32_t count) { r.emplace_back(first, count); }, set);
  return r;
}

TEST(SectorSet, SetClearTestCount) {
  SectorSet s = SectorSet::ForBlock(1 << 20);
  EXPECT_EQ(s.size(), 2048u);
  EXPECT_TRUE(s.Empty());
  s.Set(60, 10);  // crosses a word boundary
  EXPECT_EQ(s.Count(), 10u);
  EXPECT_FALSE(s.Test(59));
  EXPECT_TRUE(s.Test(60));
  EXPECT_TRUE(s.Test(69));
  EXPECT_FALSE(s.Test(70));
  EXPECT_TRUE(s.AllSet(60, 10));
  EXPECT_FALSE(s.AllSet(59, 2));
  EXPECT_TRUE(s.AnySet(0, 61));
  EXPECT_FALSE(s.AnySet(70, 1000));
  s.Clear(64, 2);
  EXPECT_EQ(s.Count(), 8u);
  EXPECT_FALSE(s.Test(64));
  s.Set(2040, 100);  // clipped to the block
  EXPECT_EQ(s.Count(), 16u);
  EXPECT_FALSE(s.Test(2048));
  s.Set(0, 2048);
  EXPECT_TRUE(s.Full());
  EXPECT_FALSE(s.AllSet(2047, 2));  // past the block is never set
}

TEST(SectorSet, ByteRangesRoundOutwardWhenSetInwardWhenCleared) {
  SectorSet s(16);
  s.SetBytes(100, 1000);  // bytes 100..1099 touch sectors 0, 1, 2
  EXPECT_EQ(RunsOf(s), (Runs{{0, 3}}));
  EXPECT_TRUE(s.CoversBytes(0, 1536));
  EXPECT_FALSE(s.CoversBytes(0, 1537));
  EXPECT_TRUE(s.CoversBytes(7000, 0));
  s.Set(0, 16);
  s.ClearBytes(100, 1000);  // only sector 1 lies wholly inside
  EXPECT_EQ(RunsOf(s, false), (Runs{{1, 1}}));
  s.ClearBytes(512, 511);  // no whole sector: nothing cleared
  EXPECT_EQ(s.Count(), 15u);
  s.ClearBytes(4096, 4096);  // sectors 8..15
  EXPECT_EQ(RunsOf(s), (Runs{{0, 1}, {2, 6}}));
  s.SetBytes(8191, 10);  // past the end: only sector 15
  EXPECT_TRUE(s.Test(15));
  EXPECT_FALSE(s.CoversBytes(8000, 1000));  // reaches past the block
}

TEST(SectorSet, RunsOfSetAndClearSectors) {
  SectorSet s(200);
  EXPECT_TRUE(RunsOf(s).empty());
  EXPECT_EQ(RunsOf(s, false), (Runs{{0, 200}}));
  s.Set(0, 1);
  s.Set(63, 2);
  s.Set(128, 72);  // to the end, across the last partial word
  EXPECT_EQ(RunsOf(s), (Runs{{0, 1}, {63, 2}, {128, 72}}));
  EXPECT_EQ(RunsOf(s, false), (Runs{{1, 62}, {65, 63}}));
  s.Set(0, 200);
  EXPECT_EQ(RunsOf(s), (Runs{{0, 200}}));
  EXPECT_TRUE(RunsOf(s, false).empty());
}

TEST(SectorSet, RunsMatchABitByBitModel) {
  std::mt19937 rng(12);
  for (uint32_t size : {1u, 63u, 64u, 65u, 130u, 2048u}) {
    SectorSet s(size);
    std::vector<bool> model(size);
    for (int op = 0; op < 200; op++) {
      uint32_t first = rng() % size, count = rng() % 80;
      bool set = rng() % 2;
      if (set)
        s.Set(first, count);
      else
        s.Clear(first, count);
      for (uint32_t k = first; k < size && k < first + count; k++) model[k] = set;
    }
    for (bool want : {true, false}) {
      std::vector<bool> seen(size, !want);
      s.ForEachRun(
          [&](uint32_t f, uint32_t c) {
            ASSERT_LE(f + c, size);
            ASSERT_GT(c, 0u);
            for (uint32_t k = f; k < f + c; k++) seen[k] = want;
          },
          want);
      EXPECT_EQ(seen, model) << "size " << size << " runs of " << want;
    }
    uint32_t n = 0;
    for (bool b : model) n += b;
    EXPECT_EQ(s.Count(), n);
  }
}

TEST(SectorSet, Algebra) {
  SectorSet a(100), b(100);
  a.Set(0, 50);
  b.Set(40, 20);
  SectorSet u = a;
  u |= b;
  EXPECT_EQ(RunsOf(u), (Runs{{0, 60}}));
  SectorSet i = a;
  i &= b;
  EXPECT_EQ(RunsOf(i), (Runs{{40, 10}}));
  SectorSet d = a;
  d.Subtract(b);
  EXPECT_EQ(RunsOf(d), (Runs{{0, 40}}));
  EXPECT_TRUE(i.IsSubsetOf(a));
  EXPECT_TRUE(i.IsSubsetOf(b));
  EXPECT_FALSE(a.IsSubsetOf(b));
  EXPECT_TRUE(a == a);
  EXPECT_FALSE(a == b);
}

TEST(SectorSet, WordsAreMapUnitBitmaps) {
  SectorSet s(100);
  s.Set(64, 3);
  EXPECT_EQ(s.Word(1), 0x7u);
  EXPECT_EQ(s.Word(0), 0u);
  EXPECT_EQ(s.Word(7), 0u);    // past the block
  s.SetWord(1, ~uint64_t{0});  // bits past sector 99 are dropped
  EXPECT_EQ(s.Count(), 36u);
  EXPECT_EQ(s.Word(1), (uint64_t{1} << 36) - 1);
}

TEST(SectorSet, SerializeRoundTripAndDamage) {
  SectorSet s(2048);
  s.Set(0, 1);
  s.Set(9, 3);
  s.Set(2047, 1);
  std::vector<uint8_t> bytes(s.SerializedSize());
  ASSERT_EQ(bytes.size(), 256u);
  s.Serialize(bytes);
  EXPECT_EQ(bytes[0], 0x01);  // sector 0 = bit 0 of byte 0
  EXPECT_EQ(bytes[1], 0x0e);  // sectors 9..11
  EXPECT_EQ(bytes[255], 0x80);
  auto back = SectorSet::Deserialize(bytes, 2048);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == s);

  SectorSet odd(13);
  odd.Set(12, 1);
  std::vector<uint8_t> two(odd.SerializedSize());
  ASSERT_EQ(two.size(), 2u);
  odd.Serialize(two);
  EXPECT_EQ(two[1], 0x10);
  ASSERT_TRUE(SectorSet::Deserialize(two, 13).ok());
  two[1] |= 0x20;  // sector 13 does not exist
  EXPECT_NE(SectorSet::Deserialize(two, 13).status().message().find("past sector"),
            std::string::npos);
  EXPECT_NE(SectorSet::Deserialize(std::span<const uint8_t>(bytes).first(10), 2048)
                .status()
                .message()
                .find("too short"),
            std::string::npos);
}

}  // namespace
}  // namespace s3nbd
