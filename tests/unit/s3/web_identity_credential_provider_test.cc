// Tests of web identity credentials: the token file is read at every fetch and sent to STS.
#include "cache/s3/web_identity_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

TEST(WebIdentityCredentialProviderTest, ReadsTheTokenAtEveryFetch) {
  const std::string exp = IsoIn(3600);
  FakeS3Server server([&](const FakeRequest& r) -> FakeResponse {
    if (r.body.find("WebIdentityToken=tok-") == std::string::npos) return {400, "", ""};
    return {200,
            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
            "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>websecret</SecretAccessKey>"
            "<SessionToken>webtoken</SessionToken><Expiration>" + exp + "</Expiration>"
            "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
            ""};
  });
  TempFile token("tok-1\n");
  WebIdentityCredentialProvider p(StsTargetFor(server.endpoint(), "", ""), token.path(),
                                  AssumeRoleRequest{"arn:aws:iam::1:role/irsa", "pod-a", 0, ""});
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIAWEB");
  token.Write("tok-2");
  ASSERT_TRUE(p.Fetch().ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const std::string want = "WebIdentityToken=tok-1";  // the newline trimmed; the last parameter
  EXPECT_EQ(reqs[0].body.substr(reqs[0].body.size() - want.size()), want);
  EXPECT_NE(reqs[1].body.find("WebIdentityToken=tok-2"), std::string::npos);
  EXPECT_NE(reqs[1].body.find("RoleSessionName=pod-a"), std::string::npos);
  EXPECT_NE(p.Describe().find("arn:aws:iam::1:role/irsa"), std::string::npos);

  token.Write("");
  EXPECT_FALSE(p.Fetch().ok());
  WebIdentityCredentialProvider missing(StsTargetFor(server.endpoint(), "", ""), "/nonexistent/t",
                                        AssumeRoleRequest{"arn:x", "s", 0, ""});
  EXPECT_FALSE(missing.Fetch().ok());
}

}  // namespace
}  // namespace s3nbd
