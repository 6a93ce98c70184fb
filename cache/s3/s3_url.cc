// S3 URL building. Pure functions; no locking.
#include "cache/s3/s3_url.h"

namespace s3nbd {

Result<S3Endpoint> ParseEndpoint(const std::string& endpoint) {
  auto bad = [&](const std::string& why) {
    return Status::Error(EINVAL, "endpoint '" + endpoint + "': " + why +
                                     " (expected http://host[:port] or https://host[:port])");
  };
  S3Endpoint ep;
  size_t sep = endpoint.find("://");
  if (sep == std::string::npos) return bad("no scheme");
  ep.scheme = endpoint.substr(0, sep);
  if (ep.scheme != "http" && ep.scheme != "https") return bad("unsupported scheme");
  std::string rest = endpoint.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    ep.base_path = rest.substr(slash);
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  if (authority.empty()) return bad("no host");
  if (authority.find('@') != std::string::npos) return bad("user-info is not allowed");
  if (rest.find_first_of("?#") != std::string::npos) return bad("query or fragment not allowed");
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    ep.port = authority.substr(colon + 1);
    ep.host = authority.substr(0, colon);
    if (ep.port.empty() || ep.port.size() > 5 ||
        ep.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(ep.port) == 0 ||
        std::stoi(ep.port) > 65535) {
      return bad("bad port");
    }
  } else {
    ep.host = authority;
  }
  if (ep.host.empty()) return bad("no host");
  for (char c : ep.host) {
    if (c <= ' ' || c == '/' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      return bad("bad character in host");
    }
  }
  return ep;
}

Status ValidateBucketName(const std::string& bucket) {
  auto bad = [&](const std::string& why) {
    return Status::Error(EINVAL, "bucket '" + bucket + "': " + why);
  };
  if (bucket.size() < 3 || bucket.size() > 63) return bad("name must be 3-63 characters");
  for (char c : bucket) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return bad("name may hold only a-z, 0-9, '.', '-' (and '_' for legacy buckets)");
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return bad("name must start and end with a letter or digit");
  }
  return Status::Ok();
}

S3Target BuildTarget(const S3Endpoint& endpoint, const std::string& bucket, bool virtual_host,
                     const std::string& key, const QueryList& query) {
  S3Target t;
  std::string host = virtual_host ? bucket + "." + endpoint.host : endpoint.host;
  t.host = endpoint.port.empty() ? host : host + ":" + endpoint.port;
  std::string path = endpoint.base_path;
  if (!virtual_host) path += "/" + UriEncode(bucket, true);
  if (!key.empty() || path.empty()) path += "/" + UriEncode(key, false);
  t.canonical_uri = path;
  t.url = endpoint.scheme + "://" + t.host + path;
  std::string qs = CanonicalQueryString(query);
  if (!qs.empty()) t.url += "?" + qs;
  return t;
}

}  // namespace s3nbd
