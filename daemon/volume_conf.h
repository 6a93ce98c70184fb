// VolumeConf: a volume's settings for the CLI — the `key = value` lines of
// CONFIG_DIR/NAME.conf (docs/s3nbd.pod, CONFIGURATION FILE) overlaid by command-line
// flags — and the split of those keys into plugin parameters and CLI-only keys.
// Pure values and functions (plus file reads in LoadVolumeConf); no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/util/status.h"
#include "cache/volume/volume_factory.h"

namespace s3nbd::cli {

struct Args;

// Keys a .conf file (or a flag) may hold that are for the CLI, not for the plugin.
bool IsCliKey(std::string_view key);
// True if the plugin's shared option table (SetVolumeOption) knows the key, or the
// plugin handles it itself (statsfile).
bool IsPluginKey(std::string_view key);

struct VolumeConf {
  std::string name;  // the config name (VOLUME), or "" when given by flags only
  std::string path;  // the file read, or ""
  std::vector<std::pair<std::string, std::string>> entries;  // file order; flags replace in place

  std::optional<std::string> Get(std::string_view key) const;
  void Set(std::string_view key, std::string_view value);
  // What messages call the volume: the config name, else bucket/prefix.
  std::string DisplayName() const;
};

// Parses the text of a .conf file. `origin` names the file in messages ("PATH:LINE: ...").
Result<std::vector<std::pair<std::string, std::string>>> ParseConf(std::string_view text,
                                                                   const std::string& origin);

// A config name is [A-Za-z0-9_.@-]+, not starting with '.' or '-' (it becomes a file name).
Status CheckVolumeName(std::string_view name);

// --config-dir, else $S3NBD_CONFIG_DIR, else /etc/s3nbd.
std::string ConfigDir(const Args& args);
// --run-dir, else $S3NBD_RUN_DIR, else /run/s3nbd (sockets, pid files, stats files).
std::string RunDir(const Args& args);

// Reads CONFIG_DIR/NAME.conf when a VOLUME positional is given (args.positional[0]), then
// overlays every flag not in `own_flags` (flags override the file). With no VOLUME the flags
// alone describe the volume.
Result<VolumeConf> LoadVolumeConf(const Args& args, const std::vector<std::string>& own_flags);

// The conf as VolumeOptions: applies every plugin key SetVolumeOption knows; CLI keys and
// plugin-only keys are skipped. Then CheckVolumeOptions.
Result<VolumeOptions> ToVolumeOptions(const VolumeConf& conf, bool readonly);

// "key=value" parameters for nbdkit: every entry that is not a CLI key.
std::vector<std::string> PluginParams(const VolumeConf& conf);

// Default per-volume runtime paths under RunDir: NAME.sock, NAME.pid, NAME.stats. A volume
// without a config name uses its bucket/prefix with '/' turned into '_'.
std::string RuntimePath(const Args& args, const VolumeConf& conf, std::string_view suffix);

}  // namespace s3nbd::cli
