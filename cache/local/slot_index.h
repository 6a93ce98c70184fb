// SlotIndex: the local cache's in-memory index (one CacheRecord and one SlotState per index
// record), its free lists, the quarantine, CLOCK eviction, retire/release and the durability
// test of slot data. Pure bookkeeping: no I/O (the store writes records and syncs the file).
// LOCK RULE: not thread-safe by itself; its owner guards it with one mutex (LocalCacheStore:
// GUARDED_BY(mu_)). Pin counts are SlotPins, lock-free: pinned under that mutex, unpinned without.
//
// Invariants (CheckInvariants):
//  1. Every record has exactly one owner: the store (a block's CLEAN copy or pending version),
//     one free list (free slots, quarantine, free tombstones), or "retired" (FREE in memory,
//     waiting for its FREE record to reach the file and for its pins to drop).
//  2. Free, quarantined and retired records are FREE in memory. Data slots (records below
//     slot_count) are never ERASE and never in the tombstone list; tombstones (the rest) are
//     ERASE or FREE and only in the tombstone list. Only DIRTY records carry flags.
//  3. A retired record is released (to the quarantine, or the tombstone list) only once its
//     FREE record of this retirement (retire_gen) was written and nobody pins it; a released
//     data slot is reused only after a sync that began after its release (QuarantineSynced),
//     so a durable record never points at a later owner's data after power loss.
//  4. A slot's data is durable once a sync that started after the data was last written
//     whole completed (DataDurable).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cache/local/cache_format.h"
#include "cache/util/status.h"

namespace s3nbd {

// Per-record pin counts (a pinned slot is being read or written and is not reused) and the
// retired bit an unpinner checks. LOCK RULE: thread-safe, lock-free. Pin and SetRetired run
// under the index owner's mutex; Unpin runs without it. Unpin and the owner's release test
// (pins() under the mutex after SetRetired) are sequentially consistent: at least one of an
// unpinner dropping the last pin and the releaser sees the other, so a retired slot is
// always released once by whoever comes last (SlotIndex::Release is idempotent).
class SlotPins {
 public:
  void Reset(uint64_t records) {
    pins_ = std::make_unique<std::atomic<uint32_t>[]>(records);
    retired_ = std::make_unique<std::atomic<bool>[]>(records);
  }
  void Pin(uint64_t rec) { pins_[rec].fetch_add(1); }
  // True when this dropped the last pin of a retired record: the caller must then take the
  // owner's mutex and call SlotIndex::Release(rec).
  bool Unpin(uint64_t rec) { return pins_[rec].fetch_sub(1) == 1 && retired_[rec].load(); }
  uint32_t pins(uint64_t rec) const { return pins_[rec].load(); }
  void SetRetired(uint64_t rec, bool retired) { retired_[rec].store(retired); }
  bool retired(uint64_t rec) const { return retired_[rec].load(); }

 private:
  std::unique_ptr<std::atomic<uint32_t>[]> pins_;
  std::unique_ptr<std::atomic<bool>[]> retired_;
};

class SlotIndex {
 public:
  // `pins` outlives the index; the owner reads and unpins it without the mutex.
  explicit SlotIndex(SlotPins* pins) : pins_(pins) {}

  // A new cache: every record FREE, every slot and tombstone on its free list.
  void Format(uint64_t slot_count, uint64_t record_count);
  // The records read from a cache file; the free lists stay empty until RebuildFreeLists
  // (recovery first drops what it does not keep).
  void Load(uint64_t slot_count, std::vector<CacheRecord> records);
  // Puts every FREE record on its free list (the end of recovery, after a sync).
  void RebuildFreeLists();

  uint64_t slot_count() const { return slot_count_; }
  uint64_t record_count() const { return records_.size(); }
  bool IsTomb(uint64_t rec) const { return rec >= slot_count_; }
  CacheRecord& record(uint64_t rec) { return records_[rec]; }
  const CacheRecord& record(uint64_t rec) const { return records_[rec]; }

  // Recovery: what the records say, before anything is verified. Per block, its records from
  // the newest CLEAN one on, oldest seq first; `drop`: records to free (versions under the
  // uploaded_below watermark, older than a block's newest CLEAN record).
  struct RecoveryPlan {
    std::unordered_map<uint64_t, std::vector<uint64_t>> blocks;
    std::vector<uint64_t> drop;
    uint64_t max_seq = 0;
    uint64_t max_epoch = 0;
    uint64_t uploaded = 0;  // versions dropped for the watermark
  };
  RecoveryPlan PlanRecovery(uint64_t uploaded_below) const;
  void Drop(uint64_t rec) { records_[rec] = CacheRecord{}; }  // FREE, on no list yet

  // Allocation. A taken record is FREE, unpinned, unreferenced; its retire_gen survives.
  std::optional<uint64_t> TakeFreeSlot();
  std::optional<uint64_t> TakeFreeTomb();
  bool has_free_slot() const { return !free_slots_.empty(); }
  bool has_free_tomb() const { return !free_tombs_.empty(); }
  size_t free_tombs() const { return free_tombs_.size(); }
  // A taken record that was not used, or one dropped whole (its FREE record written or synced
  // before any reuse by the caller): FREE again, straight onto its free list.
  void Free(uint64_t rec);

  // Quarantine: released data slots wait for a sync before reuse.
  bool has_quarantine() const { return !quarantine_.empty(); }
  std::vector<uint64_t> TakeQuarantine();  // a sync begins
  void QuarantineSynced(const std::vector<uint64_t>& slots);  // it succeeded: reusable
  void QuarantineFailed(const std::vector<uint64_t>& slots);  // it failed: back to quarantine

  // Retire: the record turns FREE in memory; the caller writes it (to_write gets it).
  void Retire(uint64_t rec, std::vector<uint64_t>* to_write);
  bool retired(uint64_t rec) const { return slots_[rec].retired; }
  uint32_t retire_gen(uint64_t rec) const { return slots_[rec].retire_gen; }
  // The FREE record of retirement `gen` was written; true when the record was released.
  bool FreeWritten(uint64_t rec, uint32_t gen);
  // Releases a retired record whose FREE record was written and that nobody pins; true when
  // it did (space waiters may go on). Idempotent.
  bool Release(uint64_t rec);

  void Pin(uint64_t rec) { pins_->Pin(rec); }
  uint32_t pins(uint64_t rec) const { return pins_->pins(rec); }

  // CLOCK: a hit sets the slot's reference bit.
  void Reference(uint64_t slot, bool ref = true) { slots_[slot].ref = ref; }
  bool referenced(uint64_t slot) const { return slots_[slot].ref; }
  // Retires up to a batch of victims (appended to `victims`): unpinned CLEAN slots whose
  // reference bit is clear (a set bit is cleared as the hand passes) and that `take(slot,
  // block)` gives up (the owner detaches its block's copy). Returns how many.
  size_t Evict(const std::function<bool(uint64_t slot, uint64_t block)>& take,
               std::vector<uint64_t>* victims);
  uint64_t clock_hand() const { return clock_hand_; }

  // Durability of slot data.
  uint64_t BeginSync() { return ++syncs_started_; }  // the number of the sync starting
  void SyncDone(uint64_t n) { syncs_done_ = std::max(syncs_done_, n); }
  void DataWritten(uint64_t slot) { slots_[slot].data_sync = syncs_started_; }  // whole
  bool DataDurable(uint64_t slot) const { return syncs_done_ > slots_[slot].data_sync; }

  // Checks the invariants above; `owners[rec]`: references the store holds to each record.
  // With `quiescent`, a pin is an error too (no operation may be in progress).
  Status CheckInvariants(std::vector<int> owners, bool quiescent = true) const;

 private:
  struct SlotState {
    bool ref = false;           // CLOCK reference bit (data slots)
    bool retired = false;       // FREE in records_; reusable once free_written and unpinned
    bool free_written = false;  // the FREE record reached the file
    uint32_t retire_gen = 0;    // bumped by every retire; survives reuse
    // Syncs started before this slot's data was last written whole (Write, fetch).
    uint64_t data_sync = 0;
  };
  std::optional<uint64_t> Take(std::vector<uint64_t>* list);
  void SetRetired(uint64_t rec, bool retired) {
    slots_[rec].retired = retired;
    pins_->SetRetired(rec, retired);
  }

  SlotPins* const pins_;
  uint64_t slot_count_ = 0;
  std::vector<CacheRecord> records_;
  std::vector<SlotState> slots_;  // per record
  std::vector<uint64_t> free_slots_;
  std::vector<uint64_t> quarantine_;
  std::vector<uint64_t> free_tombs_;
  uint64_t clock_hand_ = 0;
  uint64_t syncs_started_ = 0;  // syncs begun (BeginSync)
  uint64_t syncs_done_ = 0;     // highest number of a sync that succeeded
};

}  // namespace s3nbd
