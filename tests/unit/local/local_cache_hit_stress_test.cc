// Concurrency stress of LocalCacheStore's cache-hit path (ReadRange of a verified slot takes mu_
// once and unpins without it): range readers race whole-block writers, erases and constant
// eviction in a cache far smaller than the working set, so slots are retired and reused while
// readers still hold them. A range must always come from one whole version of its own block,
// never a newer one than was written, and never from a slot reused for another block.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "tests/unit/local/local_cache_fixture.h"

namespace s3nbd {
namespace {

using LocalHitStressTest = testing::LocalCacheFixture;

constexpr uint64_t kBlocks = 40;
constexpr int kWriters = 2, kReaders = 4;

std::string Version(uint64_t block, uint32_t version) {
  if (version == 0) return std::string(4096, '\0');
  std::string s(4096, static_cast<char>('a' + (block + version) % 26));
  std::memcpy(s.data(), &block, 8);
  std::memcpy(s.data() + 8, &version, 4);
  return s;
}

TEST_F(LocalHitStressTest, RangeHitsRaceWritesAndEvictions) {
  CacheOptions o = Options(12);  // 12 slots for 40 blocks: every miss evicts
  o.max_dirty = 4 * 4096;
  o.writeback_threads = 2;
  for (uint64_t b = 0; b < kBlocks; b++) mem_.Set(b, Version(b, 1));
  auto c = Open(o);
  c->Start();
  std::vector<std::atomic<uint32_t>> latest(kBlocks);  // highest version written (or being written)
  for (auto& l : latest) l = 1;
  std::atomic<bool> writers_done{false};
  std::atomic<int> bad{0}, errors{0};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; t++)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<uint32_t> next(kBlocks, 2);
      for (int i = 0; i < 1000; i++) {
        const uint64_t b = t + kWriters * (rng() % (kBlocks / kWriters));
        const uint32_t v = next[b]++;
        latest[b] = v;
        Status s = rng() % 10 == 0 ? c->Erase(std::span<const uint64_t>(&b, 1))
                                   : c->Write(b, Version(b, v));
        if (!s.ok()) {
          errors++;
          ADD_FAILURE() << s.message();
        }
      }
    });
  for (int t = 0; t < kReaders; t++)
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      char buf[4096];
      while (!writers_done || reads < 2000) {
        const uint64_t b = rng() % kBlocks;
        const uint32_t before = latest[b];
        // A range from the start (it carries the block and version) or anywhere (one fill).
        const bool head = rng() % 2 == 0;
        const uint32_t len = head ? 12 + rng() % (4096 - 12) : 1 + rng() % 512;
        const uint32_t off = head ? 0 : 12 + rng() % (4096 - 12 - len + 1);
        Status s = c->ReadRange(b, off, len, buf);
        reads++;
        if (!s.ok()) {
          bad++;
          ADD_FAILURE() << "block " << b << ": " << s.message();
          continue;
        }
        bool ok;
        if (head) {
          uint64_t got_block;
          uint32_t v;
          std::memcpy(&got_block, buf, 8);
          std::memcpy(&v, buf + 8, 4);
          const bool zero = std::string_view(buf, len) == std::string(len, '\0');
          ok = zero || (got_block == b && v <= std::max(before, latest[b].load()) &&
                        std::string_view(buf, len) == Version(b, v).substr(0, len));
        } else {  // one byte value throughout: zeros, or the fill of some version
          ok = std::string_view(buf, len) == std::string(len, buf[0]) &&
               (buf[0] == '\0' || (buf[0] >= 'a' && buf[0] <= 'z'));
        }
        if (!ok) {
          bad++;
          ADD_FAILURE() << "block " << b << " range " << off << "+" << len << " is torn or foreign";
        }
      }
    });
  for (int t = 0; t < kWriters; t++) threads[t].join();
  writers_done = true;
  for (size_t t = kWriters; t < threads.size(); t++) threads[t].join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(c->counters().hits.load(), 0u);
  EXPECT_GT(c->counters().evictions.load(), 0u);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(20000)).ok());
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

}  // namespace
}  // namespace s3nbd
