// Tests of IMDSv2 credentials against a loopback server that speaks the metadata protocol:
// token PUT with its TTL header, role list and role credentials with the token header; no
// IMDSv1 fallback; endpoint selection from the environment.
#include "cache/s3/imds_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

bool HasHeader(const FakeRequest& r, const std::string& line) {
  return (r.head + "\r\n").find("\r\n" + line + "\r\n") != std::string::npos;
}

// A metadata service: token "TOKEN-1", role "web-role"; v2_only answers 401 without a token.
FakeResponse Imds(const FakeRequest& r, const std::string& expiration) {
  if (r.head.rfind("PUT /latest/api/token ", 0) == 0) {
    if (!HasHeader(r, "X-aws-ec2-metadata-token-ttl-seconds: 21600")) return {400, "", ""};
    return {200, "TOKEN-1", ""};
  }
  if (!HasHeader(r, "X-aws-ec2-metadata-token: TOKEN-1")) return {401, "", ""};
  if (r.head.rfind("GET /latest/meta-data/iam/security-credentials/ ", 0) == 0) {
    return {200, "web-role\n", ""};
  }
  if (r.head.rfind("GET /latest/meta-data/iam/security-credentials/web-role ", 0) == 0) {
    return {200,
            "{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-01T19:00:00Z\",\"Type\":\"AWS-HMAC\","
            "\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"imdssecret\",\"Token\":\"imdstoken\","
            "\"Expiration\":\"" + expiration + "\"}",
            ""};
  }
  return {404, "", ""};
}

TEST(ImdsCredentialProviderTest, TokenThenRoleThenCredentials) {
  const std::string exp = IsoIn(3600);
  FakeS3Server server([&](const FakeRequest& r) { return Imds(r, exp); });
  ImdsCredentialProvider p(server.endpoint());
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIAIMDS");
  EXPECT_EQ(c->secret_key, "imdssecret");
  EXPECT_EQ(c->session_token, "imdstoken");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(FormatIso8601(*c->expiration), exp);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].head.rfind("PUT /latest/api/token ", 0), 0u);
  EXPECT_NE(p.Describe().find("role 'web-role'"), std::string::npos);
  EXPECT_EQ(p.Describe().find("imdssecret"), std::string::npos);
}

TEST(ImdsCredentialProviderTest, NoV1Fallback) {
  FakeS3Server server(std::vector<FakeResponse>{{403, "", ""}});
  ImdsCredentialProvider p(server.endpoint());
  auto c = p.Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("IMDSv1 without a token is not used"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);  // never asked for credentials without a token
}

TEST(ImdsCredentialProviderTest, V1OnlyWhenExplicitlyAllowed) {
  const std::string exp = IsoIn(3600);
  FakeS3Server server([&](const FakeRequest& r) -> FakeResponse {
    if (r.head.rfind("PUT ", 0) == 0) return {403, "", ""};  // an IMDSv1-only service
    if (r.head.find("X-aws-ec2-metadata-token") != std::string::npos) return {400, "", ""};
    if (r.head.rfind("GET /latest/meta-data/iam/security-credentials/ ", 0) == 0) return {200, "r1", ""};
    return {200, "{\"AccessKeyId\":\"AKV1\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                 "\"Expiration\":\"" + exp + "\"}", ""};
  });
  EXPECT_FALSE(ImdsCredentialProvider::V1AllowedBy(MapEnv({})));
  EXPECT_FALSE(ImdsCredentialProvider::V1AllowedBy(MapEnv({{"AWS_EC2_METADATA_V1_DISABLED", "true"}})));
  EXPECT_TRUE(ImdsCredentialProvider::V1AllowedBy(MapEnv({{"AWS_EC2_METADATA_V1_DISABLED", "false"}})));
  ImdsCredentialProvider p(server.endpoint(), /*allow_v1=*/true);
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "AKV1");
  EXPECT_NE(p.Describe().find("(IMDSv1)"), std::string::npos);
}

TEST(ImdsCredentialProviderTest, NoRoleAndBadAnswers) {
  FakeS3Server none([](const FakeRequest& r) -> FakeResponse {
    if (r.head.rfind("PUT ", 0) == 0) return {200, "T", ""};
    return {404, "", ""};
  });
  auto c = ImdsCredentialProvider(none.endpoint()).Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no IAM role"), std::string::npos);
  EXPECT_FALSE(ParseMetadataCredentials("{\"Code\":\"Failure\"}", "x").ok());
  EXPECT_FALSE(ParseMetadataCredentials("{\"AccessKeyId\":\"A\"}", "x").ok());
  EXPECT_FALSE(ParseMetadataCredentials("not json", "x").ok());
}

TEST(ImdsCredentialProviderTest, UnreachableIsAnError) {
  // A closed loopback port: connection refused, quickly.
  FakeS3Server* gone = new FakeS3Server(std::vector<FakeResponse>{{200, "", ""}});
  std::string ep = gone->endpoint();
  delete gone;
  auto c = ImdsCredentialProvider(ep, false, 200, 1).Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(ep), std::string::npos);
}

TEST(ImdsCredentialProviderTest, EndpointFromEnvironment) {
  EXPECT_EQ(ImdsCredentialProvider::EndpointFrom(MapEnv({})), "");  // MapEnv disables it
  EXPECT_EQ(ImdsCredentialProvider::EndpointFrom(MapEnv({{"AWS_EC2_METADATA_DISABLED", "false"}})),
            "http://169.254.169.254");
  EXPECT_EQ(ImdsCredentialProvider::EndpointFrom(
                MapEnv({{"AWS_EC2_METADATA_DISABLED", "<unset>"},
                        {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}})),
            "http://[fd00:ec2::254]");
  EXPECT_EQ(ImdsCredentialProvider::EndpointFrom(
                MapEnv({{"AWS_EC2_METADATA_DISABLED", "<unset>"},
                        {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1234/"}})),
            "http://127.0.0.1:1234");
  EXPECT_EQ(ImdsCredentialProvider::EndpointFrom(MapEnv({{"AWS_EC2_METADATA_DISABLED", "TRUE"}})), "");
}

}  // namespace
}  // namespace s3nbd
