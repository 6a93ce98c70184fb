#include "daemon/volume_conf.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "daemon/cli.h"

namespace s3nbd::cli {
namespace {

TEST(VolumeConfTest, ParsesKeyValueLinesAndComments) {
  auto e = ParseConf(
      "# a comment\n\n  endpoint = http://127.0.0.1:9480  \nbucket=b\n"
      "prefix = \"with space \"\n\t# indented comment\ncache-size = 1G\r\n",
      "x.conf");
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->size(), 4u);
  EXPECT_EQ((*e)[0], std::make_pair(std::string("endpoint"), std::string("http://127.0.0.1:9480")));
  EXPECT_EQ((*e)[1].second, "b");
  EXPECT_EQ((*e)[2].second, "with space ");
  EXPECT_EQ((*e)[3], std::make_pair(std::string("cache-size"), std::string("1G")));
}

TEST(VolumeConfTest, ValueMayContainEqualsAndHash) {
  auto e = ParseConf("prefix = a=b#c\n", "x.conf");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0].second, "a=b#c");
}

TEST(VolumeConfTest, RefusesBadLinesNamingFileAndLine) {
  auto no_eq = ParseConf("endpoint = x\nbucket\n", "/etc/s3nbd/v.conf");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_NE(no_eq.status().message().find("/etc/s3nbd/v.conf:2:"), std::string::npos);
  auto twice = ParseConf("bucket = a\nbucket = b\n", "v.conf");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("given twice"), std::string::npos);
  EXPECT_FALSE(ParseConf("Bucket = a\n", "v.conf").ok());
  EXPECT_FALSE(ParseConf(" = a\n", "v.conf").ok());
}

TEST(VolumeConfTest, VolumeNames) {
  EXPECT_TRUE(CheckVolumeName("vol1").ok());
  EXPECT_TRUE(CheckVolumeName("db-2.prod@x").ok());
  for (const char* bad : {"", ".hidden", "-x", "a/b", "../etc", "a b"})
    EXPECT_FALSE(CheckVolumeName(bad).ok()) << bad;
}

TEST(VolumeConfTest, KeyKinds) {
  EXPECT_TRUE(IsCliKey("device"));
  EXPECT_TRUE(IsCliKey("listen"));
  EXPECT_FALSE(IsCliKey("bucket"));
  EXPECT_TRUE(IsPluginKey("bucket"));
  EXPECT_TRUE(IsPluginKey("readonly"));
  EXPECT_TRUE(IsPluginKey("statsfile"));
  EXPECT_FALSE(IsPluginKey("frobnicate"));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/s3nbd-conf-test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(VolumeConfTest, FlagsOverrideTheFileAndSplitIntoPluginAndCliKeys) {
  TempDir dir;
  std::ofstream(dir.path() + "/v1.conf")
      << "endpoint = http://127.0.0.1:1\nbucket = b\nprefix = p\n"
         "device = /dev/nbd3\nstatsfile = /x/v1.stats\n";
  Args args;
  args.positional = {"v1"};
  args.values = {
      {"config-dir", dir.path()}, {"prefix", "q"}, {"yes", "true"}, {"region", "eu-west-1"}};
  auto conf = LoadVolumeConf(args, {"yes"});
  ASSERT_TRUE(conf.ok()) << conf.status().message();
  EXPECT_EQ(conf->name, "v1");
  EXPECT_EQ(conf->Get("prefix"), "q");
  EXPECT_EQ(conf->Get("region"), "eu-west-1");
  EXPECT_FALSE(conf->Get("yes").has_value());
  EXPECT_FALSE(conf->Get("config-dir").has_value());
  auto params = PluginParams(*conf);
  EXPECT_EQ(params, (std::vector<std::string>{"endpoint=http://127.0.0.1:1", "bucket=b", "prefix=q",
                                              "statsfile=/x/v1.stats", "region=eu-west-1"}));
  auto o = ToVolumeOptions(*conf, true);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->s3.bucket, "b");
  EXPECT_EQ(o->prefix, "q");
  EXPECT_EQ(o->s3.region, "eu-west-1");
  EXPECT_TRUE(o->readonly);
  args.values = {{"config-dir", dir.path()}, {"run-dir", "/r"}};
  conf = LoadVolumeConf(args, {});
  EXPECT_EQ(RuntimePath(args, *conf, ".sock"), "/r/v1.sock");
}

TEST(VolumeConfTest, MissingFileAndBadValuesAreClear) {
  TempDir dir;
  Args args;
  args.positional = {"nope"};
  args.values = {{"config-dir", dir.path()}};
  auto conf = LoadVolumeConf(args, {});
  ASSERT_FALSE(conf.ok());
  EXPECT_NE(conf.status().message().find("volume nope: cannot read " + dir.path() + "/nope.conf"),
            std::string::npos);
  VolumeConf c;
  c.name = "v";
  c.entries = {{"endpoint", "ftp://x"}, {"bucket", "b"}};
  auto o = ToVolumeOptions(c, false);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("volume v: endpoint"), std::string::npos);
  c.entries = {{"bucket", "b"}};
  EXPECT_NE(ToVolumeOptions(c, false).status().message().find("endpoint=URL is required"),
            std::string::npos);
}

TEST(VolumeConfTest, FlagsOnlyVolumeRuntimeName) {
  Args args;
  args.values = {{"run-dir", "/r"}, {"bucket", "b"}, {"prefix", "x/y/"}};
  auto conf = LoadVolumeConf(args, {});
  ASSERT_TRUE(conf.ok());
  EXPECT_EQ(conf->DisplayName(), "b/x/y");
  EXPECT_EQ(RuntimePath(args, *conf, ".pid"), "/r/b_x_y.pid");
}

}  // namespace
}  // namespace s3nbd::cli
