// Tests of the doctor's probe against MemoryS3Server with each provider behaviour it must tell
// apart: an honest provider passes every check (exit 0); one that ignores If-None-Match: * is
// reported unsafe for the writer lease (exit 3); If-Match ignored or refusing its own ETag,
// no DeleteObjects, Range or max-keys ignored, versioning, a skewed clock; wrong credentials, a
// missing bucket and no server at all fail with clear messages (exit 1). Every run leaves the
// bucket as it found it, also after a failed check or an interruption.
#include "cache/s3/provider_probe.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/unit/s3/memory_s3_server.h"

namespace s3nbd {
namespace {

std::unique_ptr<S3Client> Client(const std::string& endpoint,
                                 const std::string& access_key = "AKIATEST") {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {access_key, "secret", ""};
  c.retry_seconds = 0;
  c.max_connections = 8;
  return std::move(S3Client::Create(c)).value();
}

ProbeOptions Quick(const std::string& prefix = "vol/") {
  ProbeOptions o;
  o.prefix = prefix;
  o.block_size = 64 << 10;
  o.samples = 2;
  o.parallel = 3;
  return o;
}

const ProbeRow& Find(const std::vector<ProbeRow>& rows, const std::string& name) {
  for (const ProbeRow& r : rows)
    if (r.name == name) return r;
  static const ProbeRow kMissing{"(missing)", RowLevel::kSkipped, "no such row", false};
  ADD_FAILURE() << "no row '" << name << "'";
  return kMissing;
}

bool Has(const ProbeRow& r, const std::string& text) {
  return r.detail.find(text) != std::string::npos;
}

ProbeReport Probe(MemoryS3Server& server, const ProbeOptions& options = Quick()) {
  auto client = Client(server.endpoint());
  return ProbeProvider(*client, options);
}

TEST(ProviderProbeTest, AnHonestProviderPassesEveryCheckAndIsLeftAsItWas) {
  MemoryS3Server server("bkt", MemoryS3Behaviour{});
  server.SetObject("vol/volume.s3nbd", "someone's volume");
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorOk);
  for (const ProbeRow& row : r.checks)
    EXPECT_TRUE(row.level == RowLevel::kOk || row.level == RowLevel::kInfo)
        << row.name << ": " << row.detail;
  for (const ProbeRow& row : r.features)
    EXPECT_EQ(row.level, RowLevel::kOk) << row.name << ": " << row.detail;
  EXPECT_TRUE(Has(Find(r.checks, "create-only PUT"), "honoured"));
  EXPECT_TRUE(Has(Find(r.checks, "conditional PUT"), "If-Match honoured"));
  EXPECT_TRUE(Has(Find(r.checks, "listing pages"), "5 keys in 3 pages of max-keys=2"));
  EXPECT_TRUE(Has(Find(r.checks, "multi-delete"), "removed 5 objects"));
  EXPECT_TRUE(Has(Find(r.checks, "ranged GET"), "HTTP 206"));
  EXPECT_TRUE(Has(Find(r.checks, "clock skew"), "agrees"));
  EXPECT_TRUE(Has(Find(r.checks, "latency 64 KiB"), "PUT p50"));
  EXPECT_TRUE(Has(Find(r.checks, "throughput 64 KiB"), "3 objects at once"));
  EXPECT_TRUE(Has(Find(r.checks, "cleanup"), "nothing left under s3://bkt/vol/.s3nbd-doctor/"));
  EXPECT_EQ(r.area.rfind("vol/.s3nbd-doctor/", 0), 0u);
  EXPECT_EQ(r.area.size(), std::string("vol/.s3nbd-doctor/").size() + 33);
  EXPECT_TRUE(r.facts.cleaned);
  // Only its own keys were touched; the volume's descriptor is still there, alone.
  EXPECT_EQ(server.objects(),
            (std::map<std::string, std::string>{{"vol/volume.s3nbd", "someone's volume"}}));
  for (const std::string& line : server.log()) {
    size_t sp = line.find(' ');
    std::string key = line.substr(sp + 1);
    if (line.rfind("PUT ", 0) == 0 || line.rfind("DELETE ", 0) == 0) {
      EXPECT_EQ(key.rfind(r.area, 0), 0u) << "wrote outside its area: " << line;
    }
  }
}

TEST(ProviderProbeTest, AProviderIgnoringIfNoneMatchIsUnsafeForTheWriterLease) {
  MemoryS3Behaviour b;
  b.honour_if_none_match = false;  // as s3rver does
  MemoryS3Server server("bkt", b);
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorWarnings);
  EXPECT_EQ(r.facts.create_only, Support::kNo);
  const ProbeRow& check = Find(r.checks, "create-only PUT");
  EXPECT_EQ(check.level, RowLevel::kWarn);
  EXPECT_TRUE(Has(check, "IGNORED")) << check.detail;
  const ProbeRow& lease = Find(r.features, "writable serve, attach (writer lease)");
  EXPECT_EQ(lease.level, RowLevel::kWarn);
  EXPECT_TRUE(Has(lease, "UNSAFE")) << lease.detail;
  EXPECT_TRUE(Has(lease, "unsafe-single-host=true")) << lease.detail;
  EXPECT_EQ(Find(r.features, "destroy, passwd").level, RowLevel::kWarn);
  EXPECT_EQ(Find(r.features, "create").level, RowLevel::kWarn);
  EXPECT_TRUE(server.objects().empty());
}

TEST(ProviderProbeTest, IfMatchIgnoredOrRefusingItsOwnEtagIsStatedButNotAWarning) {
  for (auto mode : {MemoryS3Behaviour::IfMatch::kIgnore, MemoryS3Behaviour::IfMatch::kNeverMatch}) {
    MemoryS3Behaviour b;
    b.if_match = mode;
    MemoryS3Server server("bkt", b);
    ProbeReport r = Probe(server);
    const ProbeRow& row = Find(r.checks, "conditional PUT");
    EXPECT_EQ(row.level, RowLevel::kInfo);
    if (mode == MemoryS3Behaviour::IfMatch::kIgnore) {
      EXPECT_EQ(r.facts.if_match, Support::kNo);
      EXPECT_TRUE(Has(row, "If-Match IGNORED")) << row.detail;
    } else {
      EXPECT_EQ(r.facts.if_match, Support::kUnreliable);
      EXPECT_TRUE(Has(row, "If-Match UNRELIABLE: 412 even with the object's own ETag"))
          << row.detail;
    }
    EXPECT_TRUE(Has(row, "s3nbd does not rely on it")) << row.detail;
    EXPECT_EQ(r.exit_code, kDoctorOk);  // the lease does not need If-Match
    EXPECT_TRUE(server.objects().empty());
  }
}

TEST(ProviderProbeTest, WithoutDeleteObjectsTrimAndDestroyAreFlaggedAndCleanupUsesSingleDeletes) {
  MemoryS3Behaviour b;
  b.multi_delete = false;
  MemoryS3Server server("bkt", b);
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorWarnings);
  EXPECT_EQ(Find(r.checks, "multi-delete").level, RowLevel::kWarn);
  EXPECT_TRUE(Has(Find(r.checks, "multi-delete"), "NotImplemented"))
      << Find(r.checks, "multi-delete").detail;
  EXPECT_TRUE(Has(Find(r.checks, "multi-delete"), "one key per request"))
      << Find(r.checks, "multi-delete").detail;
  EXPECT_TRUE(r.facts.single_deletes);
  EXPECT_EQ(r.facts.multi_delete, Support::kNo);
  EXPECT_TRUE(Has(Find(r.features, "TRIM, zero writes, fsck --repair"), "one key per request"));
  EXPECT_EQ(Find(r.features, "TRIM, zero writes, fsck --repair").level, RowLevel::kWarn);
  EXPECT_TRUE(Has(Find(r.features, "destroy, passwd"), "DeleteObjects"));
  EXPECT_EQ(Find(r.checks, "cleanup").level, RowLevel::kOk);
  EXPECT_TRUE(server.objects().empty());
}

TEST(ProviderProbeTest, IgnoredRangeAndMaxKeysAreInformation) {
  MemoryS3Behaviour b;
  b.honour_range = false;
  b.paging = false;
  MemoryS3Server server("bkt", b);
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorOk);
  EXPECT_EQ(Find(r.checks, "ranged GET").level, RowLevel::kInfo);
  EXPECT_TRUE(Has(Find(r.checks, "ranged GET"), "Range ignored"));
  EXPECT_EQ(Find(r.checks, "listing pages").level, RowLevel::kInfo);
  EXPECT_TRUE(Has(Find(r.checks, "listing pages"), "max-keys was ignored: 5 keys in 1 pages"));
  EXPECT_EQ(r.facts.paging, Support::kUnreliable);
}

TEST(ProviderProbeTest, AListingThatFailsBeyondOnePageIsAWarningNamingLargeVolumes) {
  MemoryS3Behaviour b;
  b.paging_error = true;  // as s3rver does here
  MemoryS3Server server("bkt", b);
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorWarnings);
  EXPECT_EQ(r.facts.paging, Support::kError);
  const ProbeRow& row = Find(r.checks, "listing pages");
  EXPECT_EQ(row.level, RowLevel::kFail);
  EXPECT_FALSE(row.essential);
  EXPECT_TRUE(Has(row, "page 1: LIST bkt prefix 'vol/.s3nbd-doctor/")) << row.detail;
  EXPECT_TRUE(Has(row, "HTTP 500 InternalError")) << row.detail;
  const ProbeRow& open = Find(r.features, "open (present-block listing)");
  EXPECT_EQ(open.level, RowLevel::kWarn);
  EXPECT_TRUE(Has(open, "more than 1000 stored blocks")) << open.detail;
  EXPECT_EQ(Find(r.checks, "cleanup").level, RowLevel::kOk);
  EXPECT_TRUE(server.objects().empty());
}

TEST(ProviderProbeTest, VersioningAndClockSkewAreWarned) {
  MemoryS3Behaviour b;
  b.versioning = "Enabled";
  b.clock_skew_seconds = -120;
  MemoryS3Server server("bkt", b);
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorWarnings);
  EXPECT_EQ(Find(r.checks, "versioning").level, RowLevel::kWarn);
  EXPECT_TRUE(Has(Find(r.checks, "versioning"), "noncurrent versions"));
  EXPECT_EQ(Find(r.features, "storage (versioning)").level, RowLevel::kWarn);
  const ProbeRow& clock = Find(r.checks, "clock skew");
  EXPECT_EQ(clock.level, RowLevel::kWarn);
  ASSERT_TRUE(r.facts.clock_skew_seconds.has_value());
  EXPECT_LE(*r.facts.clock_skew_seconds, -118);
  EXPECT_GE(*r.facts.clock_skew_seconds, -121);
  EXPECT_TRUE(Has(clock, "behind this host's")) << clock.detail;
  EXPECT_TRUE(Has(Find(r.features, "lease takeover (clock)"), "NTP"));
}

TEST(ProviderProbeTest, WrongCredentialsFailAuthenticationClearlyAndWriteNothing) {
  MemoryS3Behaviour b;
  b.access_key = "AKIARIGHT";
  MemoryS3Server server("bkt", b);
  auto client = Client(server.endpoint(), "AKIAWRONG");
  ProbeReport r = ProbeProvider(*client, Quick());
  EXPECT_EQ(r.exit_code, kDoctorFailure);
  const ProbeRow& auth = Find(r.checks, "authentication");
  EXPECT_EQ(auth.level, RowLevel::kFail);
  EXPECT_TRUE(auth.essential);
  EXPECT_TRUE(Has(auth, "InvalidAccessKeyId")) << auth.detail;
  EXPECT_TRUE(Has(auth, "check the access key")) << auth.detail;
  EXPECT_EQ(Find(r.checks, "put/get/delete").level, RowLevel::kSkipped);
  EXPECT_EQ(Find(r.features, "every feature").level, RowLevel::kFail);
  for (const std::string& line : server.log()) EXPECT_NE(line.rfind("PUT", 0), 0u) << line;
}

TEST(ProviderProbeTest, AMissingBucketIsNamed) {
  MemoryS3Server server("other", MemoryS3Behaviour{});
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorFailure);
  EXPECT_EQ(Find(r.checks, "authentication").level, RowLevel::kOk);
  const ProbeRow& bucket = Find(r.checks, "bucket");
  EXPECT_EQ(bucket.level, RowLevel::kFail);
  EXPECT_TRUE(Has(bucket, "bucket 'bkt' does not exist at " + server.endpoint())) << bucket.detail;
  EXPECT_EQ(Find(r.checks, "cleanup").level, RowLevel::kSkipped);
}

TEST(ProviderProbeTest, NoServerFailsTheEndpointCheck) {
  std::string endpoint;
  {
    MemoryS3Server gone("bkt", MemoryS3Behaviour{});
    endpoint = gone.endpoint();
  }
  auto client = Client(endpoint);
  ProbeReport r = ProbeProvider(*client, Quick());
  EXPECT_EQ(r.exit_code, kDoctorFailure);
  const ProbeRow& ep = Find(r.checks, "endpoint");
  EXPECT_EQ(ep.level, RowLevel::kFail);
  EXPECT_TRUE(Has(ep, "cannot reach " + endpoint)) << ep.detail;
  EXPECT_EQ(Find(r.checks, "authentication").level, RowLevel::kSkipped);
}

TEST(ProviderProbeTest, AFailedCheckStillEmptiesTheAreaIncludingStrays) {
  MemoryS3Server server("bkt", MemoryS3Behaviour{});
  // A provider that garbles what it stores; and something else writing into the area.
  server.OnPut([](const std::string& key, std::map<std::string, std::string>* objects) {
    if (key.size() > 6 && key.compare(key.size() - 6, 6, "/basic") == 0) {
      (*objects)[key] = "garbled";
      (*objects)[key.substr(0, key.size() - 5) + "stray"] = "x";
    }
  });
  ProbeReport r = Probe(server);
  EXPECT_EQ(r.exit_code, kDoctorFailure);
  const ProbeRow& basic = Find(r.checks, "put/get/delete");
  EXPECT_EQ(basic.level, RowLevel::kFail);
  EXPECT_TRUE(Has(basic, "differ from those written")) << basic.detail;
  EXPECT_EQ(Find(r.checks, "cleanup").level, RowLevel::kOk) << Find(r.checks, "cleanup").detail;
  EXPECT_TRUE(server.objects().empty());
}

TEST(ProviderProbeTest, AnInterruptionStopsAfterTheCurrentStepAndStillCleansUp) {
  std::atomic<bool> stop{false};  // outlives the server, whose hook sets it
  MemoryS3Server server("bkt", MemoryS3Behaviour{});
  server.OnPut([&stop](const std::string& key, std::map<std::string, std::string>*) {
    if (key.find("/list/") != std::string::npos) stop = true;  // a signal during the listing
  });
  ProbeOptions o = Quick();
  o.interrupted = &stop;
  ProbeReport r = Probe(server, o);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(Find(r.checks, "interrupted").level, RowLevel::kWarn);
  EXPECT_EQ(Find(r.checks, "listing pages").level, RowLevel::kOk);  // the step in progress ends
  for (const ProbeRow& row : r.checks) EXPECT_NE(row.name, "ranged GET") << "ran after the stop";
  EXPECT_EQ(Find(r.checks, "cleanup").level, RowLevel::kOk);
  EXPECT_TRUE(server.objects().empty());
}

TEST(ProviderProbeTest, TheVolumesBlockSizeIsUsedUnlessOneIsGiven) {
  MemoryS3Server server("bkt", MemoryS3Behaviour{});
  ProbeOptions o = Quick("");
  o.block_size = 0;
  o.volume_block_size = [](S3Client&) -> Result<uint32_t> { return uint32_t{16384}; };
  ProbeReport r = Probe(server, o);
  EXPECT_EQ(r.block_size, 16384u);
  EXPECT_EQ(r.block_size_origin, "the volume's");
  EXPECT_EQ(Find(r.checks, "latency 16 KiB").level, RowLevel::kInfo);
  EXPECT_EQ(r.area.rfind(".s3nbd-doctor/", 0), 0u);  // at the bucket root
  o.volume_block_size = [](S3Client&) -> Result<uint32_t> { return Status::Error(ENOENT, "none"); };
  r = Probe(server, o);
  EXPECT_EQ(r.block_size, 1u << 20);
  EXPECT_EQ(r.block_size_origin, "default");
  o.block_size = 8192;
  r = Probe(server, o);
  EXPECT_EQ(r.block_size, 8192u);
  EXPECT_EQ(r.block_size_origin, "--block-size");
  EXPECT_TRUE(server.objects().empty());
}

}  // namespace
}  // namespace s3nbd
