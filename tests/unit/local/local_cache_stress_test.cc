// Concurrency stress of LocalCacheStore for a bounded number of operations: writers own
// disjoint blocks (the Volume serialises same-block writers), readers race them, flushes and
// evictions happen meanwhile. Every read must be a whole version of its own block, never
// newer than what was written; at the end the inner store holds each block's last version.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "tests/unit/local/local_cache_fixture.h"

namespace s3nbd {
namespace {

using LocalStressTest = testing::LocalCacheFixture;

constexpr uint64_t kBlocks = 48;
constexpr int kWriters = 6;

std::string Version(uint64_t block, uint32_t version) {
  if (version == 0) return std::string(4096, '\0');
  std::string s(4096, static_cast<char>('a' + (block + version) % 26));
  std::memcpy(s.data(), &block, 8);
  std::memcpy(s.data() + 8, &version, 4);
  return s;
}

// Returns the version a block's content encodes, or -1 if it is not a whole version.
int64_t Decode(uint64_t block, const std::string& s) {
  if (s == std::string(4096, '\0')) return 0;
  uint64_t b;
  uint32_t v;
  std::memcpy(&b, s.data(), 8);
  std::memcpy(&v, s.data() + 8, 4);
  if (b != block || s != Version(block, v)) return -1;
  return v;
}

TEST_F(LocalStressTest, ConcurrentReadersWritersFlushesAndEvictions) {
  CacheOptions o = Options(24);
  o.max_dirty = 8 * 4096;
  o.writeback_threads = 4;
  for (uint64_t b = 0; b < kBlocks; b += 3) mem_.Set(b, Version(b, 1));
  auto c = Open(o);
  c->Start();
  std::vector<std::atomic<uint32_t>> latest(kBlocks);  // highest version written (or being written)
  for (uint64_t b = 0; b < kBlocks; b++) latest[b] = b % 3 == 0 ? 1 : 0;
  std::vector<uint32_t> final_version(kBlocks);
  for (uint64_t b = 0; b < kBlocks; b++) final_version[b] = latest[b];
  std::atomic<bool> writers_done{false};
  std::atomic<int> bad_reads{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<uint32_t> next(kBlocks, 2);
      for (int i = 0; i < 150; i++) {
        uint64_t b = t + kWriters * (rng() % (kBlocks / kWriters));
        uint32_t v = next[b]++;
        int op = static_cast<int>(rng() % 10);
        latest[b] = v;
        Status s;
        if (op == 0) {
          uint64_t bb = b;
          s = c->Erase(std::span<const uint64_t>(&bb, 1));
          final_version[b] = 0;
        } else if (op == 1) {
          s = c->Write(b, Version(b, 0));
          final_version[b] = 0;
        } else {
          s = c->Write(b, Version(b, v));
          final_version[b] = v;
        }
        if (!s.ok()) {
          errors++;
          ADD_FAILURE() << s.message();
        }
      }
    });
  }
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!writers_done) {
        uint64_t b = rng() % kBlocks;
        uint32_t before = latest[b];
        std::string d;
        Status s = c->Read(b, &d);
        int64_t v = Decode(b, d);
        if (!s.ok() || v < 0 ||
            (v > 0 && static_cast<uint32_t>(v) > std::max(before, latest[b].load()))) {
          bad_reads++;
          ADD_FAILURE() << "block " << b << " read version " << v << ": " << s.message();
        }
        if (t == 0 && rng() % 50 == 0) {
          if (!c->Flush().ok()) errors++;
        }
        if (t == 1 && rng() % 20 == 0) {
          std::vector<uint64_t> ahead{(b + 1) % kBlocks, (b + 2) % kBlocks};
          c->Prefetch(ahead);
        }
      }
    });
  }
  for (int t = 0; t < kWriters; t++) threads[t].join();
  writers_done = true;
  for (size_t t = kWriters; t < threads.size(); t++) threads[t].join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(20000)).ok());
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
  for (uint64_t b = 0; b < kBlocks; b++) {
    std::string d;
    ASSERT_TRUE(c->Read(b, &d).ok());
    EXPECT_EQ(Decode(b, d), final_version[b]) << b;
    EXPECT_EQ(mem_.Get(b), final_version[b] ? Version(b, final_version[b]) : "") << b;
  }
}

}  // namespace
}  // namespace s3nbd
