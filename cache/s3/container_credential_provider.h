// ECS/EKS container credentials: GET http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
// or GET $AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback or the ECS/EKS
// link-local addresses only) with "Authorization: " the contents of
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read at every Fetch) or AWS_CONTAINER_AUTHORIZATION_TOKEN.
// Immutable after construction; no locking.
#pragma once

#include "cache/s3/credential_provider.h"

namespace s3nbd {

struct ContainerEndpoint {
  std::string url;         // empty: the container source is not configured
  std::string token;       // static authorization token, or
  std::string token_file;  // a file holding it (wins over token)
};

// Reads the container variables. A FULL_URI with a host that is not allowed is EINVAL.
Result<ContainerEndpoint> ContainerEndpointFrom(const EnvLookup& env);

class ContainerCredentialProvider final : public CredentialProvider {
 public:
  explicit ContainerCredentialProvider(ContainerEndpoint endpoint, std::string ca_file = "")
      : endpoint_(std::move(endpoint)), ca_file_(std::move(ca_file)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override;

 private:
  const ContainerEndpoint endpoint_;
  const std::string ca_file_;
};

}  // namespace s3nbd
