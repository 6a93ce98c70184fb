// Crash test: a child process runs concurrent writers with writeback uploading to a
// file-backed store, logs every acknowledged write, and SIGKILLs itself mid-run. The parent
// reopens the same cache: every block must read as its last acknowledged version (or the one
// in flight at the kill), and after the drain the store must hold exactly that.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "tests/unit/local/local_cache_fixture.h"
#include "tests/unit/support/local_file_block_store.h"

namespace s3nbd {
namespace {

using testing::FileBlockStore;
using testing::TestVolume;
using LocalCrashTest = testing::LocalCacheFixture;

constexpr int kWriters = 4;
constexpr uint64_t kBlocksPerWriter = 16;

std::string Version(uint64_t block, uint32_t v) {
  std::string s(4096, static_cast<char>('a' + v % 26));
  std::memcpy(s.data(), &block, 8);
  std::memcpy(s.data() + 8, &v, 4);
  return s;
}
uint32_t VersionOf(const std::string& s) {
  if (s.size() != 4096 || s == std::string(4096, '\0')) return 0;
  uint32_t v;
  std::memcpy(&v, s.data() + 8, 4);
  return v;
}

[[noreturn]] void ChildWorkload(const CacheOptions& o, const std::string& store_dir,
                                const std::string& log_path) {
  auto c = LocalCacheStore::Create(o, std::make_unique<FileBlockStore>(store_dir), TestVolume());
  if (!c.ok()) _exit(2);
  (*c)->Start();
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::atomic<int> acked{0};
  std::vector<std::thread> th;
  for (int t = 0; t < kWriters; t++) {
    th.emplace_back([&, t] {
      for (uint32_t v = 1;; v++) {
        for (uint64_t i = 0; i < kBlocksPerWriter; i++) {
          uint64_t b = t * kBlocksPerWriter + i;
          if (!(*c)->Write(b, Version(b, v)).ok()) _exit(3);
          char line[64];
          int n = std::snprintf(line, sizeof line, "%lu %u\n", static_cast<unsigned long>(b), v);
          if (::write(log, line, n) != n) _exit(4);
          if (++acked == 1500) raise(SIGKILL);
        }
        if (t == 0 && v % 7 == 0 && !(*c)->Flush().ok()) _exit(5);
      }
    });
  }
  for (auto& x : th) x.join();
  _exit(6);  // not reached
}

TEST_F(LocalCrashTest, SigkillDuringWritebackLosesNothingAcknowledged) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must see this fixture's temp dir
  CacheOptions o = Options(256);
  o.writeback_delay = std::chrono::milliseconds(1);
  o.max_dirty = 32 * 4096;
  const std::string store_dir = dir_.File("store"), log_path = dir_.File("acked.log");
  EXPECT_EXIT(ChildWorkload(o, store_dir, log_path), ::testing::KilledBySignal(SIGKILL), "");

  std::map<uint64_t, uint32_t> acked;
  std::ifstream in(log_path);
  uint64_t b;
  uint32_t v;
  while (in >> b >> v) acked[b] = std::max(acked[b], v);
  ASSERT_GE(acked.size(), 1u);

  auto c = LocalCacheStore::Create(o, std::make_unique<FileBlockStore>(store_dir), TestVolume());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE((*c)->CheckInvariants().ok()) << (*c)->CheckInvariants().message();
  std::map<uint64_t, uint32_t> seen;
  for (uint64_t blk = 0; blk < kWriters * kBlocksPerWriter; blk++) {
    std::string d;
    ASSERT_TRUE((*c)->Read(blk, &d).ok());
    seen[blk] = VersionOf(d);
    EXPECT_GE(seen[blk], acked[blk]) << "block " << blk << " lost an acknowledged write";
    EXPECT_LE(seen[blk], acked[blk] + 1) << "block " << blk;
  }
  (*c)->Start();
  ASSERT_TRUE((*c)->Shutdown(std::chrono::milliseconds(20000)).ok());
  FileBlockStore store(store_dir);
  for (auto [blk, ver] : seen) {
    std::string d;
    Status s = store.Read(blk, &d);
    EXPECT_EQ(s.ok() ? VersionOf(d) : 0u, ver) << "block " << blk;
  }
}

}  // namespace
}  // namespace s3nbd
