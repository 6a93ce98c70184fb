// ServedVolumes: which volumes this host serves, found the way `s3nbd stats` finds one — each
// CONFIG_DIR/NAME.conf (its statsfile key, else RUN_DIR/NAME.stats) plus every other
// RUN_DIR/*.stats (servers started with flags only) — and their stats, read fresh on each call.
// Reads files only; no state, safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/stats_report.h"

namespace s3nbd::cli {

// A stats file not rewritten for longer than this belongs to a server that has stopped.
constexpr uint64_t kStaleAfterSeconds = 5;

struct StatsSource {
  std::string volume;     // the config name, or the stats file's name without .stats
  std::string statsfile;  // path
};

// The stats files to look at, sorted by volume name, each path once. A missing directory is
// no error (nothing is served); an unreadable or malformed .conf adds a message to `errors`.
std::vector<StatsSource> FindStatsSources(const std::string& config_dir, const std::string& run_dir,
                                          std::vector<std::string>* errors);

// Reads every source: absent files are skipped (not served), a malformed file adds a message
// to `errors`, and a file older than kStaleAfterSeconds at `now_unix` is marked not up.
std::vector<VolumeStats> ReadServedVolumes(const std::vector<StatsSource>& sources,
                                           uint64_t now_unix, std::vector<std::string>* errors);

}  // namespace s3nbd::cli
