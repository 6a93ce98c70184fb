// AWS credentials and where they come from: explicit file, environment, or the shared
// credentials file (~/.aws/credentials with AWS_PROFILE). Plain values; no locking.
#pragma once

#include <string>

#include "cache/status.h"

namespace s3nbd {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional
  bool anonymous() const { return access_key.empty(); }
};

// Resolution order:
//  1. credentials_file (if non-empty): an AWS-style INI file; profile = `profile` or
//     AWS_PROFILE or "default". Missing file or profile is an error.
//  2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the environment.
//  3. AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, same profile rule; a missing file
//     is not an error here.
//  4. allow_anonymous ? empty credentials : error "no credentials found (...)".
Result<Credentials> ResolveCredentials(const std::string& credentials_file,
                                       const std::string& profile, bool allow_anonymous);

// Parses an INI credentials file's text; exposed for tests.
Result<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile,
                                         const std::string& file_name_for_errors);

}  // namespace s3nbd
