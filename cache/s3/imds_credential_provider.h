// The last source of the chain: EC2 instance metadata, IMDSv2 (a session token from
// PUT /latest/api/token, then the role name and its credentials with that token). IMDSv1 (no
// token) only when AWS_EC2_METADATA_V1_DISABLED=false is set explicitly and the token request
// answers 403/404/405 (the SDKs fall back by default; we do not). The endpoint is
// AWS_EC2_METADATA_SERVICE_ENDPOINT, else
// http://169.254.169.254 (or http://[fd00:ec2::254] with ..._ENDPOINT_MODE=IPv6).
// Locking: mu_ guards role_ and used_v1_ (annotated; Describe may run while another thread
// refreshes).
#pragma once

#include "cache/s3/credential_provider.h"
#include "cache/util/mutex.h"

namespace s3nbd {

class ImdsCredentialProvider final : public CredentialProvider {
 public:
  explicit ImdsCredentialProvider(std::string endpoint, bool allow_v1 = false,
                                  long timeout_ms = 1000, int attempts = 2)
      : endpoint_(std::move(endpoint)), allow_v1_(allow_v1), timeout_ms_(timeout_ms),
        attempts_(attempts) {}
  // The endpoint the environment selects; "" if AWS_EC2_METADATA_DISABLED=true.
  static std::string EndpointFrom(const EnvLookup& env);
  // True only for an explicit AWS_EC2_METADATA_V1_DISABLED=false.
  static bool V1AllowedBy(const EnvLookup& env);
  Result<Credentials> Fetch() override;
  std::string Describe() const override;

 private:
  const std::string endpoint_;
  const bool allow_v1_;
  const long timeout_ms_;
  const int attempts_;
  mutable Mutex mu_;
  std::string role_ GUARDED_BY(mu_);  // the role of the last successful Fetch
  bool used_v1_ GUARDED_BY(mu_) = false;
};

// Parses the JSON of /latest/meta-data/iam/security-credentials/ROLE and of the ECS container
// endpoint (same member names; "Code" must be "Success" when present). `what` prefixes errors.
Result<Credentials> ParseMetadataCredentials(const std::string& json, const std::string& what);

}  // namespace s3nbd
