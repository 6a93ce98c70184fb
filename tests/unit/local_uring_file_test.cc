// Tests of the io_uring CacheFile: batches larger than the ring depth, errors reported as
// Status with the failing offset, sync, and growing a regular file.
#include <gtest/gtest.h>

#include <cstring>

#include "cache/local/uring_file.h"
#include "tests/unit/local_test_util.h"

namespace s3nbd {
namespace {

TEST(LocalUringFile, BatchesLargerThanTheRingRoundTrip) {
  testing::TempDir dir;
  auto f = CacheFile::Open(dir.File("f"), false);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE((*f)->Reserve(300 * 4096).ok());
  EXPECT_EQ((*f)->size(), 300u * 4096);
  std::vector<std::string> bufs(300);
  std::vector<IoOp> ops(300);
  for (size_t i = 0; i < ops.size(); i++) {
    bufs[i] = std::string(4096, static_cast<char>(i));
    ops[i] =
        IoOp{IoOp::Kind::kWrite, -1, reinterpret_cast<uint8_t*>(bufs[i].data()), 4096, i * 4096};
  }
  ASSERT_TRUE((*f)->RunData(ops).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  std::vector<std::string> back(300, std::string(4096, 'x'));
  for (size_t i = 0; i < ops.size(); i++)
    ops[i] =
        IoOp{IoOp::Kind::kRead, -1, reinterpret_cast<uint8_t*>(back[i].data()), 4096, i * 4096};
  ASSERT_TRUE((*f)->RunData(ops).ok());
  for (size_t i = 0; i < ops.size(); i++) ASSERT_EQ(back[i], bufs[i]) << i;
}

TEST(LocalUringFile, ReadPastTheEndIsAnError) {
  testing::TempDir dir;
  auto f = CacheFile::Open(dir.File("f"), false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Reserve(4096).ok());
  std::string b(4096, '\0');
  IoOp op{IoOp::Kind::kRead, -1, reinterpret_cast<uint8_t*>(b.data()), 4096, 8192};
  Status s = (*f)->RunData(std::span<IoOp>(&op, 1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("offset 8192"), std::string::npos) << s.message();
  // The thread's ring still works afterwards.
  op.offset = 0;
  EXPECT_TRUE((*f)->RunData(std::span<IoOp>(&op, 1)).ok());
}

TEST(LocalUringFile, OpenFailureNamesThePath) {
  auto f = CacheFile::Open("/nonexistent-dir/cache", false);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent-dir/cache"), std::string::npos);
  EXPECT_EQ(f.status().err(), ENOENT);
}

}  // namespace
}  // namespace s3nbd
