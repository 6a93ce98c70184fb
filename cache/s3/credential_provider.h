// CredentialProvider: one source of AWS credentials (environment, profile, web identity,
// container, instance metadata, ...). Fetch() asks the source once; RefreshingCredentials
// decides when. Implementations are called by one thread at a time (the holder's refresh
// lock), so they need no locking of their own. Messages never contain a secret.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/s3/credentials.h"
#include "cache/util/status.h"

namespace s3nbd {

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // The current credentials (with an expiration for temporary ones), or why not.
  [[nodiscard]] virtual Result<Credentials> Fetch() = 0;
  // What the source is, for `s3nbd info --show-credential-source` and messages:
  // "environment", "profile 'dev' (credential_process)", ... Never a secret.
  virtual std::string Describe() const = 0;
};

// The process environment as the providers see it: name -> value, nullopt when unset.
// Tests inject a map; production reads getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();
// The value, or "" when unset.
std::string EnvOr(const EnvLookup& env, const std::string& name, const std::string& fallback = "");

// Keys that never change (an explicit credentials file, or S3Config::credentials).
class StaticCredentialProvider final : public CredentialProvider {
 public:
  StaticCredentialProvider(Credentials credentials, std::string description)
      : credentials_(std::move(credentials)), description_(std::move(description)) {}
  Result<Credentials> Fetch() override { return credentials_; }
  std::string Describe() const override { return description_; }

 private:
  const Credentials credentials_;
  const std::string description_;
};

}  // namespace s3nbd
