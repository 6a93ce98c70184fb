// LocalCacheStore: the persistent local block cache, a write-back BlockStore over an inner
// store. Blocks live in slots of a cache file (docs/cache-format.md); a block is CLEAN (a copy
// of the inner store), or has pending DIRTY/ERASE versions uploaded by writeback workers in
// flush-epoch order. LOCK RULE: mu_ guards every member marked GUARDED_BY(mu_) (checked by
// clang -Wthread-safety); no file or inner-store I/O runs under mu_ (slots are pinned instead;
// I/O functions are EXCLUDES(mu_)); slots are pinned under mu_ and unpinned without it (atomic
// pin counts, SlotPins in slot_index.h), so a cache hit takes mu_ once. The record_io_mu_ stripes order writes of the same record;
// they are taken (ascending) BEFORE mu_, never while holding it. Components with one job each:
// FetchTable (misses in flight, read-ahead queue), WritebackQueue (upload order, epochs, seqs,
// dirty bytes), SlotIndex (records, free lists, quarantine, CLOCK eviction, durability).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cache/block_store.h"
#include "cache/local/cache_format.h"
#include "cache/local/cache_options.h"
#include "cache/local/fetch_table.h"
#include "cache/local/slot_index.h"
#include "cache/local/uring_file.h"
#include "cache/local/writeback_queue.h"
#include "cache/util/mutex.h"

namespace s3nbd {

class LocalCacheStore : public BlockStore {
 public:
  struct Key {};  // construct only through Create
  LocalCacheStore(Key, CacheOptions options, std::unique_ptr<BlockStore> inner, VolumeIdentity id);
  // Opens or formats the cache file and recovers its dirty blocks (uploaded after Start()).
  static Result<std::unique_ptr<LocalCacheStore>> Create(CacheOptions options,
                                                         std::unique_ptr<BlockStore> inner,
                                                         VolumeIdentity id);
  // Stops threads WITHOUT draining: dirty data stays in the cache file for the next start.
  ~LocalCacheStore() override;

  // Starts writeback and prefetch threads (call after nbdkit forks).
  void Start() EXCLUDES(mu_);
  // Drains dirty data for at most `timeout`, stops threads, syncs the file. Data not uploaded
  // in time stays dirty in the file (ETIMEDOUT is returned) and is uploaded at the next start.
  Status Shutdown(std::chrono::milliseconds timeout) EXCLUDES(mu_);

  Status Read(uint64_t block, std::string* data) override;
  // A hit on a slot already verified in this process reads just the range (no hash of the
  // whole block); anything else takes the full Read path.
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override;
  Status Write(uint64_t block, std::string_view data) override;
  // A partial write to a block whose newest copy is cached and verified in this process
  // patches that slot in place (an open DIRTY version); anything else reads, patches and
  // writes the whole block (local_cache_inplace.cc).
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override;
  Status Erase(std::span<const uint64_t> blocks) override;
  Status Flush() override;
  Status List(const std::function<void(uint64_t block)>& fn) override;
  BlockPresence Probe(uint64_t block) override;

  // Queues background fetches of the blocks not cached yet (read-ahead from the Volume).
  // Never blocks on I/O; excess requests are dropped.
  void Prefetch(std::span<const uint64_t> blocks) override;

  const CacheCounters& counters() const { return counters_; }
  uint64_t slot_count() const { return header_.slot_count; }

  // Test hooks. Abandon: stop threads like kill -9 would (no drain, no sync).
  void Abandon() EXCLUDES(mu_) { StopThreads(); }
  // Checks the state invariants; call while no operation is in progress.
  Status CheckInvariants() EXCLUDES(mu_);
  // Uploads every pending version in the calling thread, ignoring writeback_delay.
  Status UploadAllForTest() EXCLUDES(mu_);

 private:
  struct Version {
    uint64_t seq = 0;
    uint64_t epoch = 0;
    uint64_t rec = 0;  // index record: a data slot, or a tombstone for an erase
    bool erase = false;
    bool uploading = false;
    bool retrying = false;
    bool early = false;  // picked before its ready time to make room (counted in early_uploads_)
    int attempts = 0;
    bool reading = false;  // the upload is reading its slot: in-place writes wait
    int inplace = 0;       // partial writes patching its slot now: not uploadable meanwhile
    uint32_t mods = 0;     // in-place writes so far; one after the upload's read means the
    uint32_t read_mods = 0;  // upload is stale: the version stays pending (read_mods: at read)
    int64_t ready_ns = 0;  // earliest upload time (writeback_delay or retry backoff)
    int64_t dirty_ns = 0;  // when it became dirty (caps how long writes postpone ready_ns)
  };
  struct BlockEntry {
    int64_t clean = -1;            // CLEAN slot, or -1
    std::deque<Version> versions;  // pending, oldest first; back() is what readers see
    bool prefetched = false;       // clean copy came from Prefetch and was not read yet
    // An older version completed and its slot's FREE record is not known durable yet: the
    // next version is not uploaded (and so cannot complete and free the block's newest record)
    // until a sync covered it. Otherwise power loss could keep the newer FREE and lose the older
    // one, and the older version would be uploaded again (the disk may reorder unsynced writes).
    bool rewrite_unsynced = false;
  };
  // Opening (local_cache_open.cc).
  Status Open() EXCLUDES(mu_);
  Status Format(const std::string& why) EXCLUDES(mu_);
  Status LoadIndex() EXCLUDES(mu_);
  Status Recover() EXCLUDES(mu_);
  // Refuses (or drops, with discard_stale_cache) recovered dirty data of a session that
  // another writer followed, then records this session's token in the header.
  Status CheckWriterSession() EXCLUDES(mu_);
  Status WriteHeader(const CacheHeader& h) EXCLUDES(mu_);
  CacheHeader HeaderLocked() const REQUIRES(mu_);  // geometry plus the current claims
  // Writes the header (watermark, flushed_seq, tokens), then fdatasyncs the cache file;
  // counted (SlotIndex::BeginSync, SyncDone) for SlotIndex::DataDurable.
  Status SyncFile() EXCLUDES(mu_);

  // Slots and records (local_cache_slots.cc).
  // Waiting allocations give up only when no upload succeeded for dirty_wait_timeout
  // since `since` (a slow but working store never fails a write).
  Result<uint64_t> AllocateSlot(bool wait, std::chrono::steady_clock::time_point since)
      EXCLUDES(mu_);
  Result<uint64_t> AllocateTomb(std::chrono::steady_clock::time_point since) EXCLUDES(mu_);
  std::chrono::steady_clock::time_point StallDeadlineLocked(
      std::chrono::steady_clock::time_point since) const REQUIRES(mu_);
  size_t EvictLocked(std::vector<uint64_t>* victims) REQUIRES(mu_);
  // (record, retire_gen) of records that were written in their retired (FREE) state.
  using Retired = std::vector<std::pair<uint64_t, uint32_t>>;
  Status WriteRecords(const std::vector<uint64_t>& recs, Retired* written_free = nullptr)
      EXCLUDES(mu_);
  void ReleaseRecords(const Retired& written_free) EXCLUDES(mu_);  // after WriteRecords succeeded
  void ReleaseLocked(uint64_t rec) REQUIRES(mu_);
  void Unpin(uint64_t slot) EXCLUDES(mu_);
  // verify: check the content hash (not possible for an open DIRTY slot).
  Status ReadSlot(uint64_t slot, uint64_t hash, bool verify, std::string* data) EXCLUDES(mu_);
  Status WriteSlot(uint64_t slot, std::string_view data) EXCLUDES(mu_);
  Status WriteSlotRange(uint64_t slot, uint32_t offset, uint32_t len, const char* src)
      EXCLUDES(mu_);
  Status ReadSlotRange(uint64_t slot, uint32_t offset, uint32_t len, char* dest) EXCLUDES(mu_);
  uint64_t SlotOffset(uint64_t slot) const {
    return header_.data_offset + slot * header_.slot_stride;
  }
  bool IsTomb(uint64_t rec) const { return rec >= header_.slot_count; }
  void RetireLocked(uint64_t rec, std::vector<uint64_t>* to_write) REQUIRES(mu_);
  void PublishLocked() REQUIRES(mu_);  // counters from state
  void MaybeDropEntryLocked(uint64_t block) REQUIRES(mu_);

  // Read path (local_cache_store.cc).
  // The newest local copy of a block: none (slot -1, not erased), an ERASE, or a slot (DIRTY
  // version or CLEAN copy). entry is null when the block has no state at all.
  struct Newest {
    BlockEntry* entry = nullptr;
    bool erased = false;
    int64_t slot = -1;
    bool dirty = false;
  };
  Newest NewestLocked(uint64_t block) REQUIRES(mu_);
  void CleanHitLocked(BlockEntry* e, uint64_t slot) REQUIRES(mu_);  // CLOCK bit, read-ahead
  Status RunFetch(uint64_t block, const std::shared_ptr<FetchTable::Fetch>& fetch,
                  std::string* data, bool prefetch) EXCLUDES(mu_);
  // Installs a new DIRTY (or ERASE) version whose slot data is written; `reserved`: its
  // dirty bytes were already counted by the backpressure wait. `complete`: the caller wrote
  // the whole block at once (no read-modify-write). A complete write with no pending version
  // of its own that continues a sequential stream (block - 1 was among the last
  // kRecentWhole complete writes) is ready for upload at once: there is nothing to coalesce,
  // and writeback_delay would only hold the stream back.
  void AddVersionLocked(uint64_t block, uint64_t rec, uint64_t hash, bool erase, bool reserved,
                        std::vector<uint64_t>* to_write, bool complete = false) REQUIRES(mu_);
  // Whether block - 1 was written whole lately (the stream test of AddVersionLocked); records
  // this write.
  bool ContinuesStreamLocked(uint64_t block) REQUIRES(mu_);
  // Write, where `complete` says the data came whole from the caller (not patched here).
  Status WriteBlock(uint64_t block, std::string_view data, bool complete) EXCLUDES(mu_);
  // WriteRecords + ReleaseRecords
  Status CommitRecords(const std::vector<uint64_t>& to_write) EXCLUDES(mu_);
  Status DirtyTimeout(const std::string& op, uint64_t block) REQUIRES(mu_);
  // A dirty version is uploaded once it was not written for writeback_delay, and at the
  // latest kMaxDelayFactor x writeback_delay after it became dirty: the upload time after a
  // write at `now` to a version dirty since `dirty_ns`.
  static constexpr int kMaxDelayFactor = 10;
  int64_t ReadyAfterWrite(int64_t dirty_ns, int64_t now) const;
  // A write patched queued version v in place: postpone its upload (ReadyAfterWrite).
  void PostponeLocked(uint64_t block, Version* v) REQUIRES(mu_);
  // Waits (releasing mu_) until one more dirty block fits under max_dirty, then counts it.
  Status ReserveDirtyLocked(uint64_t block, std::chrono::steady_clock::time_point since)
      REQUIRES(mu_);

  // In-place writes (local_cache_inplace.cc).
  // Picks the slot a partial write may patch in place, marking it open and busy; to_write
  // gets the records to write before the data. Returns false when it must copy instead.
  Result<bool> BeginInPlaceLocked(uint64_t block, std::chrono::steady_clock::time_point since,
                                  uint64_t* slot, uint64_t* seq, std::vector<uint64_t>* to_write,
                                  bool* need_sync) REQUIRES(mu_);
  // Local flush: hashes the open versions of epochs <= epoch, so flushed data is verifiable.
  Status SealOpenVersions(uint64_t epoch) EXCLUDES(mu_);
  // Writeback (local_cache_writeback.cc).
  void WritebackLoop() EXCLUDES(mu_);
  void PrefetchLoop() EXCLUDES(mu_);
  // batch of (block, seq)
  bool PickLocked(bool ignore_delay, std::vector<std::pair<uint64_t, uint64_t>>* batch,
                  int64_t* wake_ns) REQUIRES(mu_);
  void Upload(const std::vector<std::pair<uint64_t, uint64_t>>& batch) EXCLUDES(mu_);
  // hash: content hash of an uploaded open slot (it becomes the CLEAN record's hash).
  void Complete(const std::vector<std::pair<uint64_t, uint64_t>>& batch, const Status& s,
                uint64_t hash = 0) EXCLUDES(mu_);
  bool UrgentLocked() const REQUIRES(mu_);
  // Every pending version must go now (shutdown drain, a flush waiting), not just enough of
  // them to make room for writers waiting for space.
  bool DrainAllLocked() const REQUIRES(mu_);
  // Wakes one worker unless a sleeping one will wake by `ready_ns` anyway (no herd).
  void KickWritebackLocked(int64_t ready_ns) REQUIRES(mu_);
  Version* FindVersionLocked(uint64_t block, uint64_t seq) REQUIRES(mu_);
  void StopThreads() EXCLUDES(mu_);
  // Adds the time from its construction to its destruction to counters->write_wait_ms when
  // that was a real wait (the backpressure figure of `s3nbd stats`).
  class WaitClock {
   public:
    explicit WaitClock(CacheCounters* counters)
        : counters_(counters), start_(std::chrono::steady_clock::now()) {}
    ~WaitClock();
    WaitClock(const WaitClock&) = delete;
    WaitClock& operator=(const WaitClock&) = delete;

   private:
    CacheCounters* counters_;
    std::chrono::steady_clock::time_point start_;
  };
  std::string Where(uint64_t block) const;

  const CacheOptions options_;
  const std::unique_ptr<BlockStore> inner_;
  const VolumeIdentity id_;
  uint64_t block_size_;
  // Geometry (fixed once Open returns, read without mu_) plus the writer tokens, written only
  // while opening, before any thread runs.
  CacheHeader header_;
  std::unique_ptr<CacheFile> file_;
  CacheCounters counters_;
  // Per data slot: 1 once its content is known good in this process (written by us, or read
  // and hash-checked). Cleared while a slot is being rewritten. Lock-free.
  std::unique_ptr<std::atomic<uint8_t>[]> verified_;

  // The stripes guard no member (they order I/O) and are taken in a run-time number and
  // order, which the analysis cannot follow: plain std::mutex, see WriteRecords.
  static constexpr size_t kRecordStripes = 64;
  std::array<std::mutex, kRecordStripes> record_io_mu_;  // by record % kRecordStripes
  Mutex header_io_mu_;  // orders header writes; guards no member

  Mutex mu_;
  CondVar work_cv_;   // writeback workers: new/urgent work, stop
  CondVar space_cv_;  // writers: dirty bytes, slots or tombstones freed
  CondVar done_cv_;   // flush/shutdown: versions completed
  CondVar read_cv_;   // in-place writers: an upload finished reading a slot
  // Per record pin counts: taken under mu_, dropped without it (lock-free, see slot_index.h).
  SlotPins pins_;
  // in-memory index: records, free lists, quarantine, CLOCK, retire/release, durability
  SlotIndex index_ GUARDED_BY(mu_){&pins_};
  std::unordered_map<uint64_t, BlockEntry> blocks_ GUARDED_BY(mu_);
  // pending versions: upload order, epochs, seqs, dirty bytes
  WritebackQueue writeback_ GUARDED_BY(mu_);
  FetchTable fetches_ GUARDED_BY(mu_);  // misses in flight (coalescing) and read-ahead queue
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  uint64_t current_epoch_ GUARDED_BY(mu_) = 0;
  uint64_t flush_target_ GUARDED_BY(mu_) = 0;  // remote flush wants <=
  int flush_waiting_ GUARDED_BY(mu_) = 0;
  int64_t last_error_log_ns_ GUARDED_BY(mu_) = 0;
  int timed_sleepers_ GUARDED_BY(mu_) = 0;  // workers sleeping until a version is ready
  int space_waiters_ GUARDED_BY(mu_) = 0;
  int early_uploads_ GUARDED_BY(mu_) = 0;  // uploads started early for space waiters
  // The last kRecentWhole blocks written whole (ContinuesStreamLocked), a ring; enough for the
  // queue depth of a few parallel sequential streams.
  static constexpr size_t kRecentWhole = 64;
  std::array<uint64_t, kRecentWhole> recent_whole_ GUARDED_BY(mu_) = [] {
    std::array<uint64_t, kRecentWhole> none;
    none.fill(UINT64_MAX);  // no block: block - 1 is never UINT64_MAX
    return none;
  }();
  uint64_t recent_whole_next_ GUARDED_BY(mu_) = 0;
  bool syncing_ GUARDED_BY(mu_) = false;
  bool draining_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t flushed_seq_ GUARDED_BY(mu_) = 0;  // the header's flushed_seq claim
  // Completions (Complete) whose CLEAN/FREE record writes are still in flight, by ticket. A
  // sync first waits for those that completed before it: otherwise a sync could make a later
  // state of a block durable (its slot freed) while an older DIRTY/ERASE record of it, already
  // uploaded, stays durable as it was and is uploaded again after power loss.
  uint64_t completion_tickets_ GUARDED_BY(mu_) = 0;
  std::set<uint64_t> completions_open_ GUARDED_BY(mu_);
  Status last_error_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_progress_ GUARDED_BY(mu_);  // last upload done
  std::vector<std::jthread> threads_;  // started by Start(), joined by StopThreads()
};

}  // namespace s3nbd
