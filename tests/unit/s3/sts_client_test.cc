// Tests of the STS calls against a loopback server: AssumeRole is a signed form POST (service
// "sts", the source's session token signed too), AssumeRoleWithWebIdentity is unsigned;
// answers and <ErrorResponse> documents are parsed.
#include "cache/s3/sts_client.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

std::string StsAnswer(const char* action, const std::string& exp) {
  return std::string("<") + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" +
         action + "Result><Credentials><AccessKeyId>ASIASTS</AccessKeyId>"
         "<SecretAccessKey>sts&amp;secret</SecretAccessKey><SessionToken>ststoken</SessionToken>"
         "<Expiration>" + exp + "</Expiration></Credentials><AssumedRoleUser><Arn>a</Arn>"
         "<AssumedRoleId>b</AssumedRoleId></AssumedRoleUser></" + action + "Result></" + action +
         "Response>";
}

TEST(StsClientTest, AssumeRoleIsSignedWithTheSource) {
  const std::string exp = IsoIn(3600);
  FakeS3Server server(std::vector<FakeResponse>{{200, StsAnswer("AssumeRole", exp), ""}});
  StsTarget t = StsTargetFor(server.endpoint(), "eu-west-1", "");
  AssumeRoleRequest req{"arn:aws:iam::123:role/r", "sess", 900, "ext"};
  auto c = StsAssumeRole(t, Credentials{"AKSOURCE", "srcsecret", "srctoken", {}}, req);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIASTS");
  EXPECT_EQ(c->secret_key, "sts&secret");
  EXPECT_EQ(c->session_token, "ststoken");
  EXPECT_EQ(FormatIso8601(*c->expiration), exp);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].head.rfind("POST / ", 0), 0u);
  EXPECT_NE(reqs[0].head.find("Credential=AKSOURCE/"), std::string::npos);
  EXPECT_NE(reqs[0].head.find("/eu-west-1/sts/aws4_request"), std::string::npos);
  EXPECT_NE(reqs[0].head.find("x-amz-security-token: srctoken"), std::string::npos);
  EXPECT_NE(reqs[0].head.find(";x-amz-security-token, Signature="), std::string::npos);  // signed
  EXPECT_EQ(reqs[0].head.find("srcsecret"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("Action=AssumeRole"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fr"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("DurationSeconds=900"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("ExternalId=ext"), std::string::npos);
}

TEST(StsClientTest, WebIdentityIsUnsigned) {
  const std::string exp = IsoIn(3600);
  FakeS3Server server(
      std::vector<FakeResponse>{{200, StsAnswer("AssumeRoleWithWebIdentity", exp), ""}});
  AssumeRoleRequest req{"arn:aws:iam::123:role/irsa", "pod", 0, ""};
  auto c = StsAssumeRoleWithWebIdentity(StsTargetFor(server.endpoint(), "", ""), req, "eyJ.tok.sig");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].head.find("Authorization"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("Action=AssumeRoleWithWebIdentity"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("WebIdentityToken=eyJ.tok.sig"), std::string::npos);
  EXPECT_EQ(reqs[0].body.find("DurationSeconds"), std::string::npos);
}

TEST(StsClientTest, ErrorsAndEndpoints) {
  auto e = ParseStsResponse(
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed"
      "</Message></Error><RequestId>x</RequestId></ErrorResponse>",
      403, "STS AssumeRole");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().err(), EACCES);
  EXPECT_EQ(e.status().message(), "STS AssumeRole: HTTP 403 AccessDenied: not allowed");
  EXPECT_FALSE(ParseStsResponse("<AssumeRoleResponse/>", 200, "x").ok());
  EXPECT_EQ(StsTargetFor("", "", "").endpoint, "https://sts.amazonaws.com");
  EXPECT_EQ(StsTargetFor("", "eu-west-1", "").endpoint, "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(StsTargetFor("http://127.0.0.1:1/", "eu-west-1", "").endpoint, "http://127.0.0.1:1");
}

}  // namespace
}  // namespace s3nbd
