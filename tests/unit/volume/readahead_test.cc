#include "cache/volume/readahead.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(ReadaheadTest, SequentialStreamGrowsWindow) {
  Readahead ra(32, 1000);
  EXPECT_TRUE(ra.OnRead(0, 0).empty());  // first read: a new stream, no prefetch
  EXPECT_EQ(ra.OnRead(1, 1), (std::vector<uint64_t>{2, 3}));
  auto third = ra.OnRead(2, 2);  // window 4: blocks up to 3+4=7, minus those already asked
  EXPECT_EQ(third, (std::vector<uint64_t>{4, 5, 6}));
  size_t last_size = 0;
  for (uint64_t b = 3; b < 40; b++) last_size = ra.OnRead(b, b).size();
  EXPECT_LE(last_size, 32u);
  auto big = ra.OnRead(40, 40);
  ASSERT_FALSE(big.empty());
  EXPECT_LE(big.back(), 40u + 1 + 32);  // never beyond the maximum window
}

TEST(ReadaheadTest, RandomReadsPrefetchNothing) {
  Readahead ra(32, 100000);
  size_t total = 0;
  uint64_t x = 12345;
  for (int i = 0; i < 200; i++) {
    x = x * 6364136223846793005ull + 1;
    uint64_t b = (x >> 20) % 100000;
    total += ra.OnRead(b, b).size();
  }
  EXPECT_LT(total, 20u);  // an accidental near-hit is possible, a pattern is not
}

TEST(ReadaheadTest, ToleratesReorderingAndInterleavedStreams) {
  Readahead ra(8, 1000);
  ra.OnRead(0, 0);
  ra.OnRead(500, 500);
  EXPECT_FALSE(ra.OnRead(2, 2).empty());      // 1 arrives after 2: still the same stream
  EXPECT_FALSE(ra.OnRead(501, 501).empty());  // the second stream is tracked separately
}

TEST(ReadaheadTest, DisabledAndBounded) {
  Readahead off(0, 1000);
  off.OnRead(0, 0);
  EXPECT_TRUE(off.OnRead(1, 1).empty());
  Readahead end(32, 10);
  end.OnRead(7, 7);
  auto v = end.OnRead(8, 8);
  for (uint64_t b : v) EXPECT_LT(b, 10u);
}

}  // namespace
}  // namespace s3nbd
