// A manual throughput probe of LocalCacheStore (DISABLED: run with
// --gtest_also_run_disabled_tests --gtest_filter='LocalBench*'). Writers rewrite hot 4 KiB blocks
// while writeback runs, then read them back. Prints IOPS; asserts only correctness.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/unit/local_cache_fixture.h"

namespace s3nbd {
namespace {

using LocalBench = testing::LocalCacheFixture;

TEST_F(LocalBench, DISABLED_HotWritesThenReads) {
  constexpr int kThreads = 8, kOps = 40000, kHot = 1000;
  CacheOptions o = Options(16384);
  o.writeback_threads = 16;
  o.writeback_delay = std::chrono::milliseconds(100);
  o.max_dirty = 1ull << 30;
  auto c = Open(o);
  c->Start();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> th;
  for (int t = 0; t < kThreads; t++) {
    th.emplace_back([&, t] {
      for (int i = 0; i < kOps / kThreads; i++)
        ASSERT_TRUE(
            c->Write(t * 100000 + i % kHot, testing::Block(static_cast<char>('a' + i % 20))).ok());
    });
  }
  for (auto& x : th) x.join();
  auto t1 = std::chrono::steady_clock::now();
  th.clear();
  for (int t = 0; t < kThreads; t++) {
    th.emplace_back([&, t] {
      std::string d;
      for (int i = 0; i < kOps / kThreads; i++)
        ASSERT_TRUE(c->Read(t * 100000 + i % kHot, &d).ok());
    });
  }
  for (auto& x : th) x.join();
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(60000)).ok());
  std::printf("writes: %.0f IOPS, reads: %.0f IOPS, uploads: %lu\n", kOps / ms(t0, t1) * 1000,
              kOps / ms(t1, t2) * 1000, static_cast<unsigned long>(c->counters().uploads.load()));
}

}  // namespace
}  // namespace s3nbd
