// Tests of endpoint parsing, bucket name checks and S3 URL building (path-style and
// virtual-host, per-segment key encoding shared by the URL and the SigV4 canonical URI).
#include "cache/s3/s3_url.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(S3UrlTest, ParsesEndpoints) {
  Result<S3Endpoint> e = ParseEndpoint("http://127.0.0.1:9280");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "9280");
  EXPECT_EQ(e->base_path, "");
  e = ParseEndpoint("https://s3.eu-west-1.amazonaws.com/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e->port, "");
  e = ParseEndpoint("http://[::1]:8080/s3/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "[::1]");
  EXPECT_EQ(e->port, "8080");
  EXPECT_EQ(e->base_path, "/s3");
  for (const char* bad : {"", "127.0.0.1:9000", "ftp://h", "http://", "http://:80",
                          "http://h:0", "http://h:99999", "http://h:x", "http://u@h",
                          "http://h/?q", "http://h h"}) {
    Result<S3Endpoint> r = ParseEndpoint(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().err(), EINVAL);
    }
  }
}

TEST(S3UrlTest, BucketNames) {
  EXPECT_TRUE(ValidateBucketName("s3test").ok());
  EXPECT_TRUE(ValidateBucketName("my.bucket-1").ok());
  EXPECT_FALSE(ValidateBucketName("ab").ok());
  EXPECT_FALSE(ValidateBucketName("Upper").ok());
  EXPECT_FALSE(ValidateBucketName("-dash").ok());
  EXPECT_FALSE(ValidateBucketName("a/b/c").ok());
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
}

TEST(S3UrlTest, PathStyle) {
  S3Endpoint ep = ParseEndpoint("http://127.0.0.1:9280").value();
  S3Target t = BuildTarget(ep, "s3test", false, "vol/blocks/00 01+ü", {});
  EXPECT_EQ(t.host, "127.0.0.1:9280");
  EXPECT_EQ(t.canonical_uri, "/s3test/vol/blocks/00%2001%2B%C3%BC");
  EXPECT_EQ(t.url, "http://127.0.0.1:9280/s3test/vol/blocks/00%2001%2B%C3%BC");
  // Already-encoded-looking keys are encoded once more, never "double-decoded".
  EXPECT_EQ(BuildTarget(ep, "s3test", false, "a%20b", {}).canonical_uri, "/s3test/a%2520b");
  t = BuildTarget(ep, "s3test", false, "", {{"prefix", "v/ x"}, {"list-type", "2"}});
  EXPECT_EQ(t.canonical_uri, "/s3test");
  EXPECT_EQ(t.url, "http://127.0.0.1:9280/s3test?list-type=2&prefix=v%2F%20x");
  t = BuildTarget(ep, "s3test", false, "", {{"delete", ""}});
  EXPECT_EQ(t.url, "http://127.0.0.1:9280/s3test?delete=");
}

TEST(S3UrlTest, VirtualHost) {
  S3Endpoint ep = ParseEndpoint("https://s3.amazonaws.com").value();
  S3Target t = BuildTarget(ep, "examplebucket", true, "test.txt", {});
  EXPECT_EQ(t.host, "examplebucket.s3.amazonaws.com");
  EXPECT_EQ(t.canonical_uri, "/test.txt");
  EXPECT_EQ(t.url, "https://examplebucket.s3.amazonaws.com/test.txt");
  t = BuildTarget(ep, "examplebucket", true, "", {});
  EXPECT_EQ(t.canonical_uri, "/");
  EXPECT_EQ(t.url, "https://examplebucket.s3.amazonaws.com/");
}

TEST(S3UrlTest, BasePath) {
  S3Endpoint ep = ParseEndpoint("http://127.0.0.1:8080/gw").value();
  EXPECT_EQ(BuildTarget(ep, "b12", false, "k", {}).url, "http://127.0.0.1:8080/gw/b12/k");
}

}  // namespace
}  // namespace s3nbd
