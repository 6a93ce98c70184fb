// credential_process: a profile's command that prints credentials as JSON (Version 1:
// AccessKeyId, SecretAccessKey, optional SessionToken and Expiration). Run with /bin/sh -c at
// every Fetch, stdout captured (never logged), stderr passed through, killed after a timeout.
// No shared state; Fetch is called by one thread at a time.
#pragma once

#include <chrono>

#include "cache/s3/credential_provider.h"

namespace s3nbd {

class ProcessCredentialProvider final : public CredentialProvider {
 public:
  ProcessCredentialProvider(std::string command, std::string profile,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : command_(std::move(command)), profile_(std::move(profile)), timeout_(timeout) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override {
    return "profile '" + profile_ + "' (credential_process)";
  }

 private:
  const std::string command_;
  const std::string profile_;
  const std::chrono::milliseconds timeout_;
};

// Parses credential_process output (exposed for tests). `what` prefixes errors.
Result<Credentials> ParseProcessCredentials(const std::string& json, const std::string& what);

}  // namespace s3nbd
