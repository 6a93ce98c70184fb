// Flag parsing shared by the subcommands; see cli.h.
#include <cstdio>
#include <algorithm>

#include "cache/volume_config.h"
#include "daemon/cli.h"

namespace s3nbd::cli {

bool ParseArgs(int argc, char** argv, const std::vector<std::string>& boolean_flags, Args* out) {
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      out->help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool is_bool = std::find(boolean_flags.begin(), boolean_flags.end(), name) != boolean_flags.end();
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (is_bool) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "s3nbd: option --%s needs a value\n", name.c_str());
      return false;
    }
    out->values[name] = value;
  }
  return true;
}

bool ApplyVolumeOptions(const Args& args, const std::vector<std::string>& skip, VolumeOptions* out) {
  for (const auto& [name, value] : args.values) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    Status s = SetVolumeOption(out, name, value);
    if (!s.ok()) {
      std::fprintf(stderr, "s3nbd: --%s\n", s.message().c_str());
      return false;
    }
  }
  Status s = CheckVolumeOptions(*out);
  if (!s.ok()) {
    std::fprintf(stderr, "s3nbd: %s\n", s.message().c_str());
    return false;
  }
  return true;
}

int Error(const std::string& command, const Status& s) {
  std::fprintf(stderr, "s3nbd %s: %s\n", command.c_str(), s.message().c_str());
  return kExitFailure;
}

}  // namespace s3nbd::cli
