// Tests of credentials parsing and resolution order (explicit file, environment, shared file).
// Each test saves and restores the AWS_* environment it touches.
#include "cache/s3/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace s3nbd {
namespace {

constexpr char kIni[] =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key=secretdefault \n"
    "\n"
    "[profile other]\n"
    "aws_access_key_id=AKIAOTHER\n"
    "aws_secret_access_key = secret=with=equals\n"
    "aws_session_token = tok\n"
    "[broken]\n"
    "aws_access_key_id=AKIABROKEN\n";

class EnvGuard {
 public:
  EnvGuard() {
    for (const char* n : kNames) {
      const char* v = getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(n);
    }
  }
  ~EnvGuard() {
    for (auto& [n, v] : saved_) {
      if (v) setenv(n, v->c_str(), 1);
      else unsetenv(n);
    }
  }

 private:
  static constexpr const char* kNames[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                           "AWS_SESSION_TOKEN", "AWS_PROFILE",
                                           "AWS_SHARED_CREDENTIALS_FILE", "HOME"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/s3nbd-creds-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(CredentialsTest, ParsesProfiles) {
  Result<Credentials> d = ParseCredentialsFile(kIni, "default", "f");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->access_key, "AKIADEFAULT");
  EXPECT_EQ(d->secret_key, "secretdefault");
  EXPECT_TRUE(d->session_token.empty());
  Result<Credentials> o = ParseCredentialsFile(kIni, "other", "f");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->access_key, "AKIAOTHER");
  EXPECT_EQ(o->secret_key, "secret=with=equals");
  EXPECT_EQ(o->session_token, "tok");
}

TEST(CredentialsTest, ErrorsNameFileAndProfile) {
  Result<Credentials> m = ParseCredentialsFile(kIni, "missing", "/x/creds");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().err(), ENOENT);
  EXPECT_NE(m.status().message().find("/x/creds"), std::string::npos);
  EXPECT_NE(m.status().message().find("'missing'"), std::string::npos);
  Result<Credentials> b = ParseCredentialsFile(kIni, "broken", "/x/creds");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("aws_secret_access_key"), std::string::npos);
  EXPECT_FALSE(ParseCredentialsFile("[unterminated\n", "default", "f").ok());
  EXPECT_FALSE(ParseCredentialsFile("", "default", "f").ok());
}

TEST(CredentialsTest, ExplicitFileWinsAndHonoursAwsProfile) {
  EnvGuard guard;
  std::string file = WriteTemp(kIni);
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_PROFILE", "other", 1);
  Result<Credentials> r = ResolveCredentials(file, "", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->access_key, "AKIAOTHER");
  r = ResolveCredentials(file, "default", false);  // explicit profile beats AWS_PROFILE
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key, "AKIADEFAULT");
  Result<Credentials> missing = ResolveCredentials("/nonexistent/creds", "", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/creds"), std::string::npos);
  unlink(file.c_str());
}

TEST(CredentialsTest, EnvironmentThenSharedFileThenAnonymous) {
  EnvGuard guard;
  setenv("HOME", "/nonexistent-home", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_SESSION_TOKEN", "envtoken", 1);
  Result<Credentials> r = ResolveCredentials("", "", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_key, "AKIAENV");
  EXPECT_EQ(r->session_token, "envtoken");

  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  std::string file = WriteTemp(kIni);
  setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  r = ResolveCredentials("", "other", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->access_key, "AKIAOTHER");

  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/shared", 1);
  r = ResolveCredentials("", "", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->anonymous());
  r = ResolveCredentials("", "", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no credentials found"), std::string::npos);
  unlink(file.c_str());
}

TEST(CredentialsTest, HalfSetEnvironmentIsAnError) {
  EnvGuard guard;
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  EXPECT_FALSE(ResolveCredentials("", "", true).ok());
}

}  // namespace
}  // namespace s3nbd
