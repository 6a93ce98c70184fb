// The two STS calls of the chain: AssumeRole (signed SigV4 with the source profile's keys, for
// role_arn + source_profile) and AssumeRoleWithWebIdentity (unsigned, with an OIDC token, as
// EKS IRSA does). Form-encoded POST, XML answer. Stateless; safe from any thread.
#pragma once

#include <string>

#include "cache/s3/credentials.h"
#include "cache/util/status.h"

namespace s3nbd {

struct StsTarget {
  std::string endpoint;  // "https://sts.eu-west-1.amazonaws.com", "http://127.0.0.1:9480"
  std::string region;    // signing region (AssumeRole)
  std::string ca_file;
};

// The endpoint: `override_url` (AWS_ENDPOINT_URL_STS or a profile's sts_endpoint) if set, else
// the regional https://sts.REGION.amazonaws.com, else the global https://sts.amazonaws.com.
StsTarget StsTargetFor(const std::string& override_url, const std::string& region,
                       const std::string& ca_file);

struct AssumeRoleRequest {
  std::string role_arn;
  std::string session_name;
  int duration_seconds = 3600;  // 0: the role's default
  std::string external_id;      // optional
};

Result<Credentials> StsAssumeRole(const StsTarget& target, const Credentials& source,
                                  const AssumeRoleRequest& request);
Result<Credentials> StsAssumeRoleWithWebIdentity(const StsTarget& target,
                                                 const AssumeRoleRequest& request,
                                                 const std::string& web_identity_token);

// The <Credentials> of an AssumeRole* answer, or the <Error> it holds (exposed for tests).
Result<Credentials> ParseStsResponse(const std::string& xml, long http_status,
                                     const std::string& what);

}  // namespace s3nbd
