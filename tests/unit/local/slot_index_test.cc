// SlotIndex (cache/local/slot_index.h) alone: allocation order, retire/release through the
// quarantine, CLOCK eviction skipping pinned, referenced and non-CLEAN slots, tombstones, the
// recovery plan, lock-free unpinning of a retired slot, and invariant violations detected.
#include "cache/local/slot_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace s3nbd {
namespace {

constexpr uint64_t kSlots = 8, kRecords = 12;  // records 8..11 are tombstones

class SlotIndexTest : public ::testing::Test {
 protected:
  SlotIndexTest() { index_.Format(kSlots, kRecords); }

  // The store's view: one owner for each record it holds as a block's copy or version.
  std::vector<int> Owners(std::initializer_list<uint64_t> held) {
    std::vector<int> owners(kRecords, 0);
    for (uint64_t r : held) owners[r]++;
    return owners;
  }
  // Takes a free slot and makes it block `block`'s CLEAN copy.
  uint64_t Clean(uint64_t block) {
    uint64_t s = *index_.TakeFreeSlot();
    index_.record(s) = CacheRecord{RecordKind::kClean, block, block + 1, 0, 42};
    return s;
  }

  SlotPins pins_;
  SlotIndex index_{&pins_};
};

TEST_F(SlotIndexTest, AllocatesLowestFirstAndKeepsSlotsAndTombsApart) {
  for (uint64_t want = 0; want < kSlots; want++) EXPECT_EQ(index_.TakeFreeSlot(), want);
  EXPECT_FALSE(index_.TakeFreeSlot());
  EXPECT_FALSE(index_.has_free_slot());
  EXPECT_EQ(index_.free_tombs(), kRecords - kSlots);
  for (uint64_t want = kSlots; want < kRecords; want++) {
    EXPECT_TRUE(index_.IsTomb(want));
    EXPECT_EQ(index_.TakeFreeTomb(), want);
  }
  EXPECT_FALSE(index_.TakeFreeTomb());
  index_.Free(3);  // unused after all: straight back, next to be taken
  index_.Free(9);
  EXPECT_EQ(index_.TakeFreeSlot(), 3u);
  EXPECT_EQ(index_.TakeFreeTomb(), 9u);
}

TEST_F(SlotIndexTest, RetiredSlotIsReusedOnlyAfterItsFreeRecordAndASync) {
  const uint64_t s = Clean(5);
  std::vector<uint64_t> to_write;
  index_.Retire(s, &to_write);
  EXPECT_EQ(to_write, std::vector<uint64_t>{s});
  EXPECT_EQ(index_.record(s).kind, RecordKind::kFree);
  EXPECT_TRUE(index_.retired(s));
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
  EXPECT_FALSE(index_.Release(s));  // the FREE record was not written yet
  const uint32_t gen = index_.retire_gen(s);
  EXPECT_FALSE(index_.FreeWritten(s, gen - 1));  // an older retirement's write
  EXPECT_TRUE(index_.retired(s));
  EXPECT_TRUE(index_.FreeWritten(s, gen));
  EXPECT_FALSE(index_.retired(s));
  EXPECT_TRUE(index_.has_quarantine());
  // Not reusable before the sync: the free list no longer holds it.
  std::vector<uint64_t> taken;
  while (auto t = index_.TakeFreeSlot()) taken.push_back(*t);
  EXPECT_EQ(std::count(taken.begin(), taken.end(), s), 0);
  for (uint64_t t : taken) index_.Free(t);
  std::vector<uint64_t> q = index_.TakeQuarantine();
  EXPECT_EQ(q, std::vector<uint64_t>{s});
  index_.QuarantineFailed(q);  // the sync failed: still quarantined
  EXPECT_TRUE(index_.has_quarantine());
  q = index_.TakeQuarantine();
  index_.QuarantineSynced(q);
  EXPECT_FALSE(index_.has_quarantine());
  EXPECT_EQ(index_.TakeFreeSlot(), s);  // the last one freed is taken first
  EXPECT_EQ(index_.retire_gen(s), gen);  // survives reuse
  index_.Free(s);
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
}

TEST_F(SlotIndexTest, RetiredTombGoesStraightBackToItsList) {
  const uint64_t t = *index_.TakeFreeTomb();
  index_.record(t) = CacheRecord{RecordKind::kErase, 7, 1, 0, 0};
  EXPECT_TRUE(index_.CheckInvariants(Owners({t})).ok());
  std::vector<uint64_t> to_write;
  index_.Retire(t, &to_write);
  EXPECT_TRUE(index_.FreeWritten(t, index_.retire_gen(t)));
  EXPECT_FALSE(index_.has_quarantine());  // a tombstone holds no data: no quarantine
  EXPECT_EQ(index_.TakeFreeTomb(), t);
  index_.Free(t);
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
}

TEST_F(SlotIndexTest, PinnedRetiredSlotIsReleasedByItsLastUnpin) {
  const uint64_t s = Clean(1);
  index_.Pin(s);
  index_.Pin(s);
  std::vector<uint64_t> to_write;
  index_.Retire(s, &to_write);
  EXPECT_FALSE(index_.FreeWritten(s, index_.retire_gen(s)));  // pinned: stays retired
  EXPECT_TRUE(index_.retired(s));
  EXPECT_FALSE(pins_.Unpin(s));  // one pin left
  EXPECT_TRUE(pins_.Unpin(s));   // the last pin of a retired slot: the caller releases
  EXPECT_TRUE(index_.Release(s));
  EXPECT_FALSE(index_.Release(s));  // once
  EXPECT_TRUE(index_.has_quarantine());
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
}

TEST_F(SlotIndexTest, UnpinOfALiveSlotAsksForNoRelease) {
  const uint64_t s = Clean(1);
  index_.Pin(s);
  EXPECT_FALSE(pins_.Unpin(s));
  EXPECT_EQ(index_.pins(s), 0u);
}

// Unpinners racing the releaser: whoever comes last releases, exactly once.
TEST_F(SlotIndexTest, ConcurrentUnpinsAndFreeWriteReleaseOnce) {
  for (int round = 0; round < 200; round++) {
    SlotPins pins;
    SlotIndex index(&pins);
    index.Format(kSlots, kRecords);
    const uint64_t s = *index.TakeFreeSlot();
    index.record(s) = CacheRecord{RecordKind::kClean, 3, 1, 0, 1};
    constexpr int kReaders = 4;
    for (int i = 0; i < kReaders; i++) index.Pin(s);
    std::vector<uint64_t> to_write;
    index.Retire(s, &to_write);
    std::mutex mu;  // the owner's mutex, around every index call
    int released = 0;
    std::vector<std::thread> readers;
    for (int i = 0; i < kReaders; i++)
      readers.emplace_back([&] {
        if (pins.Unpin(s)) {
          std::lock_guard<std::mutex> l(mu);
          released += index.Release(s);
        }
      });
    {
      std::lock_guard<std::mutex> l(mu);
      released += index.FreeWritten(s, index.retire_gen(s));
    }
    for (auto& t : readers) t.join();
    ASSERT_EQ(released, 1) << "round " << round;
    ASSERT_TRUE(index.has_quarantine());
    ASSERT_TRUE(index.CheckInvariants(std::vector<int>(kRecords, 0)).ok());
  }
}

TEST_F(SlotIndexTest, EvictionSkipsPinnedReferencedDirtyAndRefusedSlots) {
  const uint64_t pinned = Clean(10), referenced = Clean(11), refused = Clean(12);
  const uint64_t dirty = *index_.TakeFreeSlot();
  index_.record(dirty) = CacheRecord{RecordKind::kDirty, 13, 9, 0, 1};
  const uint64_t victim = Clean(14);
  index_.Pin(pinned);
  index_.Reference(referenced);
  std::vector<uint64_t> asked;
  auto take = [&](uint64_t slot, uint64_t block) {
    asked.push_back(slot);
    EXPECT_EQ(index_.record(slot).block, block);  // still the CLEAN record when asked
    return slot != refused;
  };
  std::vector<uint64_t> victims;
  EXPECT_EQ(index_.Evict(take, &victims), 2u);  // victim, then referenced on the second pass
  EXPECT_EQ(victims, (std::vector<uint64_t>{victim, referenced}));
  EXPECT_EQ(std::count(asked.begin(), asked.end(), pinned), 0);
  EXPECT_EQ(std::count(asked.begin(), asked.end(), dirty), 0);
  EXPECT_FALSE(index_.referenced(referenced));  // the hand cleared it
  EXPECT_EQ(index_.record(victim).kind, RecordKind::kFree);
  EXPECT_TRUE(index_.retired(victim));
  victims.clear();
  EXPECT_EQ(index_.Evict(take, &victims), 0u);  // retired slots are not chosen again
  pins_.Unpin(pinned);
  EXPECT_TRUE(index_.CheckInvariants(Owners({pinned, refused, dirty})).ok());
}

TEST_F(SlotIndexTest, DataIsDurableOnlyAfterALaterSyncCompletes) {
  const uint64_t s = Clean(2);
  const uint64_t before = index_.BeginSync();  // a sync that began before the write
  index_.DataWritten(s);
  index_.SyncDone(before);
  EXPECT_FALSE(index_.DataDurable(s));
  const uint64_t after = index_.BeginSync();
  EXPECT_FALSE(index_.DataDurable(s));
  index_.SyncDone(after);
  EXPECT_TRUE(index_.DataDurable(s));
  index_.SyncDone(before);  // a slower older sync finishing later changes nothing
  EXPECT_TRUE(index_.DataDurable(s));
}

TEST_F(SlotIndexTest, RecoveryPlanKeepsVersionsFromTheNewestCleanOn) {
  std::vector<CacheRecord> recs(kRecords);
  recs[0] = {RecordKind::kClean, 1, 5, 1, 11};   // older than block 1's newest CLEAN: dropped
  recs[1] = {RecordKind::kClean, 1, 7, 2, 12};   // block 1's newest CLEAN
  recs[2] = {RecordKind::kDirty, 1, 9, 3, 13};   // pending after it
  recs[3] = {RecordKind::kDirty, 2, 3, 1, 14};   // under the watermark: uploaded, dropped
  recs[4] = {RecordKind::kDirty, 2, 6, 2, 15};   // block 2 pending
  recs[9] = {RecordKind::kErase, 2, 8, 4, 0};    // block 2 pending erase
  recs[5] = {RecordKind::kClean, 3, 2, 1, 16};   // CLEAN under the watermark stays
  index_.Load(kSlots, recs);
  SlotIndex::RecoveryPlan plan = index_.PlanRecovery(/*uploaded_below=*/4);
  EXPECT_EQ(plan.max_seq, 9u);
  EXPECT_EQ(plan.max_epoch, 4u);
  EXPECT_EQ(plan.uploaded, 1u);
  std::sort(plan.drop.begin(), plan.drop.end());
  EXPECT_EQ(plan.drop, (std::vector<uint64_t>{0, 3}));
  EXPECT_EQ(plan.blocks[1], (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(plan.blocks[2], (std::vector<uint64_t>{4, 9}));
  EXPECT_EQ(plan.blocks[3], (std::vector<uint64_t>{5}));
  for (uint64_t r : plan.drop) index_.Drop(r);
  EXPECT_FALSE(index_.has_free_slot());  // nothing is reusable before RebuildFreeLists
  index_.RebuildFreeLists();
  EXPECT_EQ(index_.TakeFreeSlot(), 0u);
  EXPECT_EQ(index_.TakeFreeSlot(), 3u);
  EXPECT_EQ(index_.TakeFreeTomb(), 8u);
  EXPECT_EQ(index_.TakeFreeTomb(), 10u);
}

TEST_F(SlotIndexTest, InvariantViolationsAreDetected) {
  const uint64_t s = Clean(4);
  EXPECT_TRUE(index_.CheckInvariants(Owners({s})).ok());
  // Nobody owns it.
  EXPECT_FALSE(index_.CheckInvariants(Owners({})).ok());
  // Owned twice: by the store and a free list.
  index_.Free(s);
  EXPECT_FALSE(index_.CheckInvariants(Owners({s})).ok());
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
  // A free record that is not FREE.
  index_.record(s) = CacheRecord{RecordKind::kClean, 4, 1, 0, 1};
  Status st = index_.CheckInvariants(Owners({}));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("free but not FREE"), std::string::npos) << st.message();
  index_.record(s) = CacheRecord{};
  // Flags on a record that is not DIRTY.
  const uint64_t c = Clean(5);
  index_.record(c).flags = kRecordOpen;
  EXPECT_FALSE(index_.CheckInvariants(Owners({c})).ok());
  index_.record(c).flags = 0;
  // An ERASE record in a data slot.
  index_.record(c).kind = RecordKind::kErase;
  EXPECT_FALSE(index_.CheckInvariants(Owners({c})).ok());
  index_.record(c).kind = RecordKind::kClean;
  // A pin left over (quiescent), accepted while operations run.
  index_.Pin(c);
  EXPECT_FALSE(index_.CheckInvariants(Owners({c})).ok());
  EXPECT_TRUE(index_.CheckInvariants(Owners({c}), /*quiescent=*/false).ok());
  pins_.Unpin(c);
  // A retired record still holding data.
  std::vector<uint64_t> to_write;
  index_.Retire(c, &to_write);
  index_.record(c) = CacheRecord{RecordKind::kClean, 5, 1, 0, 1};
  st = index_.CheckInvariants(Owners({}));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("retired record"), std::string::npos) << st.message();
  index_.record(c) = CacheRecord{};
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
  // A release lost: pinned when its FREE record was written, and never released at the unpin.
  index_.Pin(c);
  EXPECT_FALSE(index_.FreeWritten(c, index_.retire_gen(c)));
  pins_.Unpin(c);  // the caller ignores that it must release now
  st = index_.CheckInvariants(Owners({}));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("never released"), std::string::npos) << st.message();
  EXPECT_TRUE(index_.Release(c));
  EXPECT_TRUE(index_.CheckInvariants(Owners({})).ok());
}

}  // namespace
}  // namespace s3nbd
