// Retry policy for S3 requests. Pure functions; no locking.
#include "cache/s3/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

namespace s3nbd {

bool IsRetryable(const AttemptOutcome& o) {
  if (o.curl_code != 0) {
    switch (o.curl_code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return true;
      default:
        return false;
    }
  }
  if (o.s3_code == "SlowDown" || o.s3_code == "InternalError" || o.s3_code == "RequestTimeout" ||
      o.s3_code == "ServiceUnavailable" || o.s3_code == "Throttling") {
    return true;
  }
  return o.http_status == 500 || o.http_status == 502 || o.http_status == 503 ||
         o.http_status == 504 || o.http_status == 429;
}

std::optional<double> NextRetryDelay(const RetryPolicyConfig& config, int attempt,
                                     double elapsed_seconds, double retry_after_seconds,
                                     double uniform01) {
  const double u = std::clamp(uniform01, 0.0, 1.0);
  const int shift = std::clamp(attempt - 1, 0, 30);
  const double ceiling = std::min(config.max_delay_seconds, config.initial_seconds * std::ldexp(1.0, shift));
  double delay = u * ceiling;
  const double remaining = config.budget_seconds - elapsed_seconds;
  if (remaining <= 0) return std::nullopt;
  if (retry_after_seconds > 0) {
    if (retry_after_seconds > remaining) return std::nullopt;  // the server asked for longer
    delay = std::max(delay, retry_after_seconds);
  }
  // The last attempt goes out when the budget ends rather than giving the rest away.
  return std::min(delay, remaining);
}

double ParseRetryAfter(const std::string& value) {
  size_t b = value.find_first_not_of(" \t");
  if (b == std::string::npos) return 0;
  size_t e = value.find_last_not_of(" \t\r\n");
  std::string v = value.substr(b, e - b + 1);
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stod(v);
}

int ErrnoForOutcome(const AttemptOutcome& o) {
  if (o.curl_code != 0) {
    switch (o.curl_code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return EHOSTUNREACH;
      case CURLE_OPERATION_TIMEDOUT:
        return ETIMEDOUT;
      default:
        return EIO;
    }
  }
  if (o.s3_code == "NoSuchKey" || o.s3_code == "NoSuchBucket") return ENOENT;
  if (o.s3_code == "QuotaExceeded" || o.s3_code == "EntityTooLarge") return ENOSPC;
  switch (o.http_status) {
    case 400: return EINVAL;
    case 401:
    case 403: return EACCES;
    case 404: return ENOENT;
    case 409: return EEXIST;
    case 412: return EEXIST;
    case 507: return ENOSPC;
    default: return EIO;
  }
}

std::string HintForS3Code(const std::string& c) {
  if (c == "SignatureDoesNotMatch") return "check the secret key";
  if (c == "InvalidAccessKeyId") return "check the access key";
  if (c == "RequestTimeTooSkewed") return "check the system clock";
  if (c == "AccessDenied") return "check the credentials and the bucket policy";
  if (c == "AuthorizationHeaderMalformed") return "check the region";
  if (c == "PermanentRedirect") return "the bucket is in another region or at another endpoint";
  return "";
}

}  // namespace s3nbd
