// Tests of what the doctor's facts mean: the feature table (lease safe only with create-only
// PUT, DeleteObjects for TRIM/destroy, listing, clock, versioning) and the exit status (1 for
// an essential failure, 3 for warnings, 0 otherwise).
#include "cache/s3/provider_verdict.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

ProviderFacts Healthy() {
  ProviderFacts f;
  f.reachable = f.authenticated = f.bucket_exists = f.basic_io = f.cleaned = true;
  f.create_only = f.multi_delete = f.paging = f.range = f.if_match = Support::kYes;
  f.versioning = "";
  f.clock_skew_seconds = 0;
  return f;
}

RowLevel LevelOf(const std::vector<ProbeRow>& rows, const std::string& name) {
  for (const ProbeRow& r : rows)
    if (r.name == name) return r.level;
  ADD_FAILURE() << "no row " << name;
  return RowLevel::kSkipped;
}

TEST(ProviderVerdictTest, AHealthyProviderIsSafeForEveryFeature) {
  auto rows = FeatureVerdicts(Healthy());
  ASSERT_EQ(rows.size(), 8u);
  for (const ProbeRow& r : rows) EXPECT_EQ(r.level, RowLevel::kOk) << r.name << ": " << r.detail;
  EXPECT_EQ(DoctorExitCode({}, rows), kDoctorOk);
}

TEST(ProviderVerdictTest, TheLeaseNeedsCreateOnlyPut) {
  for (Support s : {Support::kNo, Support::kUnknown, Support::kUnreliable}) {
    ProviderFacts f = Healthy();
    f.create_only = s;
    auto rows = FeatureVerdicts(f);
    EXPECT_EQ(LevelOf(rows, "writable serve, attach (writer lease)"), RowLevel::kWarn);
    EXPECT_EQ(LevelOf(rows, "destroy, passwd"), RowLevel::kWarn);
    EXPECT_EQ(DoctorExitCode({}, rows), kDoctorWarnings);
  }
  ProviderFacts f = Healthy();
  f.if_match = Support::kUnreliable;  // not needed by the lease
  EXPECT_EQ(DoctorExitCode({}, FeatureVerdicts(f)), kDoctorOk);
}

TEST(ProviderVerdictTest, DeleteObjectsListingClockAndVersioning) {
  ProviderFacts f = Healthy();
  f.multi_delete = Support::kNo;
  auto rows = FeatureVerdicts(f);
  EXPECT_EQ(LevelOf(rows, "TRIM, zero writes, fsck --repair"), RowLevel::kWarn);
  EXPECT_EQ(LevelOf(rows, "destroy, passwd"), RowLevel::kWarn);
  f.single_deletes = true;  // not implemented: the fallback works, slower
  for (const ProbeRow& row : FeatureVerdicts(f)) {
    if (row.name == "TRIM, zero writes, fsck --repair" || row.name == "destroy, passwd") {
      EXPECT_EQ(row.level, RowLevel::kWarn);
      EXPECT_NE(row.detail.find("one key per request"), std::string::npos) << row.detail;
    }
  }
  f = Healthy();
  f.paging = Support::kNo;
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "open (present-block listing)"), RowLevel::kFail);
  f.paging = Support::kError;  // a page failed: loud, not silent
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "open (present-block listing)"), RowLevel::kWarn);
  f.paging = Support::kUnreliable;  // max-keys ignored: listings still whole
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "open (present-block listing)"), RowLevel::kOk);
  f = Healthy();
  f.clock_skew_seconds = kClockSkewWarnSeconds;
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "lease takeover (clock)"), RowLevel::kOk);
  f.clock_skew_seconds = -kClockSkewWarnSeconds - 1;
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "lease takeover (clock)"), RowLevel::kWarn);
  f.clock_skew_seconds.reset();
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "lease takeover (clock)"), RowLevel::kInfo);
  f = Healthy();
  f.versioning = "Enabled";
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "storage (versioning)"), RowLevel::kWarn);
  f.versioning = "Suspended";
  EXPECT_EQ(LevelOf(FeatureVerdicts(f), "storage (versioning)"), RowLevel::kInfo);
}

TEST(ProviderVerdictTest, EssentialFailuresAreExitOneAndNothingIsSafe) {
  ProviderFacts f = Healthy();
  f.authenticated = false;
  auto rows = FeatureVerdicts(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].level, RowLevel::kFail);
  std::vector<ProbeRow> checks = {{"authentication", RowLevel::kFail, "HTTP 403", true}};
  EXPECT_EQ(DoctorExitCode(checks, rows), kDoctorFailure);
  // a failed check that is not essential is a warning
  checks = {{"ranged GET", RowLevel::kFail, "x", false}, {"retries", RowLevel::kInfo, "3", false}};
  EXPECT_EQ(DoctorExitCode(checks, FeatureVerdicts(Healthy())), kDoctorWarnings);
  checks = {{"retries", RowLevel::kInfo, "3", false}, {"x", RowLevel::kSkipped, "", true}};
  EXPECT_EQ(DoctorExitCode(checks, FeatureVerdicts(Healthy())), kDoctorOk);
  EXPECT_STREQ(RowLevelName(RowLevel::kWarn), "WARN");
}

}  // namespace
}  // namespace s3nbd
