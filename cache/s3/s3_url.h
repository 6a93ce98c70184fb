// Endpoint parsing and request addressing for S3: path-style (http://host:port/bucket/key) or
// virtual-host (http://bucket.host:port/key), with keys URI-encoded once per segment so the
// URL curl sends and the SigV4 canonical URI are the same string. Pure; no locking.
#pragma once

#include <string>

#include "cache/s3/sigv4.h"
#include "cache/util/status.h"

namespace s3nbd {

struct S3Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // "127.0.0.1", "s3.eu-west-1.amazonaws.com", "[::1]"
  std::string port;       // "" when absent
  std::string base_path;  // "" or "/prefix" (an S3 behind a reverse-proxy path), no trailing '/'
};

// Accepts "scheme://host[:port][/path]". Anything else (no scheme, user-info, query) is EINVAL.
Result<S3Endpoint> ParseEndpoint(const std::string& endpoint);

// Checks a bucket name against S3's rules (3-63 chars of a-z 0-9 . -, starting and ending
// with a letter or digit). Virtual-host addressing also rejects '.' with https (certificates).
Status ValidateBucketName(const std::string& bucket);

struct S3Target {
  std::string url;            // what curl fetches, including the query string
  std::string host;           // the Host header value (with ":port" when given)
  std::string canonical_uri;  // the encoded path, also the path of `url`
};

// key empty: a bucket-level request ("/bucket" path-style, "/" virtual-host).
S3Target BuildTarget(const S3Endpoint& endpoint, const std::string& bucket, bool virtual_host,
                     const std::string& key, const QueryList& query);

}  // namespace s3nbd
