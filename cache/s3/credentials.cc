// Credentials resolution: explicit INI file, environment, shared credentials file.
// Reads the environment and files only when called; no shared state, no locking.
#include "cache/s3/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace s3nbd {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string EffectiveProfile(const std::string& profile) {
  if (!profile.empty()) return profile;
  std::string env = Env("AWS_PROFILE");
  return env.empty() ? "default" : env;
}

// Reads a whole file. Returns ENOENT if it does not exist.
Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno == 0 ? ENOENT : errno;
    return Status::Error(err, "credentials file '" + path + "': cannot open");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile,
                                         const std::string& file_name_for_errors) {
  const std::string where =
      "credentials file '" + file_name_for_errors + "', profile '" + profile + "'";
  std::istringstream in(text);
  std::string line, section;
  bool found = false;
  Credentials creds;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Status::Error(EINVAL, "credentials file '" + file_name_for_errors + "' line " +
                                         std::to_string(lineno) + ": malformed section header");
      }
      section = Trim(line.substr(1, line.size() - 2));
      // ~/.aws/config spells non-default sections "[profile NAME]"; accept both.
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      if (section == profile) found = true;
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;  // continuation lines of nested keys: not ours
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") creds.access_key = value;
    else if (key == "aws_secret_access_key") creds.secret_key = value;
    else if (key == "aws_session_token") creds.session_token = value;
  }
  if (!found) return Status::Error(ENOENT, where + ": profile not found");
  if (creds.access_key.empty()) return Status::Error(EINVAL, where + ": no aws_access_key_id");
  if (creds.secret_key.empty()) {
    return Status::Error(EINVAL, where + ": no aws_secret_access_key");
  }
  return creds;
}

Result<Credentials> ResolveCredentials(const std::string& credentials_file,
                                       const std::string& profile, bool allow_anonymous) {
  const std::string prof = EffectiveProfile(profile);
  if (!credentials_file.empty()) {
    Result<std::string> text = ReadFile(credentials_file);
    if (!text.ok()) return text.status();
    return ParseCredentialsFile(*text, prof, credentials_file);
  }
  std::string id = Env("AWS_ACCESS_KEY_ID"), secret = Env("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() || !secret.empty()) {
    if (id.empty() || secret.empty()) {
      return Status::Error(EINVAL,
                           "credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
    }
    return Credentials{id, secret, Env("AWS_SESSION_TOKEN")};
  }
  std::string shared = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (shared.empty()) {
    std::string home = Env("HOME");
    if (!home.empty()) shared = home + "/.aws/credentials";
  }
  std::string tried = "environment";
  if (!shared.empty()) {
    tried += ", " + shared;
    Result<std::string> text = ReadFile(shared);
    if (text.ok()) return ParseCredentialsFile(*text, prof, shared);
    if (text.status().err() != ENOENT) return text.status();
  }
  if (allow_anonymous) return Credentials{};
  return Status::Error(EACCES, "no credentials found (tried " + tried + ", profile '" + prof +
                                   "'); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or give a "
                                   "credentials file");
}

}  // namespace s3nbd
