// CredentialHttp: the plain HTTP exchanges of credential sources (EC2 instance metadata, ECS
// container endpoint, STS), on a fresh libcurl handle per call with short timeouts and a
// few retries of transport errors and 5xx (not of certificate failures, which do not heal).
// Stateless; safe from any thread.
#pragma once

#include <string>

#include "cache/s3/sigv4.h"
#include "cache/util/status.h"

namespace s3nbd {

struct HttpExchange {
  std::string method = "GET";  // GET PUT POST
  std::string url;
  HeaderList headers;
  std::string body;
  std::string ca_file;          // empty: system CA store
  long connect_timeout_ms = 1000;
  long timeout_ms = 5000;
  int attempts = 3;             // transport errors and 5xx are retried
};

struct HttpReply {
  long status = 0;
  std::string body;
};

// An HTTP reply of any status, or EHOSTUNREACH/ETIMEDOUT/EIO when none arrived after the
// attempts ("GET URL: cause"). The URL in messages has no query string (it may hold a token).
Result<HttpReply> HttpCall(const HttpExchange& exchange);

// "http://host:port/path?query" -> "http://host:port/path", for messages.
std::string UrlForMessages(const std::string& url);

}  // namespace s3nbd
