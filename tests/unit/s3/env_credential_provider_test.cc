// Tests of environment credentials, with AWS_SESSION_TOKEN.
#include "cache/s3/env_credential_provider.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/credential_test_util.h"

namespace s3nbd {
namespace {

TEST(EnvCredentialProviderTest, KeysAndSessionToken) {
  auto env = MapEnv({{"AWS_ACCESS_KEY_ID", "ASIAENV"},
                     {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                     {"AWS_SESSION_TOKEN", "envtoken"}});
  EXPECT_TRUE(EnvCredentialProvider::Configured(env));
  auto c = EnvCredentialProvider(env).Fetch();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key, "ASIAENV");
  EXPECT_EQ(c->secret_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_FALSE(c->expiration);
}

TEST(EnvCredentialProviderTest, HalfSetIsAnError) {
  auto env = MapEnv({{"AWS_ACCESS_KEY_ID", "AKIAENV"}});
  EXPECT_TRUE(EnvCredentialProvider::Configured(env));
  EXPECT_FALSE(EnvCredentialProvider(env).Fetch().ok());
  EXPECT_FALSE(EnvCredentialProvider::Configured(MapEnv({{"AWS_ACCESS_KEY_ID", ""}})));
}

}  // namespace
}  // namespace s3nbd
