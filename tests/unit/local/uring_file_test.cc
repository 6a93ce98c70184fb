// Tests of the cache file: batches larger than the ring depth (plain syscalls buffered, the
// io_uring ring with O_DIRECT), errors reported as Status with the failing offset on both paths
// (worded alike), sync, growing a regular file, the exclusive lock (one server per cache file)
// and the refusal of symbolic links.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cache/local/uring_file.h"
#include "tests/unit/local/local_test_util.h"

namespace s3nbd {
namespace {

TEST(LocalUringFile, BatchesLargerThanTheRingRoundTrip) {
  testing::TempDir dir;
  auto f = UringCacheFile::Open(dir.File("f"), false);
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

TEST(LocalUringFile, DirectIoBatchesGoThroughTheRing) {
  testing::TempDir dir;
  auto f = UringCacheFile::Open(dir.File("f"), true);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE((*f)->direct_io());
  constexpr size_t kOps = 70;  // more than the ring's depth of 64: two waves
  ASSERT_TRUE((*f)->Reserve(kOps * 4096).ok());
  AlignedBuffer out(kOps * 4096), in(kOps * 4096);
  std::vector<IoOp> ops(kOps);
  for (size_t i = 0; i < kOps; i++) {
    std::memset(out.data() + i * 4096, static_cast<int>(i + 1), 4096);
    ops[i] = IoOp{IoOp::Kind::kWrite, -1, out.data() + i * 4096, 4096, i * 4096};
  }
  ASSERT_TRUE((*f)->RunData(ops).ok());
  for (size_t i = 0; i < kOps; i++) ops[i] = IoOp{IoOp::Kind::kRead, -1, in.data() + i * 4096, 4096, i * 4096};
  ASSERT_TRUE((*f)->RunData(ops).ok());
  EXPECT_EQ(std::memcmp(in.data(), out.data(), kOps * 4096), 0);
  // An error inside a ring batch names its offset too, and the next batch works.
  ops[3].offset = kOps * 4096 * 4;
  Status s = (*f)->RunData(std::span<IoOp>(ops.data(), 8));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("offset " + std::to_string(kOps * 4096 * 4)), std::string::npos) << s.message();
  ops[3].offset = 3 * 4096;
  EXPECT_TRUE((*f)->RunData(std::span<IoOp>(ops.data(), 8)).ok());
}

TEST(LocalUringFile, ReadPastTheEndIsAnError) {
  testing::TempDir dir;
  auto f = UringCacheFile::Open(dir.File("f"), false);
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

// The ring (a batch with ring_for_batches) and the plain syscalls word a failure alike: the
// same op, offset and cause (IoError), for an errno (a closed descriptor) and for an EOF.
TEST(LocalUringFile, TheRingAndTheSyscallsNameAFailureAlike) {
  testing::TempDir dir;
  const std::string path = dir.File("f");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  AlignedBuffer buf(2 * 4096);
  auto both = [&](IoOp failing) {  // the failing op second in a batch of two, on each path
    std::string texts[2];
    for (bool ring : {false, true}) {
      IoOp ops[2] = {IoOp{IoOp::Kind::kRead, fd.get(), buf.data(), 4096, 0}, failing};
      Status s = RunCacheIo(std::span<IoOp>(ops, 2), ring);
      EXPECT_FALSE(s.ok()) << (ring ? "ring" : "syscalls");
      EXPECT_EQ(s.err(), IoError(failing, failing.fd < 0 ? EBADF : 0).err());
      texts[ring] = s.message();
    }
    EXPECT_EQ(texts[0], texts[1]);
    return texts[0];
  };
  EXPECT_EQ(both(IoOp{IoOp::Kind::kWrite, -1, buf.data() + 4096, 4096, 3 * 4096}),
            "write at offset 12288: " + std::string(std::strerror(EBADF)));
  EXPECT_EQ(both(IoOp{IoOp::Kind::kRead, fd.get(), buf.data() + 4096, 4096, 2 * 4096}),
            "short transfer at offset 8192");
  EXPECT_EQ(both(IoOp{IoOp::Kind::kSync, -1}), "fdatasync: " + std::string(std::strerror(EBADF)));
}

TEST(LocalUringFile, OpenFailureNamesThePath) {
  auto f = UringCacheFile::Open("/nonexistent-dir/cache", false);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent-dir/cache"), std::string::npos);
  EXPECT_EQ(f.status().err(), ENOENT);
}

// Two servers on one cache file overwrite each other's slots: the second open is refused, and
// the message names the process that holds the file.
TEST(LocalUringFile, ASecondOpenerIsRefusedNamingTheHolder) {
  testing::TempDir dir;
  const std::string path = dir.File("cache");
  {
    auto first = UringCacheFile::Open(path, false);
    ASSERT_TRUE(first.ok()) << first.status().message();
    auto second = UringCacheFile::Open(path, false);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().err(), EBUSY);
    EXPECT_NE(second.status().message().find("in use by another server"), std::string::npos)
        << second.status().message();
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {  // the holder: keeps the file open until killed
    auto held = UringCacheFile::Open(path, false);
    char c = held.ok() ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    ::pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto refused = UringCacheFile::Open(path, false);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("pid " + std::to_string(child)), std::string::npos)
      << refused.status().message();
  // kill -9 of the holder releases the lock with its last descriptor.
  auto after = UringCacheFile::Open(path, false);
  EXPECT_TRUE(after.ok()) << after.status().message();
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(LocalUringFile, ASymbolicLinkIsRefused) {
  testing::TempDir dir;
  ASSERT_EQ(::symlink(dir.File("elsewhere").c_str(), dir.File("cache").c_str()), 0);
  auto f = UringCacheFile::Open(dir.File("cache"), false);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().err(), ELOOP);
  EXPECT_NE(f.status().message().find("symbolic link"), std::string::npos) << f.status().message();
  EXPECT_NE(::access(dir.File("elsewhere").c_str(), F_OK), 0);  // nothing created behind it
}

}  // namespace
}  // namespace s3nbd
