// The first source of the chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional
// AWS_SESSION_TOKEN. Read at every Fetch; no state, no locking.
#pragma once

#include "cache/s3/credential_provider.h"

namespace s3nbd {

class EnvCredentialProvider final : public CredentialProvider {
 public:
  explicit EnvCredentialProvider(EnvLookup env) : env_(std::move(env)) {}
  // True if either key variable is set (a half-set pair is then an error from Fetch).
  static bool Configured(const EnvLookup& env);
  Result<Credentials> Fetch() override;
  std::string Describe() const override { return "environment"; }

 private:
  EnvLookup env_;
};

}  // namespace s3nbd
