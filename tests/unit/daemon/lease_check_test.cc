// Tests of RefuseWhileLeased (daemon/lease_check.cc): what fsck --repair and destroy do about
// the writer lease, against a scripted S3 server.
#include "daemon/lease_check.h"

#include <gtest/gtest.h>

#include "cache/lease/writer_lease.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd::cli {
namespace {

constexpr int64_t kNow = 1800000000;

std::unique_ptr<S3Client> Client(const std::string& endpoint) {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = 0;
  return std::move(S3Client::Create(c)).value();
}

Status Check(const FakeResponse& lease_get, bool force) {
  FakeS3Server server({lease_get});
  auto client = Client(server.endpoint());
  return RefuseWhileLeased(*client, BlockKeys("v/", KeyLayout::kFlat), "volume bkt/v", force, kNow);
}

std::string Lease(int64_t expires) {
  return EncodeLease({"far-host", 4242, "2027-01-15T08:00:00Z", "tok", expires, 60});
}

TEST(LeaseCheckTest, ALiveLeaseRefusesNamingItsHolderUnlessForced) {
  Status s = Check({200, Lease(kNow + 30)}, false);
  EXPECT_EQ(s.err(), EBUSY);
  EXPECT_NE(s.message().find("volume bkt/v: a writer holds the lease: host far-host pid 4242"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("(in 30 s)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--force"), std::string::npos) << s.message();
  EXPECT_TRUE(Check({200, Lease(kNow + 30)}, true).ok());
}

TEST(LeaseCheckTest, NoLeaseOrAnExpiredOneIsFine) {
  EXPECT_TRUE(Check({404, "<Error><Code>NoSuchKey</Code></Error>"}, false).ok());
  EXPECT_TRUE(Check({200, Lease(kNow)}, false).ok());
}

TEST(LeaseCheckTest, AnUnreadableLeaseOrAFailedGetRefuses) {
  Status s = Check({200, "garbage"}, false);
  EXPECT_EQ(s.err(), EBUSY);
  EXPECT_NE(s.message().find("unreadable"), std::string::npos) << s.message();
  EXPECT_TRUE(Check({200, "garbage"}, true).ok());
  EXPECT_FALSE(Check({403, "<Error><Code>AccessDenied</Code></Error>"}, true).ok())
      << "unknown: delete nothing";
}

}  // namespace
}  // namespace s3nbd::cli
