// Discovery of a host's served volumes and their stats files; see served_volumes.h.
#include "daemon/served_volumes.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "daemon/volume_conf.h"

namespace s3nbd::cli {
namespace {

namespace fs = std::filesystem;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Regular files in `dir` whose names end in `suffix`, sorted; none if `dir` is absent.
std::vector<std::string> FilesEndingIn(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (EndsWith(name, suffix) && it->is_regular_file(ec)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

std::vector<StatsSource> FindStatsSources(const std::string& config_dir, const std::string& run_dir,
                                          std::vector<std::string>* errors) {
  std::vector<StatsSource> out;
  std::set<std::string> paths;
  for (const std::string& file : FilesEndingIn(config_dir, ".conf")) {
    std::string name = file.substr(0, file.size() - 5), path = config_dir + "/" + file;
    if (!CheckVolumeName(name).ok()) continue;  // not a volume conf (s3nbd would refuse it too)
    std::string text;
    if (!ReadFile(path, &text)) {
      errors->push_back("volume " + name + ": cannot read " + path);
      continue;
    }
    auto entries = ParseConf(text, path);
    if (!entries.ok()) {
      errors->push_back(entries.status().message());
      continue;
    }
    std::string statsfile = run_dir + "/" + name + ".stats";
    for (const auto& [k, v] : *entries)
      if (k == "statsfile") statsfile = v;
    if (paths.insert(statsfile).second) out.push_back({name, statsfile});
  }
  for (const std::string& file : FilesEndingIn(run_dir, ".stats")) {
    std::string path = run_dir + "/" + file;
    if (paths.insert(path).second) out.push_back({file.substr(0, file.size() - 6), path});
  }
  std::sort(out.begin(), out.end(),
            [](const StatsSource& a, const StatsSource& b) { return a.volume < b.volume; });
  return out;
}

std::vector<VolumeStats> ReadServedVolumes(const std::vector<StatsSource>& sources,
                                           uint64_t now_unix, std::vector<std::string>* errors) {
  std::vector<VolumeStats> out;
  for (const StatsSource& src : sources) {
    std::string text;
    if (!ReadFile(src.statsfile, &text)) continue;  // not served (or not yet)
    auto stats = ParseStatsFile(text, src.statsfile);
    if (!stats.ok()) {
      errors->push_back("volume " + src.volume + ": " + stats.status().message());
      continue;
    }
    auto updated = stats->find("updated_unix");
    bool up = updated != stats->end() && updated->second + kStaleAfterSeconds >= now_unix;
    out.push_back({src.volume, std::move(*stats), up});
  }
  return out;
}

}  // namespace s3nbd::cli
