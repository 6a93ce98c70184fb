// Tests of the credential file formats: INI profiles of ~/.aws/config and ~/.aws/credentials,
// static keys of one profile, ISO 8601 expirations.
#include "cache/s3/credentials.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

constexpr char kIni[] =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key=secretdefault \n"
    "\n"
    "[profile other]\n"
    "AWS_Access_Key_Id=AKIAOTHER\n"
    "aws_secret_access_key = secret=with=equals\n"
    "aws_session_token = tok\n"
    "s3 =\n"
    "  max_concurrent_requests = 20\n"
    "[broken]\n"
    "aws_access_key_id=AKIABROKEN\n"
    "[sso-session corp]\n"
    "sso_region = eu-west-1\n"
    "[empty]\n";

TEST(CredentialsTest, ParsesProfiles) {
  Result<Credentials> d = ParseCredentialsFile(kIni, "default", "f");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->access_key, "AKIADEFAULT");
  EXPECT_EQ(d->secret_key, "secretdefault");
  EXPECT_TRUE(d->session_token.empty());
  EXPECT_FALSE(d->expiration);
  Result<Credentials> o = ParseCredentialsFile(kIni, "other", "f");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->access_key, "AKIAOTHER");
  EXPECT_EQ(o->secret_key, "secret=with=equals");
  EXPECT_EQ(o->session_token, "tok");
}

TEST(CredentialsTest, IniKeepsSectionsAndSkipsNestedSettings) {
  Result<IniProfiles> ini = ParseIni(kIni, "f");
  ASSERT_TRUE(ini.ok());
  EXPECT_EQ(ini->count("other"), 1u);
  EXPECT_EQ(ini->at("other").count("max_concurrent_requests"), 0u);
  EXPECT_EQ(ini->at("other").at("s3"), "");
  EXPECT_EQ(ini->count("sso-session corp"), 1u);
  EXPECT_EQ(ini->count("empty"), 1u);
  EXPECT_TRUE(ini->at("empty").empty());
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

TEST(CredentialsTest, Iso8601) {
  Result<WallTime> t = ParseIso8601("2026-12-01T20:15:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1796156100);
  EXPECT_EQ(FormatIso8601(*t), "2026-12-01T20:15:00Z");
  Result<WallTime> frac = ParseIso8601("2026-12-01T20:15:00.123Z");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(*frac, *t);
  Result<WallTime> off = ParseIso8601("2026-12-01T21:15:00+01:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, *t);
  EXPECT_FALSE(ParseIso8601("").ok());
  EXPECT_FALSE(ParseIso8601("tomorrow").ok());
  EXPECT_FALSE(ParseIso8601("2026-12-01T20:15:00Zjunk").ok());
  EXPECT_FALSE(ParseIso8601("4052-12-01T20:15:00Z").ok());  // beyond system_clock (fuzzer find)
  EXPECT_FALSE(ParseIso8601("1900-01-01T00:00:00Z").ok());
}

}  // namespace
}  // namespace s3nbd
