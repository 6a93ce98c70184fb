// Tests of the credential sources' HTTP helper against a loopback server: 5xx is retried,
// 4xx is an answer, no answer is an error naming the URL without its query string.
#include "cache/s3/credential_http.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

TEST(CredentialHttpTest, RetriesServerErrorsOnly) {
  FakeS3Server server(std::vector<FakeResponse>{{503, "busy", ""}, {200, "fine", ""}});
  HttpExchange x;
  x.url = server.endpoint() + "/path";
  x.headers = {{"X-Test", "1"}};
  auto r = HttpCall(x);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "fine");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].head.find("X-Test: 1"), std::string::npos);

  FakeS3Server denied(std::vector<FakeResponse>{{403, "no", ""}});
  x.url = denied.endpoint() + "/";
  r = HttpCall(x);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(denied.requests().size(), 1u);

  FakeS3Server down(std::vector<FakeResponse>{{500, "", ""}});
  x.url = down.endpoint() + "/";
  r = HttpCall(x);  // the last 5xx is returned for the caller to describe
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(down.requests().size(), 3u);
}

TEST(CredentialHttpTest, NoAnswerNamesTheUrlWithoutItsQuery) {
  FakeS3Server* gone = new FakeS3Server(std::vector<FakeResponse>{{200, "", ""}});
  std::string ep = gone->endpoint();
  delete gone;
  HttpExchange x;
  x.url = ep + "/creds?token=secret";
  x.attempts = 1;
  auto r = HttpCall(x);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EHOSTUNREACH);
  EXPECT_NE(r.status().message().find("GET " + ep + "/creds: "), std::string::npos);
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
  EXPECT_EQ(UrlForMessages("http://h/p?q"), "http://h/p");
}

}  // namespace
}  // namespace s3nbd
