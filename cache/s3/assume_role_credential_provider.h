// A profile's role_arn: credentials of the source (source_profile's keys, credential_process or
// role, or credential_source = Environment / Ec2InstanceMetadata / EcsContainer) sign an STS
// AssumeRole of the role. The source is asked again at every Fetch (it may be temporary too).
// Owns its source; Fetch is called by one thread at a time.
#pragma once

#include <memory>

#include "cache/s3/credential_provider.h"
#include "cache/s3/sts_client.h"

namespace s3nbd {

class AssumeRoleCredentialProvider final : public CredentialProvider {
 public:
  AssumeRoleCredentialProvider(std::string profile, StsTarget sts, AssumeRoleRequest request,
                               std::unique_ptr<CredentialProvider> source)
      : profile_(std::move(profile)),
        sts_(std::move(sts)),
        request_(std::move(request)),
        source_(std::move(source)) {}
  Result<Credentials> Fetch() override {
    auto src = source_->Fetch();
    if (!src.ok()) return src.status().Wrap("profile '" + profile_ + "': role source");
    return StsAssumeRole(sts_, *src, request_);
  }
  std::string Describe() const override {
    return "profile '" + profile_ + "' (assume role " + request_.role_arn + " via " +
           sts_.endpoint + ", source: " + source_->Describe() + ")";
  }

 private:
  const std::string profile_;
  const StsTarget sts_;
  const AssumeRoleRequest request_;
  const std::unique_ptr<CredentialProvider> source_;
};

}  // namespace s3nbd
