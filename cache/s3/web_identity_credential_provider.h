// Web identity (EKS IRSA): the OIDC token in AWS_WEB_IDENTITY_TOKEN_FILE (re-read at every Fetch:
// the kubelet rotates it) is exchanged for role credentials with an unsigned STS
// AssumeRoleWithWebIdentity of AWS_ROLE_ARN [AWS_ROLE_SESSION_NAME]. Also used by a profile's
// web_identity_token_file + role_arn. Immutable after construction; no locking.
#pragma once

#include "cache/s3/credential_provider.h"
#include "cache/s3/sts_client.h"

namespace s3nbd {

class WebIdentityCredentialProvider final : public CredentialProvider {
 public:
  WebIdentityCredentialProvider(StsTarget sts, std::string token_file, AssumeRoleRequest request)
      : sts_(std::move(sts)), token_file_(std::move(token_file)), request_(std::move(request)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override {
    return "web identity (role " + request_.role_arn + " via " + sts_.endpoint + ")";
  }

 private:
  const StsTarget sts_;
  const std::string token_file_;
  const AssumeRoleRequest request_;
};

// A role session name for sessions the user did not name: "s3nbd-<unix seconds>".
std::string DefaultRoleSessionName();

}  // namespace s3nbd
