#include "daemon/server_paths.h"

#include <gtest/gtest.h>

namespace s3nbd::cli {
namespace {

TEST(ServerPathsTest, ParseListen) {
  std::string h, p;
  ASSERT_TRUE(ParseListen("127.0.0.1:10809", &h, &p).ok());
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, "10809");
  ASSERT_TRUE(ParseListen("[::1]:9", &h, &p).ok());
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, "9");
  for (const char* bad : {"", "10809", ":10809", "::1:10809", "[::1:10809",
                          "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http"})
    EXPECT_FALSE(ParseListen(bad, &h, &p).ok()) << bad;
}

TEST(ServerPathsTest, DefaultsUnderRunDirAndConfOverrides) {
  Args args;
  args.values = {{"run-dir", "/r"}};
  VolumeConf conf;
  conf.name = "v";
  auto p = ResolveServerPaths(args, conf);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->socket, "/r/v.sock");
  EXPECT_EQ(p->pidfile, "/r/v.pid");
  EXPECT_EQ(p->statsfile, "/r/v.stats");
  EXPECT_FALSE(p->tls);
  conf.entries = {{"listen", "[::1]:10809"}, {"statsfile", "/s"}, {"tls-psk", "/k"}};
  p = ResolveServerPaths(args, conf);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->socket, "");
  EXPECT_EQ(p->tcp_host, "::1");
  EXPECT_EQ(p->statsfile, "/s");
  EXPECT_TRUE(p->tls);
  conf.entries = {{"listen", "127.0.0.1:1"}, {"socket", "/x.sock"}};
  EXPECT_FALSE(ResolveServerPaths(args, conf).ok());
  conf.entries = {{"tls", "maybe"}};
  EXPECT_FALSE(ResolveServerPaths(args, conf).ok());
}

TEST(ServerPathsTest, RunningPidOfAbsentOrStaleFile) {
  EXPECT_EQ(RunningPid("/nonexistent/s3nbd.pid"), 0);
}

}  // namespace
}  // namespace s3nbd::cli
