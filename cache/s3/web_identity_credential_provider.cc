// Web identity credentials; see web_identity_credential_provider.h.
#include "cache/s3/web_identity_credential_provider.h"

#include <ctime>

namespace s3nbd {

std::string DefaultRoleSessionName() {
  return "s3nbd-" + std::to_string(static_cast<long long>(std::time(nullptr)));
}

Result<Credentials> WebIdentityCredentialProvider::Fetch() {
  auto token = ReadTextFile(token_file_, "web identity token file");
  if (!token.ok()) return token.status();
  std::string t = *token;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) {
    return Status::Error(EINVAL, "web identity token file '" + token_file_ + "' is empty");
  }
  return StsAssumeRoleWithWebIdentity(sts_, request_, t);
}

}  // namespace s3nbd
