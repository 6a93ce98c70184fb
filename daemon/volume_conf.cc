// Volume configuration files and flag overlay; see volume_conf.h.
#include "daemon/volume_conf.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cache/volume/volume_config.h"
#include "daemon/cli.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kCliKeys[] = {
    "device",           "socket",  "listen", "pidfile",         "tls",
    "tls-certificates", "tls-psk", "plugin", "nbd-connections", "nbd-timeout",
    "nbd-reconnect-timeout", "start-server"};
// Keys the plugin handles itself, outside the shared option table.
constexpr const char* kPluginOnlyKeys[] = {"statsfile"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ValidKey(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

std::string FromEnvOr(const Args& args, const char* flag, const char* env, const char* fallback) {
  if (auto it = args.values.find(flag); it != args.values.end()) return it->second;
  const char* e = std::getenv(env);
  return e && *e ? e : fallback;
}

}  // namespace

bool IsCliKey(std::string_view key) {
  for (const char* k : kCliKeys)
    if (key == k) return true;
  return false;
}

bool IsPluginKey(std::string_view key) {
  for (const char* k : kPluginOnlyKeys)
    if (key == k) return true;
  // The shared table is the authority: a key it does not know fails with "unknown parameter".
  VolumeOptions scratch;
  Status s = SetVolumeOption(&scratch, key, "");
  return s.ok() || s.message().rfind("unknown parameter", 0) != 0;
}

std::optional<std::string> VolumeConf::Get(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return v;
  return std::nullopt;
}

void VolumeConf::Set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : entries)
    if (k == key) {
      v = value;
      return;
    }
  entries.emplace_back(key, value);
}

std::string VolumeConf::DisplayName() const {
  if (!name.empty()) return name;
  std::string b = Get("bucket").value_or(""), p = Get("prefix").value_or("");
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() ? b : b + "/" + p;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseConf(std::string_view text,
                                                                   const std::string& origin) {
  std::vector<std::pair<std::string, std::string>> out;
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    lineno++;
    std::string where = origin + ":" + std::to_string(lineno) + ": ";
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Status::Error(EINVAL,
                           where + "expected 'key = value', got '" + std::string(line) + "'");
    std::string key(Trim(line.substr(0, eq)));
    std::string_view value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (!ValidKey(key))
      return Status::Error(EINVAL,
                           where + "'" + key + "' is not a key (lowercase letters, digits, '-')");
    for (const auto& e : out)
      if (e.first == key) return Status::Error(EINVAL, where + "'" + key + "' is given twice");
    out.emplace_back(key, value);
  }
  return out;
}

Status CheckVolumeName(std::string_view name) {
  bool ok = !name.empty() && name.front() != '.' && name.front() != '-' && name.size() <= 200;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '@'))
      ok = false;
  if (ok) return Status::Ok();
  return Status::Error(EINVAL,
                       "volume name '" + std::string(name) +
                           "' must be letters, digits, '-', '_', '.', '@' (it names NAME.conf)");
}

std::string ConfigDir(const Args& args) {
  return FromEnvOr(args, "config-dir", "S3NBD_CONFIG_DIR", "/etc/s3nbd");
}

std::string RunDir(const Args& args) {
  return FromEnvOr(args, "run-dir", "S3NBD_RUN_DIR", "/run/s3nbd");
}

Result<VolumeConf> LoadVolumeConf(const Args& args, const std::vector<std::string>& own_flags) {
  VolumeConf conf;
  if (!args.positional.empty()) {
    conf.name = args.positional[0];
    if (Status s = CheckVolumeName(conf.name); !s.ok()) return s;
    conf.path = ConfigDir(args) + "/" + conf.name + ".conf";
    std::ifstream in(conf.path);
    if (!in)
      return Status::Error(ENOENT, "volume " + conf.name + ": cannot read " + conf.path +
                                       " (create it, or set --config-dir / S3NBD_CONFIG_DIR)");
    std::stringstream ss;
    ss << in.rdbuf();
    auto entries = ParseConf(ss.str(), conf.path);
    if (!entries.ok()) return entries.status();
    conf.entries = std::move(*entries);
  }
  for (const auto& [k, v] : args.values) {
    bool own = k == "config-dir" || k == "run-dir";
    for (const auto& f : own_flags) own = own || f == k;
    if (!own) conf.Set(k, v);
  }
  return conf;
}

Result<VolumeOptions> ToVolumeOptions(const VolumeConf& conf, bool readonly) {
  VolumeOptions o;
  o.readonly = readonly;
  std::string where = conf.path.empty() ? "" : conf.path + ": ";
  for (const auto& [k, v] : conf.entries) {
    if (IsCliKey(k)) continue;
    Status s = SetVolumeOption(&o, k, v);
    if (s.ok() || s.message().rfind("unknown parameter", 0) == 0) continue;  // plugin-only key
    return s.Wrap("volume " + conf.DisplayName());
  }
  if (readonly) o.readonly = true;
  if (Status s = CheckVolumeOptions(o); !s.ok())
    return Status::Error(EINVAL, "volume " + conf.DisplayName() + ": " + where + s.message());
  return o;
}

std::vector<std::string> PluginParams(const VolumeConf& conf) {
  std::vector<std::string> out;
  for (const auto& [k, v] : conf.entries)
    if (!IsCliKey(k)) out.push_back(k + "=" + v);
  return out;
}

std::string RuntimePath(const Args& args, const VolumeConf& conf, std::string_view suffix) {
  std::string base = conf.name;
  if (base.empty()) {
    base = conf.DisplayName();
    for (char& c : base)
      if (c == '/') c = '_';
  }
  return RunDir(args) + "/" + base + std::string(suffix);
}

}  // namespace s3nbd::cli
