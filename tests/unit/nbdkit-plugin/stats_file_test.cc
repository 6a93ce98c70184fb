// The plugin's stats file writer (nbdkit-plugin/stats_file.cc) against the CLI's reader
// (daemon/stats_report.cc): what one writes, the other reads.
#include "nbdkit-plugin/stats_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "daemon/stats_report.h"

namespace s3nbd::plugin {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class StatsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/s3nbd-stats-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

TEST_F(StatsFileTest, FormatStartsWithMagicAndVersion) {
  EXPECT_EQ(FormatStatsFile({{"requests_read", 3}, {"s3_get", 0}}),
            "s3nbd-stats 1\nrequests_read 3\ns3_get 0\n");
}

TEST_F(StatsFileTest, WriteOnceIsReadBackByTheCli) {
  std::string path = dir_ + "/v.stats";
  uint64_t n = 41;
  StatsFileWriter w(path, [&](StatsValues* out) { out->emplace_back("requests_write", ++n); });
  ASSERT_TRUE(w.WriteOnce().ok());
  EXPECT_NE(access(path.c_str(), F_OK), -1);
  EXPECT_EQ(access((path + ".tmp").c_str(), F_OK), -1) << "the tmp file must be renamed away";
  auto stats = cli::ParseStatsFile(ReadAll(path), path);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->at("requests_write"), 42u);
  EXPECT_EQ(stats->at("pid"), static_cast<uint64_t>(getpid()));
  EXPECT_GT(stats->at("updated_unix"), 1600000000u);
  EXPECT_EQ(stats->count("uptime_seconds"), 1u);
}

TEST_F(StatsFileTest, NeverWritesThroughASymlinkAtTheTempName) {
  std::string path = dir_ + "/v.stats", victim = dir_ + "/victim";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
  StatsFileWriter w(path, [&](StatsValues* out) { out->emplace_back("requests_write", 1); });
  ASSERT_TRUE(w.WriteOnce().ok());
  EXPECT_EQ(ReadAll(victim), "precious");
  EXPECT_NE(ReadAll(path).find("requests_write 1"), std::string::npos);
}

TEST_F(StatsFileTest, StopWritesTheFinalCounters) {
  std::string path = dir_ + "/v.stats";
  std::atomic<uint64_t> value{1};
  {
    StatsFileWriter w(
        path, [&](StatsValues* out) { out->emplace_back("requests_read", value.load()); },
        std::chrono::milliseconds(5));
    w.Start();
    value = 7;
    w.Stop();  // joins, then one last write with the current value
  }
  auto stats = cli::ParseStatsFile(ReadAll(path), path);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->at("requests_read"), 7u);
}

TEST_F(StatsFileTest, UnwritableDirectoryIsAClearError) {
  StatsFileWriter w(dir_ + "/missing/v.stats", [](StatsValues*) {});
  Status s = w.WriteOnce();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("statsfile: cannot create " + dir_ + "/missing/v.stats.tmp"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace s3nbd::plugin
