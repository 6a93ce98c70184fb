// s3nbd stats: reads the running server's stats file (docs/stats.md) and prints a table or,
// with --prometheus, the Prometheus text exposition format.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "daemon/cli.h"
#include "daemon/stats_report.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd stats [VOLUME] [--statsfile PATH] [--prometheus] [--config-dir DIR] [--run-dir "
    "DIR]\n"
    "Prints the statistics of the server of VOLUME: NBD requests by type, bytes, S3 requests,\n"
    "retries, errors, cache hit ratio, dirty bytes, writeback queue and the estimated S3\n"
    "request cost. Reads the stats file the plugin rewrites every second: the volume's\n"
    "'statsfile' key, else RUN_DIR/VOLUME.stats (RUN_DIR: --run-dir, $S3NBD_RUN_DIR, /run/s3nbd).\n"
    "  --prometheus   Prometheus text format instead (s3nbd_* metrics, label volume)\n";

}  // namespace

int CmdStats(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"prometheus"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("stats", kUsage, "unexpected argument");
  VolumeConf conf;
  if (int rc = SelectVolume("stats", args, {"prometheus"}, true, &conf, nullptr)) return rc;
  std::string path = conf.Get("statsfile").value_or("");
  if (path.empty()) {
    if (conf.DisplayName().empty())
      return Usage("stats", kUsage, "name a VOLUME or give --statsfile PATH");
    path = RuntimePath(args, conf, ".stats");
  }
  std::string vol = conf.DisplayName().empty() ? "stats file" : "volume " + conf.DisplayName();
  std::ifstream in(path);
  if (!in)
    return Error("stats", Status::Error(ENOENT, vol + ": cannot read " + path +
                                                    " (is it served? 's3nbd serve' writes it)"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto stats = ParseStatsFile(ss.str(), path);
  if (!stats.ok()) return Error("stats", stats.status().Wrap(vol));
  std::string out =
      args.values.count("prometheus")
          ? FormatPrometheus(conf.DisplayName(), *stats)
          : FormatStatsTable(conf.DisplayName(), *stats, static_cast<uint64_t>(std::time(nullptr)));
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

}  // namespace s3nbd::cli
