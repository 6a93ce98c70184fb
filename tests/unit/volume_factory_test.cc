// Tests of OpenedVolume::Open (cache/volume_factory.cc) against a scripted S3 server: a failed
// open releases the writer lease it took, even when a step throws (bad_alloc).
#include "cache/volume_factory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "cache/volume_descriptor.h"
#include "tests/unit/fake_s3_server.h"

namespace s3nbd {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

TEST(VolumeFactoryTest, AThrowingOpenStillReleasesTheLease) {
  if (kAsan) GTEST_SKIP() << "ASan aborts on the 256 TiB allocation instead of throwing bad_alloc";
  // 2^63 - 512 bytes in 4 KiB blocks: the present map (2^51 bits) cannot be allocated
  auto d = NewDescriptor(uint64_t{INT64_MAX} - 511, 4096, KeyLayout::kFlat);
  ASSERT_TRUE(d.ok()) << d.status().message();
  FakeS3Server server({{200, ""},                    // HEAD bucket
                       {200, EncodeDescriptor(*d)},  // GET volume.s3nbd
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
  EXPECT_THROW((void)OpenedVolume::Open(o), std::bad_alloc);
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().head.rfind("DELETE /bkt/v/lease.s3nbd", 0), 0u)
      << "the lease was not released: " << reqs.back().head.substr(0, 60);
}

}  // namespace
}  // namespace s3nbd
