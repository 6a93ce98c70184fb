// AWS Signature Version 4 (header-based auth) on OpenSSL: canonical request, string to sign,
// signing key and Authorization header, plus the hashing/encoding helpers S3 needs
// (SHA-256 hex, Content-MD5, RFC 3986 URI encoding). Pure functions; no state, no locking.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/s3/credentials.h"

namespace s3nbd {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// SHA-256 of the empty string, hex: the payload hash of requests without a body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
std::string Md5Base64(std::string_view data);  // the Content-MD5 header value

// RFC 3986 percent-encoding: unreserved (A-Z a-z 0-9 - . _ ~) pass, everything else is
// %XX (upper-case hex). With encode_slash=false, '/' also passes (for paths).
std::string UriEncode(std::string_view s, bool encode_slash);
// Encodes each name and value, sorts by encoded name then value, joins with '&'. An empty
// value still gets its '=' ("delete=").
std::string CanonicalQueryString(const QueryList& query);

// "20150830T123600Z" for a UTC time.
std::string AmzDate(std::time_t t);

struct SigV4Request {
  std::string method;         // "GET"
  std::string canonical_uri;  // already URI-encoded path, e.g. "/bucket/a%20b"; never re-encoded
  QueryList query;            // raw (not encoded) names and values
  HeaderList headers;         // every header to sign, as sent (must include Host, X-Amz-Date)
  std::string payload_hash;   // hex SHA-256 of the body (or "UNSIGNED-PAYLOAD")
  std::string region;
  std::string service;        // "s3"
  std::string amz_date;       // "20150830T123600Z"; its first 8 chars are the scope date
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

SigV4Result SignV4(const SigV4Request& request, const Credentials& credentials);

}  // namespace s3nbd
