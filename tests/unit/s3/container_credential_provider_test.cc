// Tests of ECS/EKS container credentials against a loopback server: FULL_URI with a static or
// file token (re-read per fetch), RELATIVE_URI's fixed host, refused FULL_URI hosts.
#include "cache/s3/container_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

FakeResponse Agent(const FakeRequest& r, const std::string& want_token, const std::string& exp) {
  if (r.head.rfind("GET /v2/credentials/abc ", 0) != 0) return {404, "", ""};
  if ((r.head + "\r\n").find("\r\nAuthorization: " + want_token + "\r\n") == std::string::npos) {
    return {401, "", ""};
  }
  return {200,
          "{\"RoleArn\":\"arn:aws:iam::1:role/task\",\"AccessKeyId\":\"ASIAECS\","
          "\"SecretAccessKey\":\"ecssecret\",\"Token\":\"ecstoken\",\"Expiration\":\"" + exp + "\"}",
          ""};
}

TEST(ContainerCredentialProviderTest, FullUriWithTokenFile) {
  const std::string exp = IsoIn(900);
  std::string want = "tok-1";
  FakeS3Server server([&](const FakeRequest& r) { return Agent(r, want, exp); });
  TempFile token("tok-1\n");
  auto ep = ContainerEndpointFrom(MapEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                           server.endpoint() + "/v2/credentials/abc"},
                                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored"},
                                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token.path()}}));
  ASSERT_TRUE(ep.ok()) << ep.status().message();
  ContainerCredentialProvider p(*ep);
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIAECS");
  EXPECT_EQ(c->session_token, "ecstoken");
  EXPECT_EQ(FormatIso8601(*c->expiration), exp);
  token.Write("tok-2");  // rotated (EKS Pod Identity): read again
  want = "tok-2";
  EXPECT_TRUE(p.Fetch().ok());
  want = "tok-3";
  auto denied = p.Fetch();
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(denied.status().message().find("tok-2"), std::string::npos);
}

TEST(ContainerCredentialProviderTest, FullUriWithStaticToken) {
  const std::string exp = IsoIn(900);
  FakeS3Server server([&](const FakeRequest& r) { return Agent(r, "static-tok", exp); });
  auto ep = ContainerEndpointFrom(MapEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                           server.endpoint() + "/v2/credentials/abc"},
                                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "static-tok"}}));
  ASSERT_TRUE(ep.ok());
  auto c = ContainerCredentialProvider(*ep).Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->secret_key, "ecssecret");
}

TEST(ContainerCredentialProviderTest, EndpointRules) {
  auto rel = ContainerEndpointFrom(MapEnv({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"},
                                           {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/y"}}));
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->url, "http://169.254.170.2/v2/x");  // RELATIVE_URI wins (never contacted here)
  auto none = ContainerEndpointFrom(MapEnv({}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->url.empty());
  for (const char* ok : {"https://creds.example.com/x", "http://localhost:80/x",
                         "http://169.254.170.23/v1/credentials", "http://[::1]:8080/x"}) {
    EXPECT_TRUE(ContainerEndpointFrom(MapEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ok}})).ok()) << ok;
  }
  for (const char* bad : {"http://example.com/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x", "junk"}) {
    EXPECT_FALSE(ContainerEndpointFrom(MapEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad}})).ok())
        << bad;
  }
}

}  // namespace
}  // namespace s3nbd
