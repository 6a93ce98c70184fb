// Tests of the chain's order with an injected environment: credentials-file, environment,
// profile (named or default), web identity, container, instance metadata (loopback servers for
// the last three), then anonymous or an error that names what was tried.
#include "cache/s3/credential_chain.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

const char kCreds[] =
    "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d\n"
    "[other]\naws_access_key_id = AKOTHER\naws_secret_access_key = o\n";

std::string SourceOf(const CredentialOptions& o, std::string* key = nullptr) {
  auto r = OpenCredentials(o);
  if (!r.ok()) return "error: " + r.status().message();
  auto c = (*r)->Get();
  if (key != nullptr && c.ok()) *key = (*c)->access_key;
  return (*r)->source();
}

CredentialOptions With(std::map<std::string, std::string> env, std::string profile = "") {
  CredentialOptions o;
  o.env = MapEnv(std::move(env));
  o.profile = std::move(profile);
  return o;
}

std::string ContainerJson(const char* key) {
  return std::string("{\"AccessKeyId\":\"") + key + "\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
         "\"Expiration\":\"" + IsoIn(3600) + "\"}";
}

TEST(CredentialChainTest, CredentialsFileIsAllThatIsTried) {
  TempFile f(kCreds);
  CredentialOptions o = With({{"AWS_ACCESS_KEY_ID", "AKENV"}, {"AWS_SECRET_ACCESS_KEY", "e"},
                              {"AWS_PROFILE", "other"}});
  o.credentials_file = f.path();
  std::string key;
  EXPECT_EQ(SourceOf(o, &key), "credentials file '" + f.path() + "', profile 'other'");
  EXPECT_EQ(key, "AKOTHER");
  o.credentials_file = "/nonexistent/creds";
  EXPECT_NE(SourceOf(o).find("/nonexistent/creds"), std::string::npos);
}

TEST(CredentialChainTest, EnvironmentFirstUnlessAProfileIsGiven) {
  TempFile f(kCreds);
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AKENV"},
                                            {"AWS_SECRET_ACCESS_KEY", "e"},
                                            {"AWS_SESSION_TOKEN", "tok"},
                                            {"AWS_PROFILE", "other"},
                                            {"AWS_SHARED_CREDENTIALS_FILE", f.path()}};
  std::string key;
  EXPECT_EQ(SourceOf(With(env), &key), "environment");  // AWS_PROFILE does not beat the keys
  EXPECT_EQ(key, "AKENV");
  EXPECT_EQ(SourceOf(With(env, "other"), &key), "profile 'other' (static keys)");  // --profile does
  EXPECT_EQ(key, "AKOTHER");
}

TEST(CredentialChainTest, ProfileNamedOrDefault) {
  TempFile f(kCreds);
  std::string key;
  EXPECT_EQ(SourceOf(With({{"AWS_SHARED_CREDENTIALS_FILE", f.path()}}), &key),
            "profile 'default' (static keys)");
  EXPECT_EQ(key, "AKDEFAULT");
  EXPECT_EQ(SourceOf(With({{"AWS_SHARED_CREDENTIALS_FILE", f.path()}, {"AWS_PROFILE", "other"}}), &key),
            "profile 'other' (static keys)");
  std::string missing = SourceOf(With({{"AWS_SHARED_CREDENTIALS_FILE", f.path()}}, "ghost"));
  EXPECT_NE(missing.find("error: credentials: profile 'ghost' is in neither"), std::string::npos);
  missing = SourceOf(With({{"AWS_SHARED_CREDENTIALS_FILE", f.path()}, {"AWS_PROFILE", "ghost"}}));
  EXPECT_NE(missing.find("'ghost'"), std::string::npos);
}

TEST(CredentialChainTest, WebIdentityBeforeContainerBeforeMetadata) {
  FakeS3Server sts([](const FakeRequest&) -> FakeResponse {
    return {200,
            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
            "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t"
            "</SessionToken><Expiration>" + IsoIn(3600) + "</Expiration></Credentials>"
            "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
            ""};
  });
  FakeS3Server ecs(std::vector<FakeResponse>{{200, ContainerJson("ASIAECS"), ""}});
  FakeS3Server imds([](const FakeRequest& r) -> FakeResponse {
    if (r.head.rfind("PUT ", 0) == 0) return {200, "T", ""};
    if (r.head.rfind("GET /latest/meta-data/iam/security-credentials/ ", 0) == 0) return {200, "r", ""};
    return {200, ContainerJson("ASIAIMDS"), ""};
  });
  TempFile token("jwt");
  std::map<std::string, std::string> env = {
      {"AWS_WEB_IDENTITY_TOKEN_FILE", token.path()},
      {"AWS_ROLE_ARN", "arn:aws:iam::1:role/irsa"},
      {"AWS_ROLE_SESSION_NAME", "pod"},
      {"AWS_ENDPOINT_URL_STS", sts.endpoint()},
      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.endpoint() + "/creds"},
      {"AWS_EC2_METADATA_DISABLED", "false"},
      {"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}};
  std::string key;
  EXPECT_NE(SourceOf(With(env), &key).find("web identity (role arn:aws:iam::1:role/irsa"),
            std::string::npos);
  EXPECT_EQ(key, "ASIAWEB");
  env.erase("AWS_ROLE_ARN");
  EXPECT_EQ(SourceOf(With(env), &key), "container credentials at " + ecs.endpoint() + "/creds");
  EXPECT_EQ(key, "ASIAECS");
  env.erase("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  EXPECT_EQ(SourceOf(With(env), &key),
            "EC2 instance metadata (IMDSv2) at " + imds.endpoint() + ", role 'r'");
  EXPECT_EQ(key, "ASIAIMDS");
}

TEST(CredentialChainTest, NothingFound) {
  CredentialOptions o = With({});
  std::string err = SourceOf(o);
  EXPECT_NE(err.find("error: no credentials found (tried environment, profile 'default', web "
                     "identity, container, EC2 instance metadata (AWS_EC2_METADATA_DISABLED))"),
            std::string::npos)
      << err;
  o.allow_anonymous = true;
  std::string key = "x";
  EXPECT_EQ(SourceOf(o, &key), "anonymous");
  EXPECT_EQ(key, "");
  // metadata that does not answer passes on to anonymous
  FakeS3Server* gone = new FakeS3Server(std::vector<FakeResponse>{{200, "", ""}});
  std::string ep = gone->endpoint();
  delete gone;
  o = With({{"AWS_EC2_METADATA_DISABLED", "false"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", ep}});
  o.allow_anonymous = true;
  EXPECT_EQ(SourceOf(o), "anonymous");
  o.allow_anonymous = false;
  EXPECT_NE(SourceOf(o).find("EC2 instance metadata at " + ep), std::string::npos);
}

TEST(CredentialChainTest, HalfSetEnvironmentIsAnError) {
  EXPECT_NE(SourceOf(With({{"AWS_ACCESS_KEY_ID", "AKIAENV"}})).find("error:"), std::string::npos);
}

}  // namespace
}  // namespace s3nbd
