// INI and ISO 8601 parsing for credentials; see credentials.h. Pure functions; no locking.
#include "cache/s3/credentials.h"

#include <cerrno>
#include <cstring>
#include <ctime>
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

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

Result<std::string> ReadTextFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno == 0 ? ENOENT : errno;
    return Status::Error(err, what + " '" + path + "': cannot open: " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<IniProfiles> ParseIni(const std::string& text, const std::string& file_name_for_errors) {
  IniProfiles out;
  std::istringstream in(text);
  std::string raw, section;
  bool in_section = false;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Status::Error(EINVAL, "file '" + file_name_for_errors + "' line " +
                                         std::to_string(lineno) + ": malformed section header");
      }
      section = Trim(line.substr(1, line.size() - 2));
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      out[section];  // an empty profile still exists
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (raw[0] == ' ' || raw[0] == '\t') continue;  // nested "s3 =" sub-settings: not ours
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section][Lower(Trim(line.substr(0, eq)))] = Trim(line.substr(eq + 1));
  }
  return out;
}

Result<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile,
                                         const std::string& file_name_for_errors) {
  const std::string where =
      "credentials file '" + file_name_for_errors + "', profile '" + profile + "'";
  Result<IniProfiles> ini = ParseIni(text, file_name_for_errors);
  if (!ini.ok()) return ini.status().Wrap("credentials");
  auto it = ini->find(profile);
  if (it == ini->end()) return Status::Error(ENOENT, where + ": profile not found");
  const auto& kv = it->second;
  Credentials creds;
  if (auto f = kv.find("aws_access_key_id"); f != kv.end()) creds.access_key = f->second;
  if (auto f = kv.find("aws_secret_access_key"); f != kv.end()) creds.secret_key = f->second;
  if (auto f = kv.find("aws_session_token"); f != kv.end()) creds.session_token = f->second;
  if (creds.access_key.empty()) return Status::Error(EINVAL, where + ": no aws_access_key_id");
  if (creds.secret_key.empty()) {
    return Status::Error(EINVAL, where + ": no aws_secret_access_key");
  }
  return creds;
}

Result<WallTime> ParseIso8601(const std::string& text) {
  const Status bad = Status::Error(EINVAL, "expiration '" + text + "' is not an ISO 8601 time");
  std::tm tm{};
  const char* p = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == nullptr) return bad;
  if (*p == '.') {
    ++p;
    while (*p >= '0' && *p <= '9') ++p;
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0, n = 0;
    if (std::sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2) return bad;
    offset = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
    p += 1 + n;
  } else if (*p != '\0') {
    return bad;
  }
  if (*p != '\0') return bad;
  time_t t = timegm(&tm);
  // system_clock counts nanoseconds in 64 bits (up to 2262): keep far inside that.
  constexpr time_t kYear2200 = 7258118400;
  if (t == static_cast<time_t>(-1) || t - offset < 0 || t - offset >= kYear2200) return bad;
  return std::chrono::system_clock::from_time_t(t - offset);
}

std::string FormatIso8601(WallTime t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace s3nbd
