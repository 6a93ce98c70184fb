// Tests of profiles from ~/.aws/config and ~/.aws/credentials: merging, static keys,
// credential_process, role_arn + source_profile through a loopback STS (sts_endpoint),
// credential_source, and the errors of bad settings.
#include "cache/s3/profile_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

struct Files {
  Files(const std::string& config, const std::string& credentials) : c(config), k(credentials) {}
  EnvLookup Env(std::map<std::string, std::string> more = {}) const {
    more.emplace("AWS_CONFIG_FILE", c.path());
    more.emplace("AWS_SHARED_CREDENTIALS_FILE", k.path());
    return MapEnv(more);
  }
  TempFile c, k;
};

Result<std::unique_ptr<CredentialProvider>> For(const Files& f, const std::string& profile,
                                                std::map<std::string, std::string> env = {}) {
  EnvLookup e = f.Env(std::move(env));
  auto files = LoadAwsConfigFiles(e);
  if (!files.ok()) return files.status();
  return ProviderForProfile(*files, profile, ProfileContext{e, "us-east-1", ""});
}

TEST(ProfileCredentialProviderTest, StaticKeysCredentialsFileWins) {
  Files f("[profile dev]\nregion = eu-west-1\naws_access_key_id = AKCONFIG\n"
          "aws_secret_access_key = configsecret\n[profile only-region]\nregion = x\n",
          "[dev]\naws_access_key_id = AKCREDS\naws_secret_access_key = credssecret\n");
  auto p = For(f, "dev");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(*p);
  auto c = (*p)->Fetch();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key, "AKCREDS");
  EXPECT_EQ(c->secret_key, "credssecret");
  EXPECT_EQ((*p)->Describe(), "profile 'dev' (static keys)");
  auto none = For(f, "only-region");  // exists, holds no credentials: the chain goes on
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto missing = For(f, "nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
}

TEST(ProfileCredentialProviderTest, CredentialProcess) {
  Files f("[profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKPROC\","
          "\"SecretAccessKey\":\"S\"}'\n",
          "");
  auto p = For(f, "proc");
  ASSERT_TRUE(p.ok() && *p) << p.status().message();
  auto c = (*p)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "AKPROC");
}

TEST(ProfileCredentialProviderTest, AssumeRoleWithSourceProfile) {
  const std::string exp = IsoIn(3600);
  FakeS3Server sts([&](const FakeRequest& r) -> FakeResponse {
    if (r.head.find("Credential=AKBASE/") == std::string::npos) return {403, "", ""};
    return {200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"
            "<SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>roletoken</SessionToken>"
            "<Expiration>" + exp + "</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
            ""};
  });
  Files f("[profile ops]\nrole_arn = arn:aws:iam::123:role/ops\nsource_profile = base\n"
          "role_session_name = me\nduration_seconds = 1200\nsts_endpoint = " + sts.endpoint() + "\n"
          "region = eu-central-1\n",
          "[base]\naws_access_key_id = AKBASE\naws_secret_access_key = basesecret\n");
  auto p = For(f, "ops");
  ASSERT_TRUE(p.ok() && *p) << p.status().message();
  auto c = (*p)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key, "ASIAROLE");
  EXPECT_EQ(c->session_token, "roletoken");
  ASSERT_TRUE(c->expiration);
  auto reqs = sts.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].head.find("/eu-central-1/sts/aws4_request"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("RoleSessionName=me"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("DurationSeconds=1200"), std::string::npos);
  const std::string d = (*p)->Describe();
  EXPECT_NE(d.find("assume role arn:aws:iam::123:role/ops"), std::string::npos);
  EXPECT_NE(d.find("source: profile 'base' (static keys)"), std::string::npos);
  EXPECT_EQ(d.find("basesecret"), std::string::npos);

  // AWS_ENDPOINT_URL_STS wins over sts_endpoint
  auto q = For(f, "ops", {{"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"}});
  ASSERT_TRUE(q.ok() && *q);
  EXPECT_NE((*q)->Describe().find("via http://127.0.0.1:1"), std::string::npos);
}

TEST(ProfileCredentialProviderTest, RoleSourcesAndErrors) {
  Files f("[profile self]\nrole_arn = arn:r\nsource_profile = self\n"
          "[profile env]\nrole_arn = arn:r\ncredential_source = Environment\n"
          "[profile loop1]\nrole_arn = arn:r\nsource_profile = loop2\n"
          "[profile loop2]\nrole_arn = arn:r\nsource_profile = loop1\n"
          "[profile both]\nrole_arn = arn:r\nsource_profile = self\ncredential_source = Environment\n"
          "[profile badsrc]\nrole_arn = arn:r\ncredential_source = Moon\n"
          "[profile baddur]\nrole_arn = arn:r\nsource_profile = self\nduration_seconds = 5\n"
          "[profile nosrc]\nrole_arn = arn:r\nsource_profile = ghost\n"
          "[profile web]\nrole_arn = arn:r\nweb_identity_token_file = /t\n"
          "[profile imds]\nrole_arn = arn:r\ncredential_source = Ec2InstanceMetadata\n",
          "[self]\naws_access_key_id = AKSELF\naws_secret_access_key = s\n");
  auto self = For(f, "self");
  ASSERT_TRUE(self.ok() && *self) << self.status().message();
  EXPECT_NE((*self)->Describe().find("source: profile 'self' (static keys)"), std::string::npos);
  auto env = For(f, "env");
  ASSERT_TRUE(env.ok() && *env);
  EXPECT_NE((*env)->Describe().find("source: environment"), std::string::npos);
  auto web = For(f, "web");
  ASSERT_TRUE(web.ok() && *web);
  EXPECT_NE((*web)->Describe().find("web identity"), std::string::npos);
  for (const char* bad : {"loop1", "both", "badsrc", "baddur", "nosrc", "imds"}) {
    auto r = For(f, bad);  // imds: MapEnv has AWS_EC2_METADATA_DISABLED=true
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("profile '"), std::string::npos) << bad;
    }
  }
}

TEST(ProfileCredentialProviderTest, MalformedFileIsAnError) {
  Files f("[profile broken\n", "");
  EXPECT_FALSE(LoadAwsConfigFiles(f.Env()).ok());
  auto missing = LoadAwsConfigFiles(MapEnv({{"AWS_CONFIG_FILE", "/nonexistent/c"}}));
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->config.empty());
  EXPECT_EQ(missing->credentials_path, "/nonexistent-home/.aws/credentials");
}

}  // namespace
}  // namespace s3nbd
