// StatsReport: reading the plugin's stats file (docs/stats.md) and presenting it — the human
// table of `s3nbd stats`, the Prometheus text exposition of `--prometheus` and of `s3nbd
// exporter` (many volumes), and the S3 request cost estimate at list prices. Pure
// functions; no state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/util/status.h"

namespace s3nbd::cli {

using StatsMap = std::map<std::string, uint64_t>;

// S3 Standard, us-east-1 list prices (docs/stats.md).
constexpr double kUsdPerThousandPut = 0.005;   // PUT, COPY, POST (multi-delete), LIST
constexpr double kUsdPerThousandGet = 0.0004;  // GET, HEAD and all other requests
constexpr double kUsdPerGbMonth = 0.023;       // storage; DELETE requests are free

// Parses "s3nbd-stats 1" + "key value" lines; EINVAL naming `origin`:line on bad input.
Result<StatsMap> ParseStatsFile(std::string_view text, const std::string& origin);

struct CostEstimate {
  uint64_t put_class = 0;  // PUT + LIST + multi-delete POSTs
  uint64_t get_class = 0;  // GET + HEAD
  double requests_usd = 0;
};
CostEstimate EstimateRequestCost(const StatsMap& stats);
double StorageUsdPerMonth(uint64_t stored_bytes);

// The table `s3nbd stats` prints; `now_unix` marks a stale file (not updated for > 5 s).
std::string FormatStatsTable(const std::string& volume, const StatsMap& stats, uint64_t now_unix);
// Prometheus text format 0.0.4: # HELP / # TYPE, s3nbd_* names, label volume="...".
std::string FormatPrometheus(const std::string& volume, const StatsMap& stats);

// The stats of one volume of a host (s3nbd exporter): `up` is false for a stats file its
// server no longer rewrites; such a volume shows only s3nbd_up 0 and its last update time.
struct VolumeStats {
  std::string volume;
  StatsMap stats;
  bool up = true;
};
// The stats keys the Prometheus table reads, each with its metric's type ("counter" or
// "gauge"); tests hold them to the key list (nbdkit-plugin/stats_keys.h).
std::map<std::string, std::string> PrometheusStatsKeys();

// Every volume in one exposition, one # HELP / # TYPE per metric family; with `with_up`
// also s3nbd_up{volume} for each.
std::string FormatPrometheus(const std::vector<VolumeStats>& volumes, bool with_up);

}  // namespace s3nbd::cli
