#include "cache/s3/block_key.h"

#include <gtest/gtest.h>

#include <set>

namespace s3nbd {
namespace {

TEST(BlockKeyTest, NormalizePrefix) {
  EXPECT_EQ(*NormalizePrefix(""), "");
  EXPECT_EQ(*NormalizePrefix("vol1"), "vol1/");
  EXPECT_EQ(*NormalizePrefix("a/b/"), "a/b/");
  EXPECT_FALSE(NormalizePrefix("/abs").ok());
}

TEST(BlockKeyTest, FlatKeysRoundTrip) {
  BlockKeys keys("vol1/", KeyLayout::kFlat);
  EXPECT_EQ(keys.BlockKey(3), "vol1/b/0000000000000003");
  EXPECT_EQ(keys.BlockKey(0xabcdef), "vol1/b/0000000000abcdef");
  EXPECT_EQ(keys.BlockListPrefix(), "vol1/b/");
  EXPECT_EQ(keys.DescriptorKey(), "vol1/volume.s3nbd");
  for (uint64_t b : {0ull, 1ull, 255ull, 1ull << 40, ~0ull}) EXPECT_EQ(keys.ParseBlockKey(keys.BlockKey(b)), b);
}

TEST(BlockKeyTest, FlatRejectsForeignKeys) {
  BlockKeys keys("vol1/", KeyLayout::kFlat);
  EXPECT_FALSE(keys.ParseBlockKey("vol1/volume.s3nbd"));
  EXPECT_FALSE(keys.ParseBlockKey("vol1/b/000000000000003"));    // 15 digits
  EXPECT_FALSE(keys.ParseBlockKey("vol1/b/000000000000000G"));
  EXPECT_FALSE(keys.ParseBlockKey("vol1/b/000000000000000A"));   // uppercase
  EXPECT_FALSE(keys.ParseBlockKey("vol2/b/0000000000000003"));
  EXPECT_FALSE(keys.ParseBlockKey("vol1/b/00000000000000030"));
}

TEST(BlockKeyTest, HashedKeysSpreadAndRoundTrip) {
  BlockKeys keys("p/", KeyLayout::kHashed);
  std::set<std::string> hashes;
  for (uint64_t b = 0; b < 1000; b++) {
    std::string k = keys.BlockKey(b);
    ASSERT_EQ(k.size(), std::string("p/h/xxxx/").size() + 16) << k;
    EXPECT_EQ(keys.ParseBlockKey(k), b);
    hashes.insert(k.substr(4, 4));
  }
  EXPECT_GT(hashes.size(), 900u);  // consecutive blocks land under different prefixes
  // A key whose hash digits do not match its block number is not a block key.
  std::string k = keys.BlockKey(7);
  k[4] = k[4] == '0' ? '1' : '0';
  EXPECT_FALSE(keys.ParseBlockKey(k));
}

TEST(BlockKeyTest, ParseKeyLayout) {
  EXPECT_EQ(*ParseKeyLayout("flat"), KeyLayout::kFlat);
  EXPECT_EQ(*ParseKeyLayout("hashed"), KeyLayout::kHashed);
  EXPECT_FALSE(ParseKeyLayout("Flat").ok());
}

}  // namespace
}  // namespace s3nbd
