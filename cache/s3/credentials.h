// AWS credentials as values, and the text formats they come in: the INI files ~/.aws/config and
// ~/.aws/credentials, ISO 8601 expirations. Plain values and pure functions; no locking.
// Where credentials come from is credential_chain.h; how they stay fresh, refreshing_credentials.h.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "cache/util/status.h"

namespace s3nbd {

using WallTime = std::chrono::system_clock::time_point;

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;         // optional; sent (signed) as x-amz-security-token
  std::optional<WallTime> expiration;  // none: never expires (static keys)
  bool anonymous() const { return access_key.empty(); }
};

// One INI file: profile name -> key -> value. "[profile NAME]" (the config file's spelling) and
// "[NAME]" both give profile NAME; other "[KIND NAME]" sections (sso-session, services) are kept
// under their full header text. Keys are lower-cased; values trimmed. Indented lines after
// "key =" (nested s3 = ... settings) are skipped.
using IniProfiles = std::map<std::string, std::map<std::string, std::string>>;
Result<IniProfiles> ParseIni(const std::string& text, const std::string& file_name_for_errors);

// The static keys of one profile of a credentials-style INI text (exposed for tests).
Result<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile,
                                         const std::string& file_name_for_errors);

// "2026-12-01T20:15:00Z", with optional fractional seconds and a "Z" or "+HH:MM" offset.
Result<WallTime> ParseIso8601(const std::string& text);
std::string FormatIso8601(WallTime t);  // "2026-12-01T20:15:00Z"

// Reads a whole file; ENOENT if it does not exist. `what` names it in errors.
Result<std::string> ReadTextFile(const std::string& path, const std::string& what);

}  // namespace s3nbd
