// FetchTable (cache/local/fetch_table.h): one fetch per block, stale marking, waiters woken by
// Finish, the bounded read-ahead queue. The table is driven under one Mutex, as its owner does.
#include "cache/local/fetch_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace s3nbd {
namespace {

TEST(FetchTable, OneFetchPerBlockUntilFinished) {
  Mutex mu;
  FetchTable t;
  MutexLock lock(&mu);
  EXPECT_EQ(t.Find(7), nullptr);
  auto f = t.Begin(7);
  EXPECT_TRUE(t.InFlight(7));
  EXPECT_FALSE(t.InFlight(8));
  EXPECT_EQ(t.Find(7), f);
  EXPECT_FALSE(f->stale);
  t.Invalidate(8);  // another block: no effect
  EXPECT_FALSE(f->stale);
  t.Invalidate(7);
  EXPECT_TRUE(f->stale);
  t.Finish(7, f, Status::Error(EIO, "boom"), "data");
  EXPECT_TRUE(f->done);
  EXPECT_EQ(f->status.err(), EIO);
  EXPECT_EQ(f->data, "data");
  EXPECT_FALSE(t.InFlight(7));
  EXPECT_EQ(t.Find(7), nullptr);
}

TEST(FetchTable, WaiterSeesTheOwnersResult) {
  Mutex mu;
  FetchTable t;
  std::shared_ptr<FetchTable::Fetch> f;
  {
    MutexLock lock(&mu);
    f = t.Begin(1);
  }
  std::string seen;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    auto w = t.Find(1);
    if (!w) w = f;  // finished before the waiter looked: same object
    t.WaitDone(&mu, *w);
    seen = w->data;
  });
  {
    MutexLock lock(&mu);
    t.Finish(1, f, Status::Ok(), "block one");
  }
  waiter.join();
  EXPECT_EQ(seen, "block one");
}

TEST(FetchTable, ReadAheadQueueIsBoundedAndFifo) {
  FetchTable t;
  for (uint64_t b = 0; b < FetchTable::kMaxQueued; b++) ASSERT_TRUE(t.Queue(b));
  EXPECT_FALSE(t.Queue(99999));  // full: dropped
  EXPECT_EQ(t.PopQueued(), std::optional<uint64_t>(0));
  EXPECT_EQ(t.PopQueued(), std::optional<uint64_t>(1));
  EXPECT_TRUE(t.Queue(5000));
  for (uint64_t b = 2; b < FetchTable::kMaxQueued; b++) ASSERT_EQ(t.PopQueued(), b);
  EXPECT_EQ(t.PopQueued(), std::optional<uint64_t>(5000));
  EXPECT_EQ(t.PopQueued(), std::nullopt);
}

}  // namespace
}  // namespace s3nbd
