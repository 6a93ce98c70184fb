// Environment credentials and the process environment lookup; see env_credential_provider.h.
#include "cache/s3/env_credential_provider.h"

#include <cstdlib>

namespace s3nbd {

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string EnvOr(const EnvLookup& env, const std::string& name, const std::string& fallback) {
  std::optional<std::string> v = env(name);
  return v && !v->empty() ? *v : fallback;
}

bool EnvCredentialProvider::Configured(const EnvLookup& env) {
  return !EnvOr(env, "AWS_ACCESS_KEY_ID").empty() || !EnvOr(env, "AWS_SECRET_ACCESS_KEY").empty();
}

Result<Credentials> EnvCredentialProvider::Fetch() {
  Credentials c;
  c.access_key = EnvOr(env_, "AWS_ACCESS_KEY_ID");
  c.secret_key = EnvOr(env_, "AWS_SECRET_ACCESS_KEY");
  c.session_token = EnvOr(env_, "AWS_SESSION_TOKEN");
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Status::Error(EINVAL,
                         "credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
  }
  return c;
}

}  // namespace s3nbd
