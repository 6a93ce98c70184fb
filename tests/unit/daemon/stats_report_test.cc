#include "daemon/stats_report.h"

#include <gtest/gtest.h>

namespace s3nbd::cli {
namespace {

constexpr const char* kSample =
    "s3nbd-stats 1\n"
    "requests_read 10\nrequests_write 4\nbytes_read 40960\nbytes_written 1048576\n"
    "s3_get 2000\ns3_put 1000\ns3_delete 7\ns3_list 1\ns3_head 1\ns3_multi_delete 2\n"
    "s3_retries 3\ns3_errors 0\ncache_hits 30\ncache_misses 10\n"
    "uptime_seconds 12\nupdated_unix 1000\n";

TEST(StatsReportTest, ParsesTheSample) {
  auto s = ParseStatsFile(kSample, "v.stats");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->at("requests_read"), 10u);
  EXPECT_EQ(s->at("updated_unix"), 1000u);
  EXPECT_EQ(s->count("s3nbd-stats"), 0u);
}

TEST(StatsReportTest, RefusesBadFiles) {
  EXPECT_NE(ParseStatsFile("", "f").status().message().find("empty"), std::string::npos);
  EXPECT_NE(
      ParseStatsFile("requests_read 1\n", "f").status().message().find("not an s3nbd stats file"),
      std::string::npos);
  EXPECT_NE(ParseStatsFile("s3nbd-stats 2\n", "f").status().message().find("version 2"),
            std::string::npos);
  auto bad = ParseStatsFile("s3nbd-stats 1\nrequests_read x\n", "f");
  EXPECT_NE(bad.status().message().find("f:2:"), std::string::npos);
  EXPECT_FALSE(ParseStatsFile("s3nbd-stats 1\nrequests_read -1\n", "f").ok());
  EXPECT_FALSE(ParseStatsFile("s3nbd-stats 1\nnovalue\n", "f").ok());
}

TEST(StatsReportTest, CostAtListPrices) {
  auto s = ParseStatsFile(kSample, "v.stats");
  CostEstimate c = EstimateRequestCost(*s);
  EXPECT_EQ(c.put_class, 1003u);  // 1000 PUT + 1 LIST + 2 multi-delete POSTs; DELETE is free
  EXPECT_EQ(c.get_class, 2001u);  // 2000 GET + 1 HEAD
  EXPECT_NEAR(c.requests_usd, 1003 * 0.005 / 1000 + 2001 * 0.0004 / 1000, 1e-12);
  EXPECT_NEAR(StorageUsdPerMonth(1000000000), 0.023, 1e-12);
  EXPECT_EQ(EstimateRequestCost({}).requests_usd, 0);
}

TEST(StatsReportTest, TableShowsValuesRatioAndAbsentKeys) {
  auto s = ParseStatsFile(kSample, "v.stats");
  std::string t = FormatStatsTable("v1", *s, 1001);
  EXPECT_NE(t.find("volume v1, up 12 s\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("STALE"), std::string::npos);
  EXPECT_NE(t.find("read                       10\n"), std::string::npos) << t;
  EXPECT_NE(t.find("1.0 MiB (1048576)"), std::string::npos);
  EXPECT_NE(t.find("hit ratio                  75.0%"), std::string::npos) << t;
  EXPECT_NE(t.find("dirty                      -"), std::string::npos) << t;
  EXPECT_NE(t.find("$0.005815"), std::string::npos) << t;
  EXPECT_NE(FormatStatsTable("v1", *s, 1100).find("STALE: not updated for 100 s"),
            std::string::npos);
}

TEST(StatsReportTest, PrometheusExposition) {
  auto s = ParseStatsFile(kSample, "v.stats");
  std::string p = FormatPrometheus("v\"1", *s);
  EXPECT_NE(p.find("# HELP s3nbd_requests_total "), std::string::npos);
  EXPECT_NE(p.find("# TYPE s3nbd_requests_total counter\n"), std::string::npos);
  EXPECT_NE(p.find("s3nbd_requests_total{volume=\"v\\\"1\",type=\"read\"} 10\n"), std::string::npos)
      << p;
  EXPECT_NE(p.find("s3nbd_s3_requests_total{volume=\"v\\\"1\",op=\"multi_delete\"} 2\n"),
            std::string::npos);
  EXPECT_NE(p.find("# TYPE s3nbd_uptime_seconds gauge\n"), std::string::npos);
  EXPECT_NE(p.find("s3nbd_estimated_request_cost_usd{volume=\"v\\\"1\"} 0.005815\n"),
            std::string::npos)
      << p;
  // absent keys produce no metric at all (no HELP without samples)
  EXPECT_EQ(p.find("cache_dirty_bytes"), std::string::npos);
  // every non-comment line is "name{labels} value"
  size_t pos = 0;
  while (pos < p.size()) {
    size_t nl = p.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    std::string line = p.substr(pos, nl - pos);
    if (line[0] != '#') {
      EXPECT_EQ(line.rfind("s3nbd_", 0), 0u) << line;
      EXPECT_NE(line.find("} "), std::string::npos) << line;
    }
    pos = nl + 1;
  }
}

TEST(StatsReportTest, PrometheusManyVolumesOneFamilyHeader) {
  auto s = ParseStatsFile(kSample, "v.stats");
  std::vector<VolumeStats> vols = {{"a", *s, true}, {"b", *s, true}, {"gone", *s, false}};
  std::string p = FormatPrometheus(vols, true);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t pos = p.find(needle); pos != std::string::npos; pos = p.find(needle, pos + 1)) n++;
    return n;
  };
  EXPECT_EQ(count("# TYPE s3nbd_written_bytes_total counter\n"), 1u) << p;
  EXPECT_EQ(count("# HELP s3nbd_up "), 1u);
  EXPECT_NE(p.find("s3nbd_up{volume=\"a\"} 1\ns3nbd_up{volume=\"b\"} 1\n"
                   "s3nbd_up{volume=\"gone\"} 0\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("s3nbd_written_bytes_total{volume=\"a\"} 1048576\n"
                   "s3nbd_written_bytes_total{volume=\"b\"} 1048576\n# HELP"),
            std::string::npos)
      << p;
  // a stopped server's counters are not exported, only its last update time
  EXPECT_EQ(p.find("s3nbd_requests_total{volume=\"gone\""), std::string::npos);
  EXPECT_EQ(p.find("s3nbd_estimated_request_cost_usd{volume=\"gone\""), std::string::npos);
  EXPECT_NE(p.find("s3nbd_stats_updated_timestamp_seconds{volume=\"gone\"} 1000\n"),
            std::string::npos);
  // the single-volume form (s3nbd stats --prometheus) has no s3nbd_up
  EXPECT_EQ(FormatPrometheus("a", *s).find("s3nbd_up{"), std::string::npos);
  EXPECT_EQ(FormatPrometheus({}, true), "");
}

}  // namespace
}  // namespace s3nbd::cli
