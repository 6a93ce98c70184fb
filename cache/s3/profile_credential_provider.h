// The profile source of the chain: ~/.aws/config (AWS_CONFIG_FILE) and ~/.aws/credentials
// (AWS_SHARED_CREDENTIALS_FILE), the profile from --profile / profile= or AWS_PROFILE or
// "default". Turns one profile into the provider it asks for, in botocore's order: role_arn
// (with source_profile, credential_source or web_identity_token_file), static keys,
// credential_process. Pure construction; the providers it returns hold their own state.
#pragma once

#include <memory>

#include "cache/s3/credential_provider.h"

namespace s3nbd {

struct AwsConfigFiles {
  IniProfiles config;       // ~/.aws/config, "[profile NAME]" sections
  IniProfiles credentials;  // ~/.aws/credentials
  std::string config_path, credentials_path;
  // The merged settings of a profile (the credentials file wins); nullptr if in neither file.
  const std::map<std::string, std::string>* Find(const std::string& profile,
                                                 std::map<std::string, std::string>* storage) const;
};

// Reads both files; a missing file is empty, a malformed one an error.
Result<AwsConfigFiles> LoadAwsConfigFiles(const EnvLookup& env);

struct ProfileContext {
  EnvLookup env;
  std::string region;   // fallback signing region (the S3 region) when the profile has none
  std::string ca_file;  // for https STS and container endpoints
};

// The provider for `profile`, or nullptr when the profile has no credential settings (or does
// not exist: the caller decides whether that is an error). Bad settings are EINVAL naming the
// file, profile and key.
Result<std::unique_ptr<CredentialProvider>> ProviderForProfile(const AwsConfigFiles& files,
                                                               const std::string& profile,
                                                               const ProfileContext& context);

}  // namespace s3nbd
