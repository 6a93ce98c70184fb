// Tests of credential_process: a real /bin/sh command printing Version 1 JSON, exit codes,
// timeouts, and the output never appearing in messages.
#include "cache/s3/process_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"

namespace s3nbd {
namespace {

TEST(ProcessCredentialProviderTest, RunsTheCommand) {
  const std::string exp = IsoIn(1800);
  TempFile script("#!/bin/sh\necho \"called $1\" >&2\ncat <<EOF\n{\"Version\": 1, \"AccessKeyId\": "
                  "\"ASIAPROC\", \"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", "
                  "\"Expiration\": \"" + exp + "\"}\nEOF\n");
  ProcessCredentialProvider p("/bin/sh " + script.path() + " arg", "dev");
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIAPROC");
  EXPECT_EQ(c->secret_key, "procsecret");
  EXPECT_EQ(c->session_token, "proctoken");
  EXPECT_EQ(FormatIso8601(*c->expiration), exp);
  EXPECT_EQ(p.Describe(), "profile 'dev' (credential_process)");
}

TEST(ProcessCredentialProviderTest, NoExpirationMeansStatic) {
  ProcessCredentialProvider p(
      "printf '{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\"}'", "p");
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->expiration);
  EXPECT_TRUE(c->session_token.empty());
}

TEST(ProcessCredentialProviderTest, Failures) {
  auto exit3 = ProcessCredentialProvider("echo '{\"SecretAccessKey\":\"leak\"}'; exit 3", "p").Fetch();
  ASSERT_FALSE(exit3.ok());
  EXPECT_NE(exit3.status().message().find("exited with status 3"), std::string::npos);
  EXPECT_EQ(exit3.status().message().find("leak"), std::string::npos);
  auto slow = ProcessCredentialProvider("sleep 5", "p", std::chrono::milliseconds(200)).Fetch();
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().err(), ETIMEDOUT);
  auto v2 = ProcessCredentialProvider(
      "echo '{\"Version\":2,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"leak\"}'", "p").Fetch();
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.status().message().find("Version '2'"), std::string::npos);
  EXPECT_EQ(v2.status().message().find("leak"), std::string::npos);
  EXPECT_FALSE(ParseProcessCredentials("{\"Version\":1,\"AccessKeyId\":\"AK\"}", "x").ok());
  EXPECT_FALSE(ParseProcessCredentials(
                   "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"x\"}",
                   "x")
                   .ok());
}

}  // namespace
}  // namespace s3nbd
