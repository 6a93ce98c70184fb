// Tests of LocalCacheStore writeback: backpressure at max_dirty, store-down timeouts with no
// acknowledged data lost, flush-epoch ordering of inner writes, re-upload of a block rewritten
// during its upload, and a bounded Shutdown that leaves dirty data in the file.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/unit/local/local_cache_fixture.h"

namespace s3nbd {
namespace {

using testing::Block;
using testing::InnerEvent;
using testing::WaitFor;
using LocalWritebackTest = testing::LocalCacheFixture;

TEST_F(LocalWritebackTest, WritesWaitAtMaxDirtyAndResume) {
  CacheOptions o = Options(32);
  o.max_dirty = 4 * 4096;
  auto c = Open(o);
  c->Start();
  gate_->Close();  // uploads hang: dirty data piles up
  std::atomic<int> done{0};
  std::thread writer([&] {
    for (uint64_t b = 0; b < 12; b++) {
      ASSERT_TRUE(c->Write(b, Block(static_cast<char>('a' + b))).ok());
      done++;
    }
  });
  // a writer waits, and a worker holds an upload at the gate (it may be woken a little after
  // the writer began to wait: wait for both, not just the first)
  ASSERT_TRUE(WaitFor([&] {
    return c->counters().write_waits.load() >= 1 && c->counters().uploads_in_flight.load() >= 1;
  }));
  EXPECT_LT(done.load(), 12);
  EXPECT_LE(c->counters().dirty_bytes.load(), o.max_dirty);
  EXPECT_EQ(c->counters().write_wait_ms.load(), 0u);  // counted when a wait ends
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gate_->Open();
  writer.join();
  EXPECT_EQ(done.load(), 12);
  EXPECT_GE(c->counters().write_wait_ms.load(), 40u);  // the backpressure figure of s3nbd stats
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  EXPECT_EQ(c->counters().uploads_in_flight.load(), 0u);
  for (uint64_t b = 0; b < 12; b++) EXPECT_EQ(mem_.Get(b), Block(static_cast<char>('a' + b))) << b;
}

TEST_F(LocalWritebackTest, StoreDownWriteTimesOutWithoutLosingData) {
  CacheOptions o = Options(32);
  o.max_dirty = 2 * 4096;
  o.dirty_wait_timeout = std::chrono::milliseconds(100);
  auto c = Open(o);
  mem_.fail_next = 1 << 30;
  c->Start();
  ASSERT_TRUE(c->Write(1, Block('1')).ok());
  ASSERT_TRUE(c->Write(2, Block('2')).ok());
  Status s = c->Write(3, Block('3'));
  EXPECT_EQ(s.err(), ENOSPC);
  EXPECT_NE(s.message().find("block 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("injected fault"), std::string::npos) << s.message();
  Status f = c->Flush();
  EXPECT_EQ(f.err(), EIO) << f.message();
  std::string d;
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, Block('1'));
  EXPECT_GT(c->counters().errors.load(), 0u);
  mem_.fail_next = 0;  // the store comes back
  o.dirty_wait_timeout = std::chrono::milliseconds(10000);
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.Get(1), Block('1'));
  EXPECT_EQ(mem_.Get(2), Block('2'));
  EXPECT_FALSE(mem_.Has(3));
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
}

// The dirty-wait timeout measures lack of progress, not total time: a slow store whose
// uploads keep succeeding never makes a flush or a waiting write fail.
TEST_F(LocalWritebackTest, SlowButWorkingStoreNeverTimesOut) {
  CacheOptions o = Options(64);
  o.writeback_threads = 1;
  o.max_dirty = 32 * 4096;  // the flush has ~1.4 s of uploads to wait for
  // Each upload (60 ms) is far below the timeout, their sum far above it. The margin is wide
  // because a loaded 2-core machine can stall a thread for a few hundred ms.
  o.dirty_wait_timeout = std::chrono::milliseconds(700);
  auto c = Open(o);
  mem_.delay_ms = 60;  // 24 uploads take ~1.4 s in total
  c->Start();
  for (uint64_t b = 0; b < 24; b++) ASSERT_TRUE(c->Write(b, Block('s')).ok()) << b;
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.size(), 24u);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
}

// Writes of epoch n+1 never reach the inner store before every write of epoch n.
TEST_F(LocalWritebackTest, FlushEpochsReachTheStoreInOrder) {
  CacheOptions o = Options(256);
  o.flush_policy = FlushPolicy::kLocal;
  o.writeback_threads = 8;
  auto c = Open(o);
  c->Start();
  gate_->Close();  // let three epochs pile up while uploads hang
  const char tags[] = {'A', 'B', 'C'};
  for (uint64_t e = 0; e < 3; e++) {
    for (uint64_t b = e * 10; b < e * 10 + 20; b++) ASSERT_TRUE(c->Write(b, Block(tags[e])).ok());
    uint64_t z = 100 + e;  // an erase in each epoch too
    ASSERT_TRUE(c->Write(z, Block(tags[e])).ok());
    ASSERT_TRUE(c->Flush().ok());
    if (e == 1) {
      ASSERT_TRUE(c->Erase(std::span<const uint64_t>(&z, 1)).ok());
    }
  }
  // Hold one epoch-0 upload: nothing of epoch 1 may land while it is held. The short
  // sleep only gives a broken implementation the chance to show itself.
  gate_->Hold(0);
  gate_->Open();
  ASSERT_TRUE(WaitFor([&] { return gate_->events().size() >= 20; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(gate_->events().size(), 20u);
  gate_->Hold(-1);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  std::vector<InnerEvent> ev = gate_->events();
  auto epoch_of = [&](const InnerEvent& e) {
    if (e.op == 'E') return 2;  // the erase was issued after the second flush
    return static_cast<int>(std::string("ABC").find(e.tag));
  };
  int max_seen = 0;
  for (size_t i = 0; i < ev.size(); i++) {
    int ep = epoch_of(ev[i]);
    EXPECT_GE(ep, max_seen) << "event " << i << " block " << ev[i].block
                            << " went before an older epoch";
    max_seen = std::max(max_seen, ep);
  }
  // Blocks rewritten in a later epoch were uploaded once per epoch, final data wins.
  for (uint64_t b = 0; b < 40; b++)
    EXPECT_EQ(mem_.Get(b), Block(tags[std::min<uint64_t>(b / 10, 2)])) << b;
  EXPECT_FALSE(mem_.Has(101));
  EXPECT_EQ(ev.size(), 60u + 3u + 1u);
}

TEST_F(LocalWritebackTest, BlockRewrittenDuringUploadIsUploadedAgain) {
  auto c = Open(Options());
  gate_->Close();
  c->Start();
  ASSERT_TRUE(c->Write(5, Block('1')).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_->waiting() == 1; }));  // upload of '1' in flight
  ASSERT_TRUE(c->Write(5, Block('2')).ok());
  std::string d;
  ASSERT_TRUE(c->Read(5, &d).ok());
  EXPECT_EQ(d, Block('2'));
  gate_->Open();
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.Get(5), Block('2'));
  EXPECT_EQ(mem_.writes.load(), 2u);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalWritebackTest, HotBlockCoalescesIntoOneUpload) {
  CacheOptions o = Options();
  o.writeback_delay = std::chrono::milliseconds(60000);
  auto c = Open(o);
  c->Start();
  for (char t = 'a'; t <= 'z'; t++) ASSERT_TRUE(c->Write(8, Block(t)).ok());
  EXPECT_EQ(mem_.writes.load(), 0u);  // still within writeback_delay
  ASSERT_TRUE(c->Flush().ok());       // remote flush makes it urgent
  EXPECT_EQ(mem_.writes.load(), 1u);
  EXPECT_EQ(mem_.Get(8), Block('z'));
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
}

// A sequential stream of whole-block writes is uploaded at once: a block written whole right
// after the block before it, with nothing pending of its own, does not wait for
// writeback_delay. The stream's first block, a partial write and a rewrite still wait.
TEST_F(LocalWritebackTest, ASequentialStreamIsNotHeldBackByTheDelay) {
  CacheOptions o = Options();
  o.writeback_delay = std::chrono::milliseconds(60000);
  auto c = Open(o);
  c->Start();
  for (uint64_t b = 10; b < 14; b++) ASSERT_TRUE(c->Write(b, Block(static_cast<char>('a' + b))).ok());
  ASSERT_TRUE(WaitFor([&] { return mem_.Has(11) && mem_.Has(12) && mem_.Has(13); }));
  EXPECT_FALSE(mem_.Has(10));  // the stream's first block: nothing before it is pending
  const std::string part(16, 'p');
  ASSERT_TRUE(c->WriteRange(14, 0, 16, part.data()).ok());  // partial: may be patched again soon
  ASSERT_TRUE(c->Write(20, Block('x')).ok());                // not after a pending block
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(mem_.Has(14));
  EXPECT_FALSE(mem_.Has(20));
  EXPECT_EQ(mem_.writes.load(), 3u);
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.Get(10), Block(static_cast<char>('a' + 10)));
  EXPECT_EQ(mem_.Get(20), Block('x'));
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalWritebackTest, LocalFlushReturnsBeforeUploadsAndWritebackContinues) {
  CacheOptions o = Options();
  o.flush_policy = FlushPolicy::kLocal;
  auto c = Open(o);
  c->Start();
  gate_->Close();  // the store is stuck: a local flush must not wait for it
  ASSERT_TRUE(c->Write(1, Block('l')).ok());
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_FALSE(mem_.Has(1));
  EXPECT_EQ(mem_.flushes.load(), 0u);
  gate_->Open();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  EXPECT_EQ(mem_.Get(1), Block('l'));
}

TEST_F(LocalWritebackTest, RemoteFlushUploadsThenFlushesTheStore) {
  auto c = Open(Options());
  c->Start();
  ASSERT_TRUE(c->Write(1, Block('r')).ok());
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.Get(1), Block('r'));
  EXPECT_EQ(mem_.flushes.load(), 1u);
  EXPECT_EQ(c->counters().writeback_queue.load(), 0u);
}

TEST_F(LocalWritebackTest, BoundedShutdownKeepsDirtyDataForNextStart) {
  auto c = Open(Options());
  mem_.fail_next = 1 << 30;
  c->Start();
  ASSERT_TRUE(c->Write(7, Block('k')).ok());
  Status s = c->Shutdown(std::chrono::milliseconds(50));
  EXPECT_EQ(s.err(), ETIMEDOUT) << s.message();
  c.reset();
  mem_.fail_next = 0;
  c.reset();  // one server per cache file (flock)
  c = Open(Options());
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  EXPECT_EQ(mem_.Get(7), Block('k'));
}

}  // namespace
}  // namespace s3nbd
