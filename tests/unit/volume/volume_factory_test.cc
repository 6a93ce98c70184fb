// Tests of the assembly function's safety on providers that ignore If-None-Match: *
// (MemoryS3Server): CreateVolume refuses an existing volume and leaves its descriptor alone;
// a writable open is refused with the behaviour named (no lease left behind) unless
// unsafe_single_host; a read-only open and an open where the header is honoured go on. And
// against a scripted server (FakeS3Server): a failed open releases the writer lease it took,
// even when a step throws (bad_alloc).
#include "cache/volume/volume_factory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>

#include "cache/s3/create_only_probe.h"
#include "cache/volume/volume_descriptor.h"
#include "tests/unit/s3/fake_s3_server.h"
#include "tests/unit/s3/memory_s3_server.h"

namespace s3nbd {
namespace {

class VolumeFactoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ForgetCreateOnlyProbes();
    creds_ = ::testing::TempDir() + "/vf-creds-" + std::to_string(::getpid());
    std::ofstream(creds_)
        << "[default]\naws_access_key_id = AKIATEST\naws_secret_access_key = secret\n";
  }
  void TearDown() override {
    ForgetCreateOnlyProbes();
    std::remove(creds_.c_str());
  }
  VolumeOptions Options(const MemoryS3Server& server) {
    VolumeOptions o;
    o.s3.endpoint = server.endpoint();
    o.s3.bucket = "bkt";
    o.s3.retry_seconds = 0;
    o.s3.max_connections = 2;
    o.prefix = "vol";
    o.credentials_file = creds_;
    o.lease_seconds = 30;
    return o;
  }
  std::string creds_;
};

TEST_F(VolumeFactoryTest, CreateRefusesAnExistingVolumeWhereTheHeaderIsIgnored) {
  MemoryS3Server server("bkt", /*honour_if_none_match=*/false);
  VolumeOptions o = Options(server);
  auto client = ConnectBucket(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto first = CreateVolume(**client, o, 1 << 20, 65536, KeyLayout::kFlat);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::string descriptor = server.objects().at("vol/volume.s3nbd");
  auto second = CreateVolume(**client, o, 2 << 20, 65536, KeyLayout::kFlat);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().err(), EEXIST);
  EXPECT_NE(second.status().message().find("a volume already exists at s3://bkt/vol/"),
            std::string::npos)
      << second.status().message();
  EXPECT_EQ(server.objects().at("vol/volume.s3nbd"), descriptor)
      << "the existing volume was overwritten";
}

TEST_F(VolumeFactoryTest, WritableOpenIsRefusedWhereTheHeaderIsIgnored) {
  MemoryS3Server server("bkt", false);
  VolumeOptions o = Options(server);
  ASSERT_TRUE(CreateVolume(**ConnectBucket(o), o, 1 << 20, 65536, KeyLayout::kFlat).ok());
  auto v = OpenedVolume::Open(o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().err(), ENOTSUP);
  EXPECT_NE(v.status().message().find("open: volume bkt/vol: this S3 endpoint"), std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find("ignores If-None-Match: *"), std::string::npos);
  EXPECT_NE(v.status().message().find("unsafe-single-host=true"), std::string::npos);
  auto objects = server.objects();
  EXPECT_EQ(objects.count("vol/lease.s3nbd"), 0u) << "a refused open took the lease";
  EXPECT_EQ(objects.size(), 1u) << "only the descriptor: the probe object was deleted";
}

TEST_F(VolumeFactoryTest, UnsafeSingleHostAndReadOnlyOpensGoOn) {
  MemoryS3Server server("bkt", false);
  VolumeOptions o = Options(server);
  ASSERT_TRUE(CreateVolume(**ConnectBucket(o), o, 1 << 20, 65536, KeyLayout::kFlat).ok());
  VolumeOptions ro = o;
  ro.readonly = true;
  auto r = OpenedVolume::Open(ro);
  ASSERT_TRUE(r.ok()) << r.status().message();
  o.unsafe_single_host = true;
  auto w = OpenedVolume::Open(o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(server.objects().count("vol/lease.s3nbd"), 1u);
  (*w)->ReleaseLease();
}

TEST_F(VolumeFactoryTest, WritableOpenGoesOnWhereTheHeaderIsHonoured) {
  MemoryS3Server server("bkt", true);
  VolumeOptions o = Options(server);
  ASSERT_TRUE(CreateVolume(**ConnectBucket(o), o, 1 << 20, 65536, KeyLayout::kFlat).ok());
  auto w = OpenedVolume::Open(o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  (*w)->ReleaseLease();
  EXPECT_EQ(server.objects().count("vol/lease.s3nbd"), 0u);
}

TEST_F(VolumeFactoryTest, Version2DescriptorIsRefusedBeforeAnythingElse) {
  MemoryS3Server server("bkt", true);
  VolumeOptions o = Options(server);
  auto client = ConnectBucket(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto d = NewDescriptor(1 << 20, 65536, KeyLayout::kFlat);
  ASSERT_TRUE(d.ok());
  MakeVersion2(&*d);
  ASSERT_TRUE((*client)->Put("vol/volume.s3nbd", EncodeDescriptor(*d)).ok());
  auto any = ReadAnyDescriptor(**client, o);  // the versioned stack's entry: it reads
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_EQ(any->format, 2);
  auto read = ReadDescriptor(**client, o);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().err(), ENOTSUP);
  EXPECT_EQ(read.status().message(),
            "s3://bkt/vol/: volume format 2 (versioned volume) is not yet supported by this s3nbd");
  for (bool readonly : {false, true}) {
    VolumeOptions open = o;
    open.readonly = readonly;
    auto v = OpenedVolume::Open(open);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().err(), ENOTSUP);
    EXPECT_NE(v.status().message().find("volume format 2 (versioned volume) is not yet supported by this s3nbd"),
              std::string::npos)
        << v.status().message();
  }
  auto objects = server.objects();
  EXPECT_EQ(objects.size(), 1u) << "a refused open wrote something (lease, token or probe)";
  EXPECT_EQ(objects.at("vol/volume.s3nbd"), EncodeDescriptor(*d));
}

TEST(VolumeFactoryOpenTest, AThrowingOpenStillReleasesTheLease) {
  // A step after the lease throws (in production: e.g. bad_alloc of a huge present map).
  auto d = NewDescriptor(uint64_t{1} << 20, 4096, KeyLayout::kFlat);
  ASSERT_TRUE(d.ok()) << d.status().message();
  FakeS3Server server({{200, ""},                    // HEAD bucket
                       {200, EncodeDescriptor(*d)},  // GET volume.s3nbd
                       {200, ""},                    // create-only probe: the first PUT
                       {412, ""},                    //   the second one is refused: honoured
                       {204, ""},                    //   DELETE of the probe object
                       {200, ""},                    // create-only PUT of the lease
                       {200, "", "", 0, true},       // verifying GET: our record
                       {200, "", "", 0, true},       // release: GET, still ours
                       {204, ""}});                  // release: DELETE
  setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  VolumeOptions o;
  o.s3.endpoint = server.endpoint();
  o.s3.bucket = "bkt";
  o.s3.retry_seconds = 0;
  o.prefix = "v";
  o.lease_seconds = 60;
  bool thrown = false;
  o.after_lease_for_test = [&] {
    thrown = true;
    throw std::bad_alloc();
  };
  EXPECT_THROW((void)OpenedVolume::Open(o), std::bad_alloc);
  EXPECT_TRUE(thrown) << "the open never reached the step after the lease";
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().head.rfind("DELETE /bkt/v/lease.s3nbd", 0), 0u)
      << "the lease was not released: " << reqs.back().head.substr(0, 60);
}

}  // namespace
}  // namespace s3nbd
