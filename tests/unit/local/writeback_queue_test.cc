// WritebackQueue (cache/local/writeback_queue.h): epoch counts, the uploaded_below watermark,
// replacement of a version within its epoch, and the upload order of queued versions.
#include "cache/local/writeback_queue.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(WritebackQueue, EpochsAndWatermark) {
  WritebackQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.Flushed(5));
  EXPECT_EQ(q.UploadedBelow(10), 10u);
  q.AddPending(1, 3);
  q.AddPending(1, 4);
  q.AddPending(2, 5);
  EXPECT_EQ(q.oldest_epoch(), 1u);
  EXPECT_EQ(q.pending(), 3u);
  EXPECT_EQ(q.PendingThrough(1), 2u);
  EXPECT_FALSE(q.Flushed(1));
  EXPECT_EQ(q.UploadedBelow(10), 3u);
  q.ReplacePending(4, 6);  // same epoch: still two versions in epoch 1
  EXPECT_EQ(q.PendingThrough(1), 2u);
  EXPECT_EQ(q.pending_seqs(), 3u);
  EXPECT_FALSE(q.CompletePending(1, 3));
  EXPECT_EQ(q.UploadedBelow(10), 5u);
  EXPECT_TRUE(q.CompletePending(1, 6));  // the last of epoch 1
  EXPECT_TRUE(q.Flushed(1));
  EXPECT_FALSE(q.Flushed(2));
  EXPECT_EQ(q.oldest_epoch(), 2u);
  EXPECT_TRUE(q.CompletePending(2, 5));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pending_seqs(), 0u);
}

TEST(WritebackQueue, QueuedInEpochThenReadyOrder) {
  WritebackQueue q;
  q.Queue({2, 100, 7, 70});
  q.Queue({1, 500, 5, 50});
  q.Queue({1, 200, 6, 60});
  EXPECT_EQ(q.queued(), 3u);
  EXPECT_TRUE(q.IsQueued({1, 500, 5, 50}));
  EXPECT_FALSE(q.IsQueued({1, 501, 5, 50}));
  auto it = q.begin();
  EXPECT_EQ(std::get<3>(*it), 60u);  // epoch 1, ready first
  it = q.Take(it);
  EXPECT_EQ(std::get<3>(*it), 50u);
  q.Unqueue({1, 500, 5, 50});
  EXPECT_EQ(std::get<3>(*q.begin()), 70u);
  q.Clear();
  EXPECT_EQ(q.queued(), 0u);
  EXPECT_EQ(q.begin(), q.end());
}

}  // namespace
}  // namespace s3nbd
