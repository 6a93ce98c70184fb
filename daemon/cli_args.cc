// Flag parsing shared by the subcommands; see cli.h.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cache/volume/volume_config.h"
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
    bool is_bool =
        std::find(boolean_flags.begin(), boolean_flags.end(), name) != boolean_flags.end();
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

bool ApplyVolumeOptions(const Args& args, const std::vector<std::string>& skip,
                        VolumeOptions* out) {
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

const char* const kVolumeSelectionHelp =
    "Volume: VOLUME names CONFIG_DIR/VOLUME.conf ('key = value' lines with the plugin's\n"
    "parameter names; CONFIG_DIR is --config-dir, $S3NBD_CONFIG_DIR or /etc/s3nbd), and/or\n"
    "flags with the same names (--endpoint URL --bucket NAME --prefix P --region R\n"
    "--credentials-file F --profile NAME ...), which override the file.\n";

int SelectVolume(const std::string& command, const Args& args,
                 const std::vector<std::string>& own_flags, bool readonly, VolumeConf* conf,
                 VolumeOptions* options) {
  for (const auto& [k, v] : args.values) {
    bool own = k == "config-dir" || k == "run-dir";
    for (const auto& f : own_flags) own = own || f == k;
    if (!own && !IsCliKey(k) && !IsPluginKey(k)) {
      std::fprintf(stderr, "s3nbd %s: unknown option --%s (see s3nbd %s --help)\n", command.c_str(),
                   k.c_str(), command.c_str());
      return kExitUsage;
    }
  }
  auto c = LoadVolumeConf(args, own_flags);
  if (!c.ok()) return Error(command, c.status());
  *conf = std::move(*c);
  if (!options) return kExitOk;
  auto o = ToVolumeOptions(*conf, readonly);
  if (!o.ok()) {
    // Missing endpoint/bucket without a config file is a usage error; a bad file is a failure.
    if (conf->name.empty()) {
      std::fprintf(stderr, "s3nbd %s: %s\n", command.c_str(), o.status().message().c_str());
      return kExitUsage;
    }
    return Error(command, o.status());
  }
  *options = std::move(*o);
  return kExitOk;
}

int Usage(const std::string& command, const char* usage, const std::string& why) {
  std::fprintf(stderr, "s3nbd %s: %s\n%s", command.c_str(), why.c_str(), usage);
  return kExitUsage;
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

int Error(const std::string& command, const Status& s) {
  std::fprintf(stderr, "s3nbd %s: %s\n", command.c_str(), s.message().c_str());
  return kExitFailure;
}

}  // namespace s3nbd::cli
