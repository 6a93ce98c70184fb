// Tests of the S3 retry policy: which outcomes are retried, backoff bounds (full jitter,
// cap, Retry-After, budget) and the errno / hint an outcome maps to.
#include "cache/s3/retry_policy.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace s3nbd {
namespace {

AttemptOutcome Http(long status, std::string code = "") { return {0, status, std::move(code)}; }
AttemptOutcome Curl(int code) { return {code, 0, ""}; }

TEST(RetryPolicyTest, RetryableOutcomes) {
  for (long s : {500L, 502L, 503L, 504L}) EXPECT_TRUE(IsRetryable(Http(s))) << s;
  EXPECT_TRUE(IsRetryable(Http(503, "SlowDown")));
  EXPECT_TRUE(IsRetryable(Http(400, "RequestTimeout")));
  EXPECT_TRUE(IsRetryable(Http(200, "InternalError")));
  for (int c : {CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR, CURLE_SEND_ERROR,
                CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE}) {
    EXPECT_TRUE(IsRetryable(Curl(c))) << c;
  }
  for (long s : {400L, 403L, 404L, 409L, 412L, 501L}) EXPECT_FALSE(IsRetryable(Http(s))) << s;
  EXPECT_FALSE(IsRetryable(Http(403, "SignatureDoesNotMatch")));
  EXPECT_FALSE(IsRetryable(Curl(CURLE_SSL_CACERT_BADFILE)));
  EXPECT_FALSE(IsRetryable(Curl(CURLE_URL_MALFORMAT)));
}

TEST(RetryPolicyTest, BackoffIsJitteredExponentialAndCapped) {
  RetryPolicyConfig c;  // 50 ms start, 5 s cap, 60 s budget
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 1, 0, 0, 1.0), 0.05);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 2, 0, 0, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 4, 0, 0, 1.0), 0.4);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 8, 0, 0, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 1000, 0, 0, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 8, 0, 0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 8, 0, 0, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 0, 0, 0, 7.0), 0.05);  // clamped inputs
}

TEST(RetryPolicyTest, RetryAfterAndBudget) {
  RetryPolicyConfig c;
  c.budget_seconds = 10;
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 1, 0, 3, 0.5), 3.0);    // Retry-After wins
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 10, 0, 1, 1.0), 5.0);   // unless backoff is longer
  EXPECT_FALSE(NextRetryDelay(c, 1, 9, 3, 0.5).has_value());  // asks for more than is left
  EXPECT_DOUBLE_EQ(*NextRetryDelay(c, 10, 8, 0, 1.0), 2.0);   // last try at the budget's end
  EXPECT_FALSE(NextRetryDelay(c, 3, 10, 0, 0.5).has_value());
  EXPECT_FALSE(NextRetryDelay(c, 3, 11, 0, 0.5).has_value());
  c.budget_seconds = 0;
  EXPECT_FALSE(NextRetryDelay(c, 1, 0, 0, 0.5).has_value());
}

TEST(RetryPolicyTest, TotalSleepStaysWithinBudget) {
  RetryPolicyConfig c;
  c.budget_seconds = 7;
  double elapsed = 0;
  int attempts = 1;
  while (auto d = NextRetryDelay(c, attempts, elapsed, 0, 1.0)) {
    elapsed += *d + 0.01;  // each attempt takes 10 ms
    ++attempts;
    ASSERT_LT(attempts, 1000);
  }
  EXPECT_LE(elapsed, c.budget_seconds + 0.01);
  EXPECT_GT(attempts, 5);
}

TEST(RetryPolicyTest, ParseRetryAfter) {
  EXPECT_DOUBLE_EQ(ParseRetryAfter("3"), 3);
  EXPECT_DOUBLE_EQ(ParseRetryAfter(" 12\r\n"), 12);
  EXPECT_DOUBLE_EQ(ParseRetryAfter(""), 0);
  EXPECT_DOUBLE_EQ(ParseRetryAfter("-1"), 0);
  EXPECT_DOUBLE_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
  EXPECT_DOUBLE_EQ(ParseRetryAfter("99999999999"), 0);
}

TEST(RetryPolicyTest, ErrnoMapping) {
  EXPECT_EQ(ErrnoForOutcome(Http(403, "SignatureDoesNotMatch")), EACCES);
  EXPECT_EQ(ErrnoForOutcome(Http(404, "NoSuchBucket")), ENOENT);
  EXPECT_EQ(ErrnoForOutcome(Http(404, "NoSuchKey")), ENOENT);
  EXPECT_EQ(ErrnoForOutcome(Http(412, "PreconditionFailed")), EEXIST);
  EXPECT_EQ(ErrnoForOutcome(Http(400, "InvalidArgument")), EINVAL);
  EXPECT_EQ(ErrnoForOutcome(Http(403, "QuotaExceeded")), ENOSPC);
  EXPECT_EQ(ErrnoForOutcome(Http(503, "SlowDown")), EIO);
  EXPECT_EQ(ErrnoForOutcome(Curl(CURLE_COULDNT_CONNECT)), EHOSTUNREACH);
  EXPECT_EQ(ErrnoForOutcome(Curl(CURLE_OPERATION_TIMEDOUT)), ETIMEDOUT);
  EXPECT_EQ(ErrnoForOutcome(Curl(CURLE_RECV_ERROR)), EIO);
  EXPECT_EQ(HintForS3Code("SignatureDoesNotMatch"), "check the secret key");
  EXPECT_EQ(HintForS3Code("InvalidAccessKeyId"), "check the access key");
  EXPECT_EQ(HintForS3Code("RequestTimeTooSkewed"), "check the system clock");
  EXPECT_EQ(HintForS3Code("NoSuchKey"), "");
}

}  // namespace
}  // namespace s3nbd
