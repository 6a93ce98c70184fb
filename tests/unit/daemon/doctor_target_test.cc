// Tests of the doctor's ENDPOINT URL form: scheme, host and port become --endpoint, the first
// path segment the bucket, the rest the prefix; anything else is refused with the shape named.
#include "daemon/doctor_target.h"

#include <gtest/gtest.h>

namespace s3nbd::cli {
namespace {

TEST(DoctorTargetTest, SplitsEndpointBucketAndPrefix) {
  auto u = ParseDoctorUrl("http://127.0.0.1:9380/bkt");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->endpoint, "http://127.0.0.1:9380");
  EXPECT_EQ(u->bucket, "bkt");
  EXPECT_EQ(u->prefix, "");
  u = ParseDoctorUrl("https://s3.eu-west-1.amazonaws.com/my-bucket/vols/vol1/");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "vols/vol1/");
  u = ParseDoctorUrl("http://[::1]:9000/b/p");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->endpoint, "http://[::1]:9000");
  EXPECT_TRUE(LooksLikeUrl("http://x/b"));
  EXPECT_FALSE(LooksLikeUrl("vol1"));
}

TEST(DoctorTargetTest, RefusesWhatIsNotEndpointSlashBucket) {
  for (const char* bad : {"ftp://h/b", "http:///b", "http://h", "http://h/", "http://h//p",
                          "http://user:pw@h/b", "http://h/b?x=1", "http://h/b#f"}) {
    auto u = ParseDoctorUrl(bad);
    EXPECT_EQ(u.status().err(), EINVAL) << bad;
    EXPECT_NE(u.status().message().find("expected http(s)://HOST[:PORT]/BUCKET[/PREFIX]"),
              std::string::npos)
        << u.status().message();
  }
}

}  // namespace
}  // namespace s3nbd::cli
