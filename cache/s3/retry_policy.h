// Retry decisions and backoff for S3 requests: which outcomes are worth another attempt,
// how long to wait (exponential backoff with full jitter, honouring Retry-After), and when
// the time budget is spent; plus the errno an outcome maps to. Pure; no locking.
#pragma once

#include <optional>
#include <string>

namespace s3nbd {

// What one HTTP attempt produced.
struct AttemptOutcome {
  int curl_code = 0;         // CURLcode; 0 = an HTTP response arrived
  long http_status = 0;
  std::string s3_code;       // <Code> of an error body, if any
};

struct RetryPolicyConfig {
  double initial_seconds = 0.05;
  double max_delay_seconds = 5.0;
  double budget_seconds = 60;  // total time allowed for all attempts of one call
};

// True for throttling / server errors / connection failures that another attempt may fix.
bool IsRetryable(const AttemptOutcome& outcome);

// Delay before attempt number `attempt + 1` (attempt counts from 1 = the first try).
// Full jitter: uniform01 * min(max_delay, initial * 2^(attempt-1)), then at least
// retry_after_seconds (when > 0), then at most what is left of the budget. Returns nullopt
// (give up now) when the budget is spent or Retry-After asks for more than is left.
std::optional<double> NextRetryDelay(const RetryPolicyConfig& config, int attempt,
                                     double elapsed_seconds, double retry_after_seconds,
                                     double uniform01);

// Retry-After header value in seconds (delta-seconds form only); 0 if absent or unparsable.
double ParseRetryAfter(const std::string& value);

// errno for a final failed outcome: 403 EACCES, 404 ENOENT, 412 EEXIST, 400 EINVAL,
// 507/quota ENOSPC, connect/resolve failures EHOSTUNREACH, timeouts ETIMEDOUT, others EIO.
int ErrnoForOutcome(const AttemptOutcome& outcome);

// A short hint for an S3 error code users can act on ("check the secret key"), or "".
std::string HintForS3Code(const std::string& s3_code);

}  // namespace s3nbd
