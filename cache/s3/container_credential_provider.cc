// Container credentials; see container_credential_provider.h.
#include "cache/s3/container_credential_provider.h"

#include "cache/s3/credential_http.h"
#include "cache/s3/imds_credential_provider.h"

namespace s3nbd {
namespace {

constexpr char kEcsHost[] = "http://169.254.170.2";

// "http://HOST:port/..." -> HOST (brackets kept for IPv6); "" if not a URL.
std::string HostOf(const std::string& url, std::string* scheme) {
  size_t s = url.find("://");
  if (s == std::string::npos) return "";
  *scheme = url.substr(0, s);
  std::string rest = url.substr(s + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest[0] == '[') return rest.substr(0, rest.find(']') + 1);
  return rest.substr(0, rest.find(':'));
}

bool AllowedHttpHost(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" ||
         host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

}  // namespace

Result<ContainerEndpoint> ContainerEndpointFrom(const EnvLookup& env) {
  ContainerEndpoint ep;
  ep.token = EnvOr(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  ep.token_file = EnvOr(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (std::string rel = EnvOr(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
    ep.url = kEcsHost + (rel[0] == '/' ? rel : "/" + rel);
    return ep;
  }
  std::string full = EnvOr(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (full.empty()) return ep;
  std::string scheme;
  std::string host = HostOf(full, &scheme);
  if (host.empty() || (scheme != "https" && !(scheme == "http" && AllowedHttpHost(host)))) {
    return Status::Error(EINVAL, "AWS_CONTAINER_CREDENTIALS_FULL_URI '" + UrlForMessages(full) +
                                     "': must be https, or http to a loopback address or the "
                                     "ECS/EKS agent (169.254.170.2, 169.254.170.23)");
  }
  ep.url = full;
  return ep;
}

std::string ContainerCredentialProvider::Describe() const {
  return "container credentials at " + UrlForMessages(endpoint_.url);
}

Result<Credentials> ContainerCredentialProvider::Fetch() {
  const std::string what = "container credentials at " + UrlForMessages(endpoint_.url);
  HttpExchange x;
  x.url = endpoint_.url;
  x.ca_file = ca_file_;
  x.connect_timeout_ms = 2000;
  x.timeout_ms = 5000;
  std::string token = endpoint_.token;
  if (!endpoint_.token_file.empty()) {
    auto t = ReadTextFile(endpoint_.token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!t.ok()) return t.status().Wrap(what);
    token = *t;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Status::Error(EINVAL, what + ": the authorization token holds a line break");
  }
  if (!token.empty()) x.headers.emplace_back("Authorization", token);
  auto reply = HttpCall(x);
  if (!reply.ok()) return reply.status().Wrap(what);
  if (reply->status != 200) {
    return Status::Error(EACCES, what + ": answered HTTP " + std::to_string(reply->status));
  }
  return ParseMetadataCredentials(reply->body, what);
}

}  // namespace s3nbd
