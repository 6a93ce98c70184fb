// Tests of how S3Client signs with a RefreshingCredentials: a session token goes out as a
// signed x-amz-security-token, every request asks the holder (so a refresh takes effect at
// the next request), and expired credentials that cannot be refreshed fail the request with
// the holder's message instead of sending it unsigned.
#include <gtest/gtest.h>

#include "cache/s3/s3_client.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

using std::chrono::seconds;

class SteppingProvider : public CredentialProvider {
 public:
  explicit SteppingProvider(WallTime* now) : now_(now) {}
  Result<Credentials> Fetch() override {
    if (fail) return Status::Error(EHOSTUNREACH, "metadata down");
    ++n;
    return Credentials{"ASIA" + std::to_string(n), "secret" + std::to_string(n),
                       "token" + std::to_string(n), *now_ + seconds(100)};
  }
  std::string Describe() const override { return "stepping"; }
  int n = 0;
  bool fail = false;

 private:
  WallTime* now_;
};

TEST(S3ClientCredentialsTest, SessionTokenIsSignedAndRefreshed) {
  FakeS3Server server(std::vector<FakeResponse>{{200, "", ""}});
  WallTime now = std::chrono::system_clock::now();
  auto provider = std::make_unique<SteppingProvider>(&now);
  SteppingProvider* raw = provider.get();
  auto first = raw->Fetch();
  ASSERT_TRUE(first.ok());
  auto holder = std::make_shared<RefreshingCredentials>(std::move(provider), *first,
                                                        [&now] { return now; });
  S3Config c;
  c.endpoint = server.endpoint();
  c.bucket = "bkt";
  c.credential_source = holder;
  c.retry_seconds = 0;
  auto client = S3Client::Create(c);
  ASSERT_TRUE(client.ok()) << client.status().message();
  ASSERT_TRUE((*client)->Put("k", "v").ok());
  now += seconds(60);  // inside the window (the last 50 s): the next request refreshes
  ASSERT_TRUE((*client)->Put("k", "v").ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].head.find("x-amz-security-token: token1\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].head.find("Credential=ASIA1/"), std::string::npos);
  EXPECT_NE(reqs[0].head.find(";x-amz-security-token, Signature="), std::string::npos);
  EXPECT_NE(reqs[1].head.find("x-amz-security-token: token2\r\n"), std::string::npos);
  EXPECT_NE(reqs[1].head.find("Credential=ASIA2/"), std::string::npos);
  EXPECT_EQ(reqs[1].head.find("secret"), std::string::npos);

  raw->fail = true;
  now += seconds(200);  // expired, and the source is down
  Status s = (*client)->Put("k", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("PUT bkt/k: credentials from stepping expired at"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("metadata down"), std::string::npos);
  EXPECT_EQ(s.message().find("cannot reach"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 2u);  // nothing was sent
}

TEST(S3ClientCredentialsTest, StaticCredentialsGetAHolder) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:1";
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", "", {}};
  auto client = S3Client::Create(c);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->config().credential_source);
  EXPECT_EQ((*client)->config().credential_source->source(), "static keys");
}

}  // namespace
}  // namespace s3nbd
