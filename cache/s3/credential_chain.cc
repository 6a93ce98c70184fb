// The chain walk; see credential_chain.h.
#include "cache/s3/credential_chain.h"

#include "cache/s3/container_credential_provider.h"
#include "cache/s3/env_credential_provider.h"
#include "cache/s3/imds_credential_provider.h"
#include "cache/s3/profile_credential_provider.h"
#include "cache/s3/web_identity_credential_provider.h"

namespace s3nbd {
namespace {

Result<std::shared_ptr<RefreshingCredentials>> Hold(std::unique_ptr<CredentialProvider> p,
                                                    const WallClock& clock) {
  auto first = p->Fetch();
  if (!first.ok()) return first.status();
  return std::make_shared<RefreshingCredentials>(std::move(p), std::move(*first), clock);
}

Result<std::shared_ptr<RefreshingCredentials>> FromFile(const CredentialOptions& o,
                                                        const std::string& profile) {
  auto text = ReadTextFile(o.credentials_file, "credentials file");
  if (!text.ok()) return text.status();
  auto c = ParseCredentialsFile(*text, profile, o.credentials_file);
  if (!c.ok()) return c.status();
  return Hold(std::make_unique<StaticCredentialProvider>(
                  *c, "credentials file '" + o.credentials_file + "', profile '" + profile + "'"),
              o.clock);
}

}  // namespace

Result<std::shared_ptr<RefreshingCredentials>> OpenCredentials(const CredentialOptions& options) {
  CredentialOptions o = options;
  if (!o.env) o.env = ProcessEnvironment();
  const bool named_profile = !o.profile.empty() || !EnvOr(o.env, "AWS_PROFILE").empty();
  const std::string profile = !o.profile.empty() ? o.profile : EnvOr(o.env, "AWS_PROFILE", "default");
  if (!o.credentials_file.empty()) return FromFile(o, profile);

  // 1. environment (an explicit --profile / profile= skips it, as the AWS CLI's --profile does)
  if (o.profile.empty() && EnvCredentialProvider::Configured(o.env)) {
    return Hold(std::make_unique<EnvCredentialProvider>(o.env), o.clock);
  }
  // 2. profile
  auto files = LoadAwsConfigFiles(o.env);
  if (!files.ok()) return files.status();
  std::map<std::string, std::string> storage;
  if (files->Find(profile, &storage) == nullptr && named_profile) {
    return Status::Error(ENOENT, "credentials: profile '" + profile + "' is in neither " +
                                     files->config_path + " nor " + files->credentials_path);
  }
  auto p = ProviderForProfile(*files, profile, ProfileContext{o.env, o.region, o.ca_file});
  if (!p.ok()) return p.status();
  if (*p) return Hold(std::move(*p), o.clock);
  std::string tried = "environment, profile '" + profile + "'";
  // 3. web identity
  const std::string token_file = EnvOr(o.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  const std::string role_arn = EnvOr(o.env, "AWS_ROLE_ARN");
  if (!token_file.empty() && !role_arn.empty()) {
    AssumeRoleRequest req;
    req.role_arn = role_arn;
    req.session_name = EnvOr(o.env, "AWS_ROLE_SESSION_NAME", DefaultRoleSessionName());
    std::string region = EnvOr(o.env, "AWS_REGION", EnvOr(o.env, "AWS_DEFAULT_REGION"));
    StsTarget sts = StsTargetFor(EnvOr(o.env, "AWS_ENDPOINT_URL_STS"), region, o.ca_file);
    return Hold(std::make_unique<WebIdentityCredentialProvider>(sts, token_file, req), o.clock);
  }
  tried += ", web identity";
  // 4. container
  auto container = ContainerEndpointFrom(o.env);
  if (!container.ok()) return container.status();
  if (!container->url.empty()) {
    return Hold(std::make_unique<ContainerCredentialProvider>(*container, o.ca_file), o.clock);
  }
  tried += ", container";
  // 5. instance metadata
  if (std::string ep = ImdsCredentialProvider::EndpointFrom(o.env); !ep.empty()) {
    auto imds = std::make_unique<ImdsCredentialProvider>(ep, ImdsCredentialProvider::V1AllowedBy(o.env));
    auto first = imds->Fetch();
    if (first.ok()) {
      return std::make_shared<RefreshingCredentials>(std::move(imds), std::move(*first), o.clock);
    }
    tried += ", " + first.status().message();
  } else {
    tried += ", EC2 instance metadata (AWS_EC2_METADATA_DISABLED)";
  }
  if (o.allow_anonymous) {
    return std::make_shared<RefreshingCredentials>(
        std::make_unique<StaticCredentialProvider>(Credentials{}, "anonymous"), Credentials{},
        o.clock);
  }
  return Status::Error(EACCES, "no credentials found (tried " + tried +
                                   "); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or "
                                   "give a credentials file");
}

}  // namespace s3nbd
