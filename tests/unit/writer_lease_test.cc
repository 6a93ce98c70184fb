#include "cache/writer_lease.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(WriterLeaseTest, RecordRoundTrips) {
  LeaseRecord r{"host1", 4242, "2026-11-22T01:00:00Z", "00112233445566778899aabbccddeeff", 1795000000, 60};
  auto back = DecodeLease(EncodeLease(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->host, "host1");
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->token, r.token);
  EXPECT_EQ(back->expires, 1795000000);
  EXPECT_EQ(back->seconds, 60);
}

TEST(WriterLeaseTest, DescribeNamesHolderAndExpiry) {
  LeaseRecord r{"box", 7, "2026-11-22T01:00:00Z", "aa", 1000, 60};
  std::string live = DescribeLease(r, 990), dead = DescribeLease(r, 1030);
  EXPECT_NE(live.find("host box pid 7"), std::string::npos) << live;
  EXPECT_NE(live.find("in 10 s"), std::string::npos) << live;
  EXPECT_NE(dead.find("30 s ago"), std::string::npos) << dead;
}

TEST(WriterLeaseTest, RefusesHostileRecords) {
  EXPECT_FALSE(DecodeLease("").ok());
  EXPECT_FALSE(DecodeLease("garbage").ok());
  EXPECT_FALSE(DecodeLease("s3nbd-lease 1\nhost h\n").ok());                      // no token/expiry
  EXPECT_FALSE(DecodeLease("s3nbd-lease 1\ntoken t\nexpires soon\n").ok());      // not a number
  EXPECT_FALSE(DecodeLease(std::string(5000, 'x')).ok());
  EXPECT_TRUE(DecodeLease("s3nbd-lease 1\ntoken t\nexpires 5\nfuture thing\n").ok());
  uint64_t seed = 3;
  std::string ok = EncodeLease({"h", 1, "s", "tok", 99, 60});
  for (int i = 0; i < 5000; i++) {
    std::string t = ok;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    t[(seed >> 33) % t.size()] = static_cast<char>(seed >> 20);
    if (i % 3 == 0) t.resize((seed >> 40) % (t.size() + 1));
    (void)DecodeLease(t);  // must not crash
  }
}

}  // namespace
}  // namespace s3nbd
