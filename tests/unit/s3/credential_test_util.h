// Helpers for the credential tests: an injected environment (a map, never the process's) and
// temporary files that remove themselves. No shared state.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

#include "cache/s3/credential_provider.h"

namespace s3nbd {

// HOME points nowhere and instance metadata is off unless a test says otherwise, so that no
// test reads the developer's ~/.aws or contacts 169.254.169.254.
inline EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  vars.emplace("HOME", "/nonexistent-home");
  vars.emplace("AWS_EC2_METADATA_DISABLED", "true");
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second == "<unset>") return std::nullopt;
    return it->second;
  };
}

class TempFile {
 public:
  explicit TempFile(const std::string& text, const char* suffix = "") {
    std::string tmpl = std::string("/tmp/s3nbd-cred-XXXXXX") + suffix;
    std::string buf = tmpl;
    int fd = mkstemps(buf.data(), static_cast<int>(std::string(suffix).size()));
    if (fd >= 0) close(fd);
    path_ = buf;
    Write(text);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An ISO 8601 time `seconds` from now.
inline std::string IsoIn(long seconds) {
  return FormatIso8601(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace s3nbd
