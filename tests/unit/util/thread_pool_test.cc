#include "cache/util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>

namespace s3nbd {
namespace {

TEST(ThreadPoolTest, RunAllRunsEveryTaskAndReportsFirstError) {
  ThreadPool pool(4);
  std::atomic<int> ran{0};
  std::vector<std::function<Status()>> tasks;
  for (int i = 0; i < 100; i++)
    tasks.push_back([&, i] {
      ran++;
      return i == 37 ? Status::Error(EIO, "task 37") : i == 80 ? Status::Error(ENOSPC, "task 80") : Status::Ok();
    });
  Status s = pool.RunAll(tasks);
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(s.message(), "task 37");
}

TEST(ThreadPoolTest, TasksOverlap) {
  ThreadPool pool(4);
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::function<Status()>> tasks;
  for (int i = 0; i < 5; i++)
    tasks.push_back([&] {
      int now = ++inside;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {}
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      inside--;
      return Status::Ok();
    });
  ASSERT_TRUE(pool.RunAll(tasks).ok());
  EXPECT_GT(peak, 1);
}

}  // namespace
}  // namespace s3nbd
