// Tests of LocalCacheStore's read path, write/erase bookkeeping, List/Probe and a randomised
// state-machine run checked against a model and the state invariants after every step.
#include "cache/local/local_cache_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "tests/unit/local/local_cache_fixture.h"

namespace s3nbd {
namespace {

using testing::Block;
using testing::GatedStore;
using testing::MemoryBlockStore;
using testing::TempDir;
using testing::TestVolume;
using testing::WaitFor;

using LocalCacheStoreTest = testing::LocalCacheFixture;

TEST_F(LocalCacheStoreTest, MissThenHit) {
  mem_.Set(1, Block('a'));
  auto c = Open(Options());
  std::string d;
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, Block('a'));
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, Block('a'));
  EXPECT_EQ(mem_.reads.load(), 1u);
  EXPECT_EQ(c->counters().misses.load(), 1u);
  EXPECT_EQ(c->counters().hits.load(), 1u);
  // Not found below: zeros, no slot, asked again next time.
  ASSERT_TRUE(c->Read(2, &d).ok());
  EXPECT_EQ(d, std::string(4096, '\0'));
  EXPECT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalCacheStoreTest, ReadRangeServesHitsAndFollowsRewrites) {
  auto c = Open(Options());
  std::string a = Block('a'), b = Block('b');
  a[300] = 'X';
  ASSERT_TRUE(c->Write(3, a).ok());  // DIRTY, written (so verified) by this process
  char part[8];
  ASSERT_TRUE(c->ReadRange(3, 298, sizeof part, part).ok());
  EXPECT_EQ(std::string(part, sizeof part), a.substr(298, sizeof part));
  ASSERT_TRUE(c->Write(3, b).ok());  // a new version in a new slot
  ASSERT_TRUE(c->ReadRange(3, 298, sizeof part, part).ok());
  EXPECT_EQ(std::string(part, sizeof part), b.substr(298, sizeof part));
  const uint64_t erase[] = {3};
  ASSERT_TRUE(c->Erase(erase).ok());
  ASSERT_TRUE(c->ReadRange(3, 298, sizeof part, part).ok());
  EXPECT_EQ(std::string(part, sizeof part), std::string(sizeof part, '\0'));
  mem_.Set(4, Block('m'));  // a miss goes to the store through the full path
  ASSERT_TRUE(c->ReadRange(4, 0, sizeof part, part).ok());
  EXPECT_EQ(std::string(part, sizeof part), Block('m').substr(0, sizeof part));
  EXPECT_EQ(c->counters().misses.load(), 1u);
  EXPECT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalCacheStoreTest, RejectsMaxDirtyBelowOneBlock) {
  CacheOptions o = Options();
  o.max_dirty = 100;
  auto r = TryOpen(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EINVAL);
  EXPECT_NE(r.status().message().find("max_dirty"), std::string::npos);
}

TEST_F(LocalCacheStoreTest, AbsentFromProbeNeedsNoInnerRead) {
  auto c = Open(Options(), /*probe=*/true);
  std::string d;
  ASSERT_TRUE(c->Read(9, &d).ok());
  EXPECT_EQ(d, std::string(4096, '\0'));
  EXPECT_EQ(mem_.reads.load(), 0u);
  EXPECT_EQ(c->counters().absent_reads.load(), 1u);
}

// Read-ahead skips blocks the inner store knows absent: no fetch, no zero buffer, and so no
// absent read counted for them; the present ones are fetched as usual.
TEST_F(LocalCacheStoreTest, PrefetchSkipsBlocksKnownAbsent) {
  mem_.Set(21, Block('q'));
  auto c = Open(Options(), /*probe=*/true);
  c->Start();
  std::vector<uint64_t> blocks{20, 21, 22, 23};
  c->Prefetch(blocks);
  ASSERT_TRUE(WaitFor([&] { return mem_.reads.load() == 1 && c->CheckInvariants().ok(); }));
  c->Prefetch(blocks);  // again: still nothing to do for 20, 22, 23
  std::string d;
  ASSERT_TRUE(c->Read(21, &d).ok());
  EXPECT_EQ(d, Block('q'));
  EXPECT_EQ(c->counters().readahead_hits.load(), 1u);
  EXPECT_EQ(c->counters().absent_reads.load(), 0u);  // RunFetch never ran for the absent ones
  EXPECT_EQ(mem_.reads.load(), 1u);
}

TEST_F(LocalCacheStoreTest, ConcurrentMissesCoalesce) {
  mem_.Set(4, Block('c'));
  auto c = Open(Options());
  gate_->Close(/*reads_too=*/true);
  std::vector<std::thread> readers;
  std::vector<std::string> got(6);
  for (int i = 0; i < 6; i++)
    readers.emplace_back([&, i] { EXPECT_TRUE(c->Read(4, &got[i]).ok()); });
  ASSERT_TRUE(
      WaitFor([&] { return c->counters().coalesced_misses.load() == 5 && gate_->waiting() == 1; }));
  gate_->Open();
  for (auto& t : readers) t.join();
  for (auto& g : got) EXPECT_EQ(g, Block('c'));
  EXPECT_EQ(mem_.reads.load(), 1u);
}

TEST_F(LocalCacheStoreTest, EvictsCleanBlocksWhenWorkingSetIsLarger) {
  for (uint64_t b = 0; b < 64; b++) mem_.Set(b, Block(static_cast<char>('A' + b % 50)));
  auto c = Open(Options(8));
  ASSERT_EQ(c->slot_count(), 8u);
  for (int pass = 0; pass < 2; pass++) {
    for (uint64_t b = 0; b < 64; b++) {
      std::string d;
      ASSERT_TRUE(c->Read(b, &d).ok());
      ASSERT_EQ(d, Block(static_cast<char>('A' + b % 50))) << b;
    }
  }
  EXPECT_GT(c->counters().evictions.load(), 100u);
  EXPECT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalCacheStoreTest, WriteIsDirtyUntilUploaded) {
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(3, Block('w')).ok());
  std::string d;
  ASSERT_TRUE(c->Read(3, &d).ok());
  EXPECT_EQ(d, Block('w'));
  EXPECT_FALSE(mem_.Has(3));  // not started: nothing uploaded yet
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
  EXPECT_EQ(c->Probe(3), BlockPresence::kPresent);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
  c->Start();
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(mem_.Get(3), Block('w'));
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  EXPECT_EQ(c->counters().uploads.load(), 1u);
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalCacheStoreTest, ZeroWriteAndEraseBecomeBatchedInnerErase) {
  for (uint64_t b = 0; b < 10; b++) mem_.Set(b, Block('z'));
  auto c = Open(Options());
  std::string d;
  ASSERT_TRUE(c->Read(0, &d).ok());  // cached CLEAN, then zeroed
  ASSERT_TRUE(c->Write(0, std::string(4096, '\0')).ok());
  std::vector<uint64_t> rest{1, 2, 3, 4, 5, 6, 7, 8, 9};
  ASSERT_TRUE(c->Erase(rest).ok());
  ASSERT_TRUE(c->Read(0, &d).ok());
  EXPECT_EQ(d, std::string(4096, '\0'));
  EXPECT_EQ(c->Probe(5), BlockPresence::kAbsent);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
  ASSERT_TRUE(c->UploadAllForTest().ok());
  EXPECT_EQ(mem_.size(), 0u);
  EXPECT_EQ(mem_.erase_calls.load(), 1u);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

TEST_F(LocalCacheStoreTest, ListMergesCacheState) {
  for (uint64_t b : {1, 2, 3}) mem_.Set(b, Block('l'));
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(4, Block('n')).ok());
  uint64_t two = 2;
  ASSERT_TRUE(c->Erase(std::span<const uint64_t>(&two, 1)).ok());
  std::set<uint64_t> listed;
  ASSERT_TRUE(c->List([&](uint64_t b) { listed.insert(b); }).ok());
  EXPECT_EQ(listed, (std::set<uint64_t>{1, 3, 4}));
}

TEST_F(LocalCacheStoreTest, PrefetchFillsTheCacheInTheBackground) {
  for (uint64_t b = 10; b < 14; b++) mem_.Set(b, Block('p'));
  auto c = Open(Options());
  c->Start();
  std::vector<uint64_t> blocks{10, 11, 12, 13};
  c->Prefetch(blocks);
  ASSERT_TRUE(WaitFor([&] { return mem_.reads.load() == 4 && c->CheckInvariants().ok(); }));
  std::string d;
  for (uint64_t b : blocks) {
    ASSERT_TRUE(c->Read(b, &d).ok());
    EXPECT_EQ(d, Block('p'));
  }
  EXPECT_EQ(mem_.reads.load(), 4u);
  EXPECT_EQ(c->counters().readahead_hits.load(), 4u);
}

// Random operations against a model; invariants after each step; final store == model.
TEST_F(LocalCacheStoreTest, RandomStateMachineKeepsInvariants) {
  CacheOptions o = Options(16);
  o.flush_policy = FlushPolicy::kLocal;
  o.max_dirty = 12 * 4096;
  auto c = Open(o);
  std::map<uint64_t, std::string> model;  // absent = zeros
  std::mt19937 rng(42);
  for (int step = 0; step < 600; step++) {
    uint64_t b = rng() % 24;
    int op = static_cast<int>(rng() % 10);
    std::string d;
    if (c->counters().dirty_bytes.load() >= o.max_dirty) {  // no workers here: make room
      ASSERT_TRUE(c->UploadAllForTest().ok()) << step;
    }
    if (op < 4) {
      std::string v = Block(static_cast<char>('a' + rng() % 26));
      ASSERT_TRUE(c->Write(b, v).ok()) << step;
      model[b] = v;
    } else if (op == 4) {
      ASSERT_TRUE(c->Write(b, std::string(4096, '\0')).ok());
      model.erase(b);
    } else if (op == 5) {
      ASSERT_TRUE(c->Erase(std::span<const uint64_t>(&b, 1)).ok());
      model.erase(b);
    } else if (op == 6) {
      ASSERT_TRUE(c->Flush().ok());
    } else if (op == 7) {
      ASSERT_TRUE(c->UploadAllForTest().ok()) << step;
    } else {
      ASSERT_TRUE(c->Read(b, &d).ok());
      ASSERT_EQ(d, model.count(b) ? model[b] : std::string(4096, '\0'))
          << "step " << step << " block " << b;
    }
    Status inv = c->CheckInvariants();
    ASSERT_TRUE(inv.ok()) << "step " << step << ": " << inv.message();
  }
  ASSERT_TRUE(c->UploadAllForTest().ok());
  for (uint64_t b = 0; b < 24; b++) EXPECT_EQ(mem_.Get(b), model.count(b) ? model[b] : "") << b;
}

}  // namespace
}  // namespace s3nbd
