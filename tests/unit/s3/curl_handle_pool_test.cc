// Tests of CurlHandlePool: handles are reused, at most `capacity` are out at once, and
// Acquire blocks until one comes back.
#include "cache/s3/curl_handle_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace s3nbd {
namespace {

TEST(CurlHandlePoolTest, ReusesHandles) {
  CurlHandlePool pool(2);
  CURL* first;
  {
    CurlHandlePool::Lease a = pool.Acquire();
    ASSERT_NE(a.get(), nullptr);
    first = a.get();
  }
  CurlHandlePool::Lease b = pool.Acquire();
  EXPECT_EQ(b.get(), first);
}

TEST(CurlHandlePoolTest, BlocksAtCapacity) {
  CurlHandlePool pool(2);
  auto a = std::make_unique<CurlHandlePool::Lease>(pool.Acquire());
  CurlHandlePool::Lease b = pool.Acquire();
  std::atomic<bool> got{false};
  std::thread t([&] {
    CurlHandlePool::Lease c = pool.Acquire();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load());
  a.reset();  // returns a handle
  t.join();
  EXPECT_TRUE(got.load());
}

TEST(CurlHandlePoolTest, DiscardFreesASlot) {
  CurlHandlePool pool(1);
  {
    CurlHandlePool::Lease a = pool.Acquire();
    a.Discard();
    EXPECT_EQ(a.get(), nullptr);
  }
  CurlHandlePool::Lease b = pool.Acquire();  // would block forever if the slot leaked
  EXPECT_NE(b.get(), nullptr);
}

}  // namespace
}  // namespace s3nbd
