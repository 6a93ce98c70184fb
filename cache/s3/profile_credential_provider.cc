// Profile resolution; see profile_credential_provider.h.
#include "cache/s3/profile_credential_provider.h"

#include <set>

#include "cache/s3/assume_role_credential_provider.h"
#include "cache/s3/container_credential_provider.h"
#include "cache/s3/env_credential_provider.h"
#include "cache/s3/imds_credential_provider.h"
#include "cache/s3/process_credential_provider.h"
#include "cache/s3/web_identity_credential_provider.h"

namespace s3nbd {
namespace {

using Settings = std::map<std::string, std::string>;

constexpr int kMaxRoleChain = 5;

std::string Get(const Settings& s, const char* key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

Result<IniProfiles> LoadOne(const std::string& path, const char* what) {
  auto text = ReadTextFile(path, what);
  if (!text.ok()) {
    if (text.status().err() == ENOENT) return IniProfiles{};
    return text.status();
  }
  return ParseIni(*text, path);
}

class Builder {
 public:
  Builder(const AwsConfigFiles& files, const ProfileContext& ctx) : files_(files), ctx_(ctx) {}

  Result<std::unique_ptr<CredentialProvider>> Build(const std::string& profile, int depth,
                                                    bool keys_only) {
    Settings storage;
    const Settings* s = files_.Find(profile, &storage);
    if (s == nullptr) return std::unique_ptr<CredentialProvider>();
    const std::string where = "profile '" + profile + "' (" + files_.config_path + ", " +
                              files_.credentials_path + ")";
    const std::string role_arn = Get(*s, "role_arn");
    if (!role_arn.empty() && !keys_only) return Role(profile, *s, role_arn, depth, where);
    const std::string key = Get(*s, "aws_access_key_id");
    if (!key.empty() || !Get(*s, "aws_secret_access_key").empty()) {
      Credentials c{key, Get(*s, "aws_secret_access_key"), Get(*s, "aws_session_token"), {}};
      if (c.access_key.empty() || c.secret_key.empty()) {
        return Status::Error(EINVAL, where + ": aws_access_key_id and aws_secret_access_key "
                                             "must both be set");
      }
      return std::unique_ptr<CredentialProvider>(std::make_unique<StaticCredentialProvider>(
          c, "profile '" + profile + "' (static keys)"));
    }
    if (std::string cmd = Get(*s, "credential_process"); !cmd.empty()) {
      return std::unique_ptr<CredentialProvider>(
          std::make_unique<ProcessCredentialProvider>(cmd, profile));
    }
    return std::unique_ptr<CredentialProvider>();
  }

 private:
  StsTarget Sts(const Settings& s) {
    std::string region = Get(s, "region");
    if (region.empty()) region = EnvOr(ctx_.env, "AWS_REGION", EnvOr(ctx_.env, "AWS_DEFAULT_REGION"));
    std::string url = EnvOr(ctx_.env, "AWS_ENDPOINT_URL_STS", Get(s, "sts_endpoint"));
    if (region.empty() && !url.empty()) region = ctx_.region;
    return StsTargetFor(url, region, ctx_.ca_file);
  }

  AssumeRoleRequest Request(const Settings& s, const std::string& role_arn, const std::string& where,
                            Status* error) {
    AssumeRoleRequest r;
    r.role_arn = role_arn;
    r.session_name = Get(s, "role_session_name");
    if (r.session_name.empty()) r.session_name = DefaultRoleSessionName();
    r.external_id = Get(s, "external_id");
    if (std::string d = Get(s, "duration_seconds"); !d.empty()) {
      char* end = nullptr;
      long v = std::strtol(d.c_str(), &end, 10);
      if (*end != '\0' || v < 900 || v > 43200) {
        *error = Status::Error(EINVAL, where + ": duration_seconds '" + d +
                                           "' is not a number of seconds in 900..43200");
      }
      r.duration_seconds = static_cast<int>(v);
    }
    return r;
  }

  Result<std::unique_ptr<CredentialProvider>> Role(const std::string& profile, const Settings& s,
                                                   const std::string& role_arn, int depth,
                                                   const std::string& where) {
    if (depth >= kMaxRoleChain || !visiting_.insert(profile).second) {
      return Status::Error(EINVAL, where + ": source_profile chain loops or is deeper than " +
                                       std::to_string(kMaxRoleChain));
    }
    Status bad;
    AssumeRoleRequest req = Request(s, role_arn, where, &bad);
    if (!bad.ok()) return bad;
    if (std::string token_file = Get(s, "web_identity_token_file"); !token_file.empty()) {
      return std::unique_ptr<CredentialProvider>(
          std::make_unique<WebIdentityCredentialProvider>(Sts(s), token_file, req));
    }
    const std::string source_profile = Get(s, "source_profile");
    const std::string credential_source = Get(s, "credential_source");
    if (source_profile.empty() == credential_source.empty()) {
      return Status::Error(EINVAL, where + ": role_arn needs exactly one of source_profile, "
                                           "credential_source or web_identity_token_file");
    }
    std::unique_ptr<CredentialProvider> source;
    if (!source_profile.empty()) {
      // A profile naming itself as its source uses its own static keys.
      auto src = Build(source_profile, depth + 1, source_profile == profile);
      if (!src.ok()) return src.status();
      if (!*src) {
        return Status::Error(EINVAL, where + ": source_profile '" + source_profile +
                                         "' does not exist or has no credentials");
      }
      source = std::move(*src);
    } else if (credential_source == "Environment") {
      source = std::make_unique<EnvCredentialProvider>(ctx_.env);
    } else if (credential_source == "Ec2InstanceMetadata") {
      std::string ep = ImdsCredentialProvider::EndpointFrom(ctx_.env);
      if (ep.empty()) return Status::Error(EINVAL, where + ": credential_source Ec2InstanceMetadata "
                                                           "but AWS_EC2_METADATA_DISABLED=true");
      source = std::make_unique<ImdsCredentialProvider>(ep, ImdsCredentialProvider::V1AllowedBy(ctx_.env));
    } else if (credential_source == "EcsContainer") {
      auto ep = ContainerEndpointFrom(ctx_.env);
      if (!ep.ok()) return ep.status();
      if (ep->url.empty()) return Status::Error(EINVAL, where + ": credential_source EcsContainer "
                                                                "but no AWS_CONTAINER_CREDENTIALS_* variable is set");
      source = std::make_unique<ContainerCredentialProvider>(*ep, ctx_.ca_file);
    } else {
      return Status::Error(EINVAL, where + ": credential_source '" + credential_source +
                                       "' is not Environment, Ec2InstanceMetadata or EcsContainer");
    }
    return std::unique_ptr<CredentialProvider>(std::make_unique<AssumeRoleCredentialProvider>(
        profile, Sts(s), std::move(req), std::move(source)));
  }

  const AwsConfigFiles& files_;
  const ProfileContext& ctx_;
  std::set<std::string> visiting_;
};

}  // namespace

const Settings* AwsConfigFiles::Find(const std::string& profile, Settings* storage) const {
  auto c = config.find(profile);
  auto k = credentials.find(profile);
  if (c == config.end() && k == credentials.end()) return nullptr;
  storage->clear();
  if (c != config.end()) *storage = c->second;
  if (k != credentials.end()) {
    for (const auto& [key, value] : k->second) (*storage)[key] = value;
  }
  return storage;
}

Result<AwsConfigFiles> LoadAwsConfigFiles(const EnvLookup& env) {
  AwsConfigFiles f;
  const std::string home = EnvOr(env, "HOME");
  f.config_path = EnvOr(env, "AWS_CONFIG_FILE", home.empty() ? "" : home + "/.aws/config");
  f.credentials_path =
      EnvOr(env, "AWS_SHARED_CREDENTIALS_FILE", home.empty() ? "" : home + "/.aws/credentials");
  if (!f.config_path.empty()) {
    auto c = LoadOne(f.config_path, "AWS config file");
    if (!c.ok()) return c.status();
    f.config = std::move(*c);
  }
  if (!f.credentials_path.empty()) {
    auto k = LoadOne(f.credentials_path, "AWS credentials file");
    if (!k.ok()) return k.status();
    f.credentials = std::move(*k);
  }
  return f;
}

Result<std::unique_ptr<CredentialProvider>> ProviderForProfile(const AwsConfigFiles& files,
                                                               const std::string& profile,
                                                               const ProfileContext& context) {
  Builder b(files, context);
  return b.Build(profile, 0, false);
}

}  // namespace s3nbd
