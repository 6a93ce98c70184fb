// Tests of create-only PUT on providers that ignore If-None-Match: * (MemoryS3Server in both
// modes): CreateOnlyPut refuses an existing object and a lost race, the probe tells the two
// kinds apart and deletes its object, results are cached per (endpoint, bucket), and
// RequireCreateOnly refuses with the provider's behaviour named unless unsafe_single_host.
#include "cache/s3/create_only_probe.h"

#include <gtest/gtest.h>

#include "tests/unit/s3/fake_s3_server.h"
#include "tests/unit/s3/memory_s3_server.h"

namespace s3nbd {
namespace {

std::unique_ptr<S3Client> Client(const std::string& endpoint, const std::string& bucket = "bkt") {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = bucket;
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = 0;
  c.max_connections = 2;
  return std::move(S3Client::Create(c)).value();
}

class CreateOnlyProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { ForgetCreateOnlyProbes(); }
  void TearDown() override { ForgetCreateOnlyProbes(); }
};

TEST_F(CreateOnlyProbeTest, CreateOnlyPutCreatesAnAbsentObject) {
  for (bool honour : {true, false}) {
    MemoryS3Server server("bkt", honour);
    auto client = Client(server.endpoint());
    ASSERT_TRUE(CreateOnlyPut(*client, "p/volume.s3nbd", "mine").ok());
    EXPECT_EQ(server.objects().at("p/volume.s3nbd"), "mine");
    // looked, created, read back
    EXPECT_EQ(server.log(), (std::vector<std::string>{"GET p/volume.s3nbd", "PUT p/volume.s3nbd",
                                                      "GET p/volume.s3nbd"}));
  }
}

TEST_F(CreateOnlyProbeTest, CreateOnlyPutRefusesAnExistingObjectWhereTheHeaderIsIgnored) {
  MemoryS3Server server("bkt", /*honour_if_none_match=*/false);
  server.SetObject("p/volume.s3nbd", "theirs");
  auto client = Client(server.endpoint());
  Status s = CreateOnlyPut(*client, "p/volume.s3nbd", "mine");
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_NE(s.message().find("s3://bkt/p/volume.s3nbd already exists"), std::string::npos)
      << s.message();
  EXPECT_EQ(server.objects().at("p/volume.s3nbd"), "theirs");  // not overwritten
  for (const auto& r : server.log())
    EXPECT_NE(r.rfind("PUT", 0), 0u) << "no PUT after the look found it";
}

TEST_F(CreateOnlyProbeTest, CreateOnlyPutSeesAConcurrentCreatorWinning) {
  MemoryS3Server server("bkt", /*honour_if_none_match=*/false);
  // Another creator's PUT lands right after ours (both looked before either wrote).
  server.OnPut([](const std::string& key, std::map<std::string, std::string>* objects) {
    (*objects)[key] = "theirs";
  });
  auto client = Client(server.endpoint());
  Status s = CreateOnlyPut(*client, "p/volume.s3nbd", "mine");
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_NE(s.message().find("overwritten by another creator"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ignores If-None-Match: *"), std::string::npos) << s.message();
}

TEST_F(CreateOnlyProbeTest, ProbeTellsHonouredFromIgnoredAndDeletesItsObject) {
  for (bool honour : {true, false}) {
    MemoryS3Server server("bkt", honour);
    auto client = Client(server.endpoint());
    auto r = ProbeCreateOnly(*client, "vol/");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, honour ? CreateOnlySupport::kHonoured : CreateOnlySupport::kIgnored);
    EXPECT_TRUE(server.objects().empty()) << "the probe object was left behind";
    auto log = server.log();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0].rfind("PUT vol/create-only-probe.", 0), 0u) << log[0];
    EXPECT_EQ(log[1], log[0]);
    EXPECT_EQ(log[2], "DELETE " + log[0].substr(4));
    EXPECT_EQ(log[0].size(), std::string("PUT vol/create-only-probe..s3nbd").size() + 32)
        << "a 32-hex token";
  }
}

TEST_F(CreateOnlyProbeTest, ProbeKeysAreUniquePerProbe) {
  MemoryS3Server server("bkt", true);
  auto client = Client(server.endpoint());
  ASSERT_TRUE(ProbeCreateOnly(*client, "").ok());
  ASSERT_TRUE(ProbeCreateOnly(*client, "").ok());
  auto log = server.log();
  ASSERT_EQ(log.size(), 6u);
  EXPECT_NE(log[0], log[3]);
  EXPECT_EQ(ProbeKey("p/", "abc"), "p/create-only-probe.abc.s3nbd");
}

TEST_F(CreateOnlyProbeTest, ResultIsCachedPerEndpointAndBucket) {
  MemoryS3Server honouring("bkt", true), ignoring("bkt", false);
  auto a = Client(honouring.endpoint()), b = Client(ignoring.endpoint());
  EXPECT_EQ(*CachedCreateOnlySupport(*a, "v1/"), CreateOnlySupport::kHonoured);
  EXPECT_EQ(*CachedCreateOnlySupport(*b, "v1/"), CreateOnlySupport::kIgnored);
  size_t before = honouring.log().size();
  // another volume of the same bucket, another client: no new probe
  EXPECT_EQ(*CachedCreateOnlySupport(*Client(honouring.endpoint()), "v2/"),
            CreateOnlySupport::kHonoured);
  EXPECT_EQ(*CachedCreateOnlySupport(*b, "v1/"), CreateOnlySupport::kIgnored);
  EXPECT_EQ(honouring.log().size(), before);
  EXPECT_EQ(ignoring.log().size(), 3u);
  // another bucket at the same endpoint is probed on its own (the fake answers it NoSuchBucket)
  EXPECT_FALSE(CachedCreateOnlySupport(*Client(honouring.endpoint(), "other"), "").ok());
}

TEST_F(CreateOnlyProbeTest, RequireRefusesWhereIgnoredNamingTheBehaviourAndTheOption) {
  MemoryS3Server server("bkt", false);
  auto client = Client(server.endpoint());
  Status s = RequireCreateOnly(*client, "v/", "open: volume bkt/v", false);
  EXPECT_EQ(s.err(), ENOTSUP);
  for (const char* part :
       {"open: volume bkt/v: this S3 endpoint (" /* endpoint follows */, "ignores If-None-Match: *",
        "the writer lease cannot keep a second writer out", "unsafe-single-host=true",
        "--unsafe-single-host"})
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in: " << s.message();
  EXPECT_TRUE(RequireCreateOnly(*client, "v/", "open: volume bkt/v", true).ok());
  EXPECT_EQ(server.log().size(), 3u) << "probed once";
}

TEST_F(CreateOnlyProbeTest, RequirePassesWhereHonoured) {
  MemoryS3Server server("bkt", true);
  auto client = Client(server.endpoint());
  EXPECT_TRUE(RequireCreateOnly(*client, "v/", "destroy: volume bkt/v", false).ok());
}

TEST_F(CreateOnlyProbeTest, ProbeErrorsRefuseAndAreNotCached) {
  const std::string denied =
      "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access "
      "Denied</Message></Error>";
  FakeS3Server server({{403, denied}});
  auto client = Client(server.endpoint());
  Status s = RequireCreateOnly(*client, "v/", "open: volume bkt/v", false);
  EXPECT_EQ(s.err(), EACCES) << s.message();
  EXPECT_NE(s.message().find("probing create-only PUT"), std::string::npos) << s.message();
  size_t n = server.requests().size();
  EXPECT_TRUE(
      RequireCreateOnly(*client, "v/", "open: volume bkt/v", true).ok());  // warned, went on
  EXPECT_GT(server.requests().size(), n) << "an error is not cached";
}

}  // namespace
}  // namespace s3nbd
