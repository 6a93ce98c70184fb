#include "daemon/served_volumes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace s3nbd::cli {
namespace {

namespace fs = std::filesystem;

class ServedVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/s3nbd-served-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/etc");
    fs::create_directories(dir_ + "/run");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  static std::string Stats(uint64_t updated, uint64_t written) {
    return "s3nbd-stats 1\nbytes_written " + std::to_string(written) + "\nupdated_unix " +
           std::to_string(updated) + "\n";
  }
  std::string dir_;
};

TEST_F(ServedVolumesTest, ConfsAndLooseStatsFilesEachOnce) {
  Write("etc/v1.conf", "bucket = b\nprefix = v1\n");
  Write("etc/v2.conf", "bucket = b\nstatsfile = " + dir_ + "/elsewhere.stats\n");
  Write("etc/.hidden.conf", "bucket = b\n");  // not a volume name: ignored
  Write("etc/notes.txt", "not a conf");
  Write("run/v1.stats", Stats(1000, 1));
  Write("run/b_flags.stats", Stats(1000, 2));  // served with flags only
  Write("run/v1.stats.tmp", "half written");
  std::vector<std::string> errors;
  auto src = FindStatsSources(dir_ + "/etc", dir_ + "/run", &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(src.size(), 3u);
  EXPECT_EQ(src[0].volume, "b_flags");
  EXPECT_EQ(src[1].volume, "v1");
  EXPECT_EQ(src[1].statsfile, dir_ + "/run/v1.stats");
  EXPECT_EQ(src[2].volume, "v2");
  EXPECT_EQ(src[2].statsfile, dir_ + "/elsewhere.stats");
}

TEST_F(ServedVolumesTest, MissingDirectoriesAreNothingServed) {
  std::vector<std::string> errors;
  EXPECT_TRUE(FindStatsSources(dir_ + "/none", dir_ + "/none2", &errors).empty());
  EXPECT_TRUE(errors.empty());
}

TEST_F(ServedVolumesTest, BadConfIsReportedOthersStillFound) {
  Write("etc/bad.conf", "this line has no equals sign\n");
  Write("etc/good.conf", "bucket = b\n");
  std::vector<std::string> errors;
  auto src = FindStatsSources(dir_ + "/etc", dir_ + "/run", &errors);
  ASSERT_EQ(src.size(), 1u);
  EXPECT_EQ(src[0].volume, "good");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("bad.conf"), std::string::npos) << errors[0];
}

TEST_F(ServedVolumesTest, ReadsFreshStaleAbsentAndMalformed) {
  Write("run/fresh.stats", Stats(1000, 7));
  Write("run/stale.stats", Stats(900, 8));
  Write("run/broken.stats", "garbage\n");
  std::vector<StatsSource> src = {{"absent", dir_ + "/run/absent.stats"},
                                  {"broken", dir_ + "/run/broken.stats"},
                                  {"fresh", dir_ + "/run/fresh.stats"},
                                  {"stale", dir_ + "/run/stale.stats"}};
  std::vector<std::string> errors;
  auto vols = ReadServedVolumes(src, 1000 + kStaleAfterSeconds, &errors);
  ASSERT_EQ(vols.size(), 2u);
  EXPECT_EQ(vols[0].volume, "fresh");
  EXPECT_TRUE(vols[0].up);
  EXPECT_EQ(vols[0].stats.at("bytes_written"), 7u);
  EXPECT_EQ(vols[1].volume, "stale");
  EXPECT_FALSE(vols[1].up);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("volume broken: "), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace s3nbd::cli
