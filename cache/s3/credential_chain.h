// The credential chain: where s3nbd's AWS credentials come from, in the AWS SDKs' order.
//  0. credentials-file= / --credentials-file (s3nbd's own): static keys of the profile in that
//     file only; nothing else is tried.
//  1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY [, AWS_SESSION_TOKEN];
//  2. profile (--profile / profile=, else AWS_PROFILE, else "default") in AWS_CONFIG_FILE
//     (~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials): role_arn (STS
//     AssumeRole), static keys, credential_process. A named profile that does not exist is an
//     error; a missing "default" passes on to the next source;
//  3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME];
//  4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI [+ authorization token];
//  5. EC2 instance metadata (IMDSv2) unless AWS_EC2_METADATA_DISABLED=true;
//  then anonymous access where allowed (read-only), else EACCES naming what was tried.
// The first configured source wins and its errors are final; only instance metadata, which
// cannot be seen configured, passes on when it does not answer. Pure construction; no locking.
#pragma once

#include <memory>

#include "cache/s3/credential_provider.h"
#include "cache/s3/refreshing_credentials.h"

namespace s3nbd {

struct CredentialOptions {
  std::string credentials_file;  // s3nbd's credentials-file=: only this file
  std::string profile;           // --profile / profile=; "" = AWS_PROFILE or "default"
  bool allow_anonymous = false;  // read-only opens may go unsigned
  std::string region;            // the S3 region: STS signing region when nothing else says
  std::string ca_file;           // for https STS and container endpoints
  EnvLookup env;                 // empty: the process environment
  WallClock clock;               // empty: the system clock
};

// Walks the chain, fetches the winner's first credentials and wraps them for refreshing.
// An anonymous result is a holder of empty credentials with source "anonymous".
Result<std::shared_ptr<RefreshingCredentials>> OpenCredentials(const CredentialOptions& options);

}  // namespace s3nbd
