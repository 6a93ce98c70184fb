// S3Transport: sends one logical S3 request (signed, over a pooled curl handle) and retries
// it per RetryPolicy until it succeeds, fails for good, or the time budget is spent.
// Thread-safe: Execute may run on many threads at once; each borrows its own curl handle,
// counters are relaxed atomics, the rest is immutable after construction.
#pragma once

#include <string>
#include <string_view>

#include "cache/s3/curl_handle_pool.h"
#include "cache/s3/retry_policy.h"
#include "cache/s3/s3_client.h"
#include "cache/s3/s3_url.h"
#include "cache/s3/sigv4.h"

namespace s3nbd {

struct S3Request {
  std::string method;      // GET PUT POST DELETE HEAD
  std::string key;         // empty: a bucket-level request
  QueryList query;
  std::string_view body;   // must outlive Execute; re-sent from the start on each attempt
  HeaderList headers;      // extra headers; all are signed
  S3Deadline deadline = {};  // none by default (see S3Deadline)
};

struct S3Response {
  long http_status = 0;    // 0 if no HTTP response arrived
  int curl_code = 0;
  std::string curl_error;
  long tls_verify_result = 0;  // CURLINFO_SSL_VERIFYRESULT of a failed https attempt
  std::string body;
  std::string etag;
  std::string date;        // the Date header (RFC 7231), "" if none
  std::string content_range;  // the Content-Range header of a ranged answer, "" if none
  std::string s3_code;     // from an <Error> body
  std::string s3_message;
  double retry_after = 0;
  bool abandoned = false;  // stopped by the request's deadline (the fields tell the last attempt)
  std::string abandon_cause;
  int attempts = 0;
  double elapsed_seconds = 0;
  bool ok() const { return curl_code == 0 && http_status >= 200 && http_status < 300; }
};

class S3Transport {
 public:
  S3Transport(const S3Config& config, S3Endpoint endpoint, S3Counters* counters);

  // Runs the request with retries; fills *response with the last attempt. The memory of
  // response->body on entry is reused for the received body. Never fails on its
  // own: the caller looks at response->ok() and builds the error with Describe().
  void Execute(const S3Request& request, S3Response* response);

  // The error for a failed response, e.g. with operation "PUT bucket/key":
  // "PUT bucket/key: HTTP 503 SlowDown: <message> (gave up after N attempts in X s)".
  // final: the call gave up (adds "gave up after N attempts"); otherwise a retry follows.
  Status Describe(const std::string& operation, const S3Response& response, bool final = true) const;

  std::string Label(const std::string& key) const;  // "bucket/key" or "bucket"

 private:
  std::string AttemptMessage(const S3Response& response) const;
  void Attempt(const S3Request& request, const std::string& payload_hash, long timeout_ms,
               S3Response* response);

  const S3Config& config_;
  const S3Endpoint endpoint_;
  S3Counters* const counters_;
  RetryPolicyConfig retry_;
  CurlHandlePool pool_;
};

}  // namespace s3nbd
