// Tests of the doctor's output: the table has every row with its result and the verdict with
// the exit status, warns where the writer lease cannot be trusted (naming
// unsafe-single-host=true), and --json is one valid, escaped document.
#include "daemon/doctor_report.h"

#include <gtest/gtest.h>

namespace s3nbd::cli {
namespace {

ProbeReport Sample(Support create_only) {
  ProbeReport r;
  r.area = "v/.s3nbd-doctor/0123/";
  r.block_size = 1 << 20;
  r.block_size_origin = "default";
  r.facts.reachable = r.facts.authenticated = r.facts.bucket_exists = r.facts.basic_io = true;
  r.facts.multi_delete = r.facts.paging = Support::kYes;
  r.facts.versioning = "";
  r.facts.clock_skew_seconds = 0;
  r.facts.create_only = create_only;
  r.checks = {{"authentication", RowLevel::kOk, "accepted", true},
              {"create-only PUT", create_only == Support::kYes ? RowLevel::kOk : RowLevel::kWarn,
               "If-None-Match: * \"x\"\tIGNORED", false}};
  r.features = FeatureVerdicts(r.facts);
  r.exit_code = DoctorExitCode(r.checks, r.features);
  return r;
}

TEST(DoctorReportTest, TableRowsVerdictAndLeaseWarning) {
  DoctorHeader h{"http://127.0.0.1:1", "bkt", "bkt/v"};
  std::string t = DoctorTable(h, Sample(Support::kYes));
  EXPECT_NE(t.find("s3nbd doctor: http://127.0.0.1:1, bucket bkt, volume bkt/v\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("scratch area: s3://bkt/v/.s3nbd-doctor/0123/"), std::string::npos) << t;
  EXPECT_NE(t.find("authentication   ok       accepted\n"), std::string::npos) << t;
  EXPECT_NE(t.find("verdict: ok (exit 0)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("WARNING"), std::string::npos) << t;
  t = DoctorTable(h, Sample(Support::kNo));
  EXPECT_NE(t.find("WARNING: the writer lease cannot be trusted here (create-only PUT is ignored)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("unsafe-single-host=true"), std::string::npos) << t;
  EXPECT_NE(t.find("verdict: usable with warnings (exit 3)\n"), std::string::npos) << t;
}

TEST(DoctorReportTest, JsonIsOneEscapedDocument) {
  std::string j = DoctorJson(DoctorHeader{"http://h", "bkt", ""}, Sample(Support::kNo));
  EXPECT_EQ(j.back(), '\n');
  EXPECT_EQ(j.find('\n'), j.size() - 1);
  EXPECT_NE(
      j.find("{\"name\":\"create-only PUT\",\"result\":\"warn\",\"detail\":\"If-None-Match: * "
             "\\\"x\\\"\\u0009IGNORED\",\"essential\":false}"),
      std::string::npos)
      << j;
  EXPECT_NE(j.find("\"lease_trusted\":false,\"exit_code\":3,\"verdict\":\"usable with warnings\"}"),
            std::string::npos)
      << j;
  EXPECT_EQ(JsonString("a\\b\x01\xc3\xa9"), "\"a\\\\b\\u0001\xc3\xa9\"");
}

}  // namespace
}  // namespace s3nbd::cli
