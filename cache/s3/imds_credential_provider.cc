// IMDSv2 credentials; see imds_credential_provider.h.
#include "cache/s3/imds_credential_provider.h"

#include <cctype>

#include "cache/s3/credential_http.h"
#include "cache/s3/flat_json.h"

namespace s3nbd {
namespace {

constexpr char kTokenTtlSeconds[] = "21600";
constexpr char kCredentialsPath[] = "/latest/meta-data/iam/security-credentials/";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<Credentials> ParseMetadataCredentials(const std::string& json, const std::string& what) {
  auto doc = ParseFlatJson(json);
  if (!doc.ok()) return Status::Error(EPROTO, what + ": answer is not a JSON object");
  auto get = [&](const char* k) {
    auto it = doc->find(k);
    return it == doc->end() ? std::string() : it->second;
  };
  if (std::string code = get("Code"); !code.empty() && code != "Success") {
    return Status::Error(EACCES, what + ": answered Code '" + code + "': " + get("Message"));
  }
  Credentials c;
  c.access_key = get("AccessKeyId");
  c.secret_key = get("SecretAccessKey");
  c.session_token = get("Token");
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Status::Error(EPROTO, what + ": answer lacks AccessKeyId or SecretAccessKey");
  }
  if (std::string e = get("Expiration"); !e.empty()) {
    auto t = ParseIso8601(e);
    if (!t.ok()) return t.status().Wrap(what);
    c.expiration = *t;
  }
  return c;
}

std::string ImdsCredentialProvider::EndpointFrom(const EnvLookup& env) {
  if (Lower(EnvOr(env, "AWS_EC2_METADATA_DISABLED")) == "true") return "";
  std::string ep = EnvOr(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (ep.empty()) {
    ep = Lower(EnvOr(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) == "ipv6"
             ? "http://[fd00:ec2::254]"
             : "http://169.254.169.254";
  }
  while (!ep.empty() && ep.back() == '/') ep.pop_back();
  return ep;
}

bool ImdsCredentialProvider::V1AllowedBy(const EnvLookup& env) {
  return Lower(EnvOr(env, "AWS_EC2_METADATA_V1_DISABLED")) == "false";
}

std::string ImdsCredentialProvider::Describe() const {
  MutexLock lock(&mu_);
  return std::string("EC2 instance metadata (") + (used_v1_ ? "IMDSv1" : "IMDSv2") + ") at " +
         endpoint_ +
         (role_.empty() ? std::string() : ", role '" + role_ + "'");
}

Result<Credentials> ImdsCredentialProvider::Fetch() {
  const std::string what = "EC2 instance metadata at " + endpoint_;
  HttpExchange x;
  x.connect_timeout_ms = timeout_ms_;
  x.timeout_ms = timeout_ms_ * 2;
  x.attempts = attempts_;
  x.method = "PUT";
  x.url = endpoint_ + "/latest/api/token";
  x.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", kTokenTtlSeconds}};
  auto token = HttpCall(x);
  if (!token.ok()) return token.status().Wrap(what + ": IMDSv2 token");
  const bool got_token = token->status == 200 && !token->body.empty();
  // The SDKs fall back to IMDSv1 only after 403, 404 or 405 (a service without IMDSv2).
  const bool v1 = !got_token && (token->status == 403 || token->status == 404 || token->status == 405);
  if (!got_token && (!v1 || !allow_v1_)) {
    return Status::Error(EACCES, what + ": IMDSv2 token request answered HTTP " +
                                     std::to_string(token->status) +
                                     " (IMDSv1 without a token is not used unless "
                                     "AWS_EC2_METADATA_V1_DISABLED=false)");
  }
  x.method = "GET";
  x.url = endpoint_ + kCredentialsPath;
  x.headers.clear();
  if (!v1) x.headers.emplace_back("X-aws-ec2-metadata-token", token->body);
  auto roles = HttpCall(x);
  if (!roles.ok()) return roles.status().Wrap(what);
  if (roles->status == 404) {
    return Status::Error(ENOENT, what + ": no IAM role is attached to this instance");
  }
  if (roles->status != 200) {
    return Status::Error(EACCES, what + ": role list answered HTTP " + std::to_string(roles->status));
  }
  std::string role = roles->body.substr(0, roles->body.find_first_of("\r\n"));
  if (role.empty() || role.find_first_of("/?#") != std::string::npos) {
    return Status::Error(EPROTO, what + ": no usable role name in the role list");
  }
  x.url = endpoint_ + kCredentialsPath + role;
  auto creds = HttpCall(x);
  if (!creds.ok()) return creds.status().Wrap(what);
  const std::string role_what = what + ", role '" + role + "'";
  if (creds->status != 200) {
    return Status::Error(EACCES, role_what + ": answered HTTP " + std::to_string(creds->status));
  }
  auto c = ParseMetadataCredentials(creds->body, role_what);
  if (c.ok()) {
    MutexLock lock(&mu_);
    role_ = role;
    used_v1_ = v1;
  }
  return c;
}

}  // namespace s3nbd
