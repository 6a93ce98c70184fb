// LocalCacheStore writeback: workers upload pending versions of the oldest flush epoch only
// (so the inner store always holds a state some flush saw plus part of the next epoch),
// after writeback_delay unless urgent; erases go out in batches; failures retry with
// backoff. Prefetch workers fetch queued misses. LOCK RULE: see local_cache_store.h.
#include <algorithm>

#include "cache/local/local_cache_store.h"
#include "cache/util/coding.h"
#include "cache/util/log.h"

namespace s3nbd {
namespace {

constexpr size_t kEraseBatch = 1000;
constexpr int kMaxScan = 4096;
constexpr int64_t kErrorLogIntervalNs = 1'000'000'000;
constexpr int kEarlyExtra = 2;  // early uploads beyond one per waiting writer

}  // namespace

void LocalCacheStore::Start() {
  {
    MutexLock lock(&mu_);
    if (!threads_.empty()) return;
    stop_ = false;
  }
  const int writers = options_.uploads ? std::max(1, options_.writeback_threads) : 0;
  for (int i = 0; i < writers; i++) threads_.emplace_back([this] { WritebackLoop(); });
  for (int i = 0; i < options_.prefetch_threads; i++)
    threads_.emplace_back([this] { PrefetchLoop(); });
}

void LocalCacheStore::StopThreads() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    fetches_.WakeQueue();
  }
  work_cv_.NotifyAll();
  threads_.clear();  // jthread joins
}

Status LocalCacheStore::Shutdown(std::chrono::milliseconds timeout) {
  bool drained;
  {
    MutexLock lock(&mu_);
    draining_ = true;
    work_cv_.NotifyAll();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (options_.uploads && !writeback_.empty() &&
           std::chrono::steady_clock::now() < deadline)
      done_cv_.WaitUntil(&mu_, deadline);
    drained = !options_.uploads || writeback_.empty();
  }
  StopThreads();
  uint64_t seq, left;
  {
    MutexLock lock(&mu_);
    draining_ = false;
    seq = next_seq_ - 1;
    left = writeback_.queued();
  }
  const std::string where = "shutdown: cache " + options_.path;
  Status s = SyncFile();  // everything written so far is now durable: flushed_seq = seq
  if (s.ok()) {
    MutexLock lock(&mu_);
    flushed_seq_ = std::max(flushed_seq_, seq);
  }
  if (s.ok()) s = SyncFile();  // and so is the header that says so
  if (!s.ok()) return s.Wrap(where);
  if (!options_.uploads) {
    if (left > 0)
      LogWarning(where + ": read-only: " + std::to_string(left) +
              " dirty blocks stay in the cache for the next writable open");
    return Status::Ok();
  }
  if (!drained) {
    LogWarning(where + ": " + std::to_string(left) +
               " dirty blocks kept in the cache; they are uploaded at the next start");
    return Status::Error(ETIMEDOUT, where + ": " + std::to_string(left) +
                                        " dirty blocks not uploaded in time; kept in the cache");
  }
  s = inner_->Flush();
  return s.ok() ? s : s.Wrap(where);
}

bool LocalCacheStore::UrgentLocked() const { return space_waiters_ > 0 || DrainAllLocked(); }

bool LocalCacheStore::DrainAllLocked() const {
  if (draining_) return true;
  return flush_waiting_ > 0 && !writeback_.empty() && writeback_.oldest_epoch() <= flush_target_;
}

void LocalCacheStore::KickWritebackLocked(int64_t ready_ns) {
  if (timed_sleepers_ == 0 || ready_ns <= SteadyNowNs() || UrgentLocked()) work_cv_.NotifyOne();
}

LocalCacheStore::Version* LocalCacheStore::FindVersionLocked(uint64_t block, uint64_t seq) {
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return nullptr;
  for (Version& v : it->second.versions)
    if (v.seq == seq) return &v;
  return nullptr;
}

// Picks one data version, or a batch of erases, of the oldest pending epoch.
bool LocalCacheStore::PickLocked(bool ignore_delay,
                                 std::vector<std::pair<uint64_t, uint64_t>>* batch,
                                 int64_t* wake_ns) {
  if (writeback_.queued() == 0 || writeback_.empty()) return false;
  const uint64_t min_epoch = writeback_.oldest_epoch();
  const bool urgent = ignore_delay || UrgentLocked();
  const bool all = ignore_delay || DrainAllLocked();
  const int64_t now = SteadyNowNs();
  bool erases = false;
  int scanned = 0;
  for (auto it = writeback_.begin();
       it != writeback_.end() && std::get<0>(*it) == min_epoch && scanned < kMaxScan; scanned++) {
    const auto [epoch, ready, seq, block] = *it;
    BlockEntry& entry = blocks_.at(block);
    Version& v = entry.versions.front();
    // An older version of this block goes first; a slot being patched in place waits; so does
    // a block whose older version's completion is not durable yet (BlockEntry).
    if (v.seq != seq || v.uploading || v.inplace > 0 || entry.rewrite_unsynced) {
      ++it;
      continue;
    }
    // Writers waiting for space get a few uploads of the least recently written blocks
    // (the queue is in ready order), not all of them: a block still being patched stays
    // dirty anyway, and every extra upload costs a PUT.
    const bool early = now < ready && !all && early_uploads_ >= space_waiters_ + kEarlyExtra;
    if (now < ready && (!urgent || v.retrying || early)) {
      *wake_ns = std::min(*wake_ns, ready);
      if (!urgent || early) break;  // sorted by ready time: nothing after this one is ready
      ++it;
      continue;
    }
    if (!batch->empty() && !(erases && v.erase)) {
      ++it;
      continue;
    }
    v.uploading = true;
    v.reading = !v.erase;
    if (now < ready && !all) {
      v.early = true;
      early_uploads_++;
    }
    it = writeback_.Take(it);
    counters_.uploads_in_flight++;
    batch->emplace_back(block, seq);
    erases = v.erase;
    if (!v.erase || batch->size() >= kEraseBatch) break;
  }
  return !batch->empty();
}

void LocalCacheStore::Upload(const std::vector<std::pair<uint64_t, uint64_t>>& batch) {
  Status s;
  bool erase, open = false;
  uint64_t slot = 0, hash = 0;
  {
    MutexLock lock(&mu_);
    Version* v = FindVersionLocked(batch[0].first, batch[0].second);
    erase = v->erase;
    if (!erase) {
      slot = v->rec;
      hash = index_.record(slot).hash;
      open = (index_.record(slot).flags & kRecordOpen) != 0;
      index_.Pin(slot);
    }
  }
  if (erase) {
    std::vector<uint64_t> blocks;
    for (auto& [b, seq] : batch) blocks.push_back(b);
    s = inner_->Erase(blocks);
    if (!s.ok())
      s = s.Wrap("writeback erase: " + Where(blocks[0]) + " (+" +
                 std::to_string(blocks.size() - 1) + ")");
  } else {
    std::string data;
    s = ReadSlot(slot, hash, !open, &data);
    if (s.ok() && open) hash = BlockHash(data);  // of exactly what is uploaded
    {
      // From here in-place writes may patch the slot again; Complete sees them (mods).
      MutexLock lock(&mu_);
      Version* v = FindVersionLocked(batch[0].first, batch[0].second);
      v->reading = false;
      v->read_mods = v->mods;
      pins_.Unpin(slot);
      ReleaseLocked(slot);
    }
    read_cv_.NotifyAll();
    if (s.ok()) s = inner_->Write(batch[0].first, data);
    if (!s.ok()) s = s.Wrap("writeback: " + Where(batch[0].first));
  }
  Complete(batch, s, open ? hash : 0);
}

void LocalCacheStore::Complete(const std::vector<std::pair<uint64_t, uint64_t>>& batch,
                               const Status& s, uint64_t hash) {
  std::vector<uint64_t> to_write;
  std::vector<uint64_t> unsynced;  // blocks whose older version completed here
  bool epoch_done = false, more = false;
  uint64_t ticket;
  {
    MutexLock lock(&mu_);
    ticket = ++completion_tickets_;  // syncs wait until these records are written
    completions_open_.insert(ticket);
    const int64_t now = SteadyNowNs();
    for (auto& [block, seq] : batch) {
      BlockEntry& e = blocks_.at(block);
      Version& v = e.versions.front();
      v.uploading = false;
      counters_.uploads_in_flight--;
      if (v.early) {
        v.early = false;
        early_uploads_--;
      }
      if (s.ok() && v.mods != v.read_mods) {
        // Patched in place after the upload read the slot: the store has an older state
        // of this version; it stays pending and is uploaded again.
        counters_.uploads++;
        last_progress_ = std::chrono::steady_clock::now();
        v.dirty_ns = now;  // dirty again since about the read
        v.ready_ns = ReadyAfterWrite(now, now);
        writeback_.Queue({v.epoch, v.ready_ns, v.seq, block});
        more = true;
        continue;
      }
      if (!s.ok()) {
        v.attempts++;
        v.retrying = true;
        auto delay = options_.retry_delay * (1LL << std::min(v.attempts - 1, 16));
        delay = std::min<std::chrono::milliseconds>(delay, options_.max_retry_delay);
        v.ready_ns = now + std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
        writeback_.Queue({v.epoch, v.ready_ns, v.seq, block});
        more = true;
        continue;
      }
      const Version done = v;
      e.versions.pop_front();
      if (writeback_.CompletePending(done.epoch, done.seq))
        epoch_done = true;  // the next epoch may start: every worker may have work
      more = more || !e.versions.empty();
      last_progress_ = std::chrono::steady_clock::now();
      if (done.erase) {
        counters_.erases++;
        RetireLocked(done.rec, &to_write);
      } else {
        counters_.uploads++;
        writeback_.SubDirty(block_size_);
        if (e.versions.empty()) {  // the newest data is now in the inner store: CLEAN
          e.clean = static_cast<int64_t>(done.rec);
          // Until a sync covers this CLEAN rewrite, the durable record may still be the hashed
          // DIRTY one of a flushed write: patching the slot in place before then could leave
          // that record over patched bytes, which recovery takes for corruption.
          index_.DataWritten(done.rec);
          CacheRecord& r = index_.record(done.rec);
          if (r.flags & kRecordOpen) r.hash = hash;  // unchanged since the read (mods)
          r.flags = 0;
          r.kind = RecordKind::kClean;
          to_write.push_back(done.rec);
        } else {
          RetireLocked(done.rec, &to_write);
        }
      }
      if (!e.versions.empty()) {
        e.rewrite_unsynced = true;
        unsynced.push_back(block);
      }
      MaybeDropEntryLocked(block);
    }
    if (!s.ok()) {
      counters_.errors++;
      last_error_ = s;
      if (now - last_error_log_ns_ >= kErrorLogIntervalNs) {
        last_error_log_ns_ = now;
        LogWarning(s.message() + " (will retry)");
      }
    } else {
      last_error_ = Status::Ok();
    }
    PublishLocked();
  }
  space_cv_.NotifyAll();
  done_cv_.NotifyAll();
  if (epoch_done) {
    work_cv_.NotifyAll();
  } else if (more) {
    work_cv_.NotifyOne();
  }
  if (options_.before_completion_records) options_.before_completion_records();
  if (Status w = CommitRecords(to_write); !w.ok()) LogWarning("writeback: " + w.message());
  {
    MutexLock lock(&mu_);
    completions_open_.erase(ticket);
  }
  done_cv_.NotifyAll();
  if (unsynced.empty()) return;
  Status s2 = SyncFile();
  if (!s2.ok()) LogWarning("writeback: sync after an older version's upload: " + s2.message());
  {
    MutexLock lock(&mu_);
    for (uint64_t block : unsynced) {
      auto it = blocks_.find(block);
      if (it != blocks_.end()) it->second.rewrite_unsynced = false;
    }
  }
  work_cv_.NotifyAll();
}

void LocalCacheStore::WritebackLoop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    std::vector<std::pair<uint64_t, uint64_t>> batch;
    int64_t wake = INT64_MAX;
    if (PickLocked(false, &batch, &wake)) {
      if (writeback_.queued() != 0) work_cv_.NotifyOne();  // chain: let another worker look
      lock.Unlock();
      Upload(batch);
      lock.Lock();
      continue;
    }
    if (wake == INT64_MAX) {
      work_cv_.Wait(&mu_);
    } else {
      timed_sleepers_++;
      work_cv_.WaitUntil(&mu_,
                         std::chrono::steady_clock::time_point(std::chrono::nanoseconds(wake)));
      timed_sleepers_--;
    }
  }
}

void LocalCacheStore::PrefetchLoop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    const std::optional<uint64_t> queued = fetches_.PopQueued();
    if (!queued) {
      fetches_.WaitQueued(&mu_);
      continue;
    }
    const uint64_t block = *queued;
    // cached, pending or being fetched meanwhile
    if (blocks_.count(block) || fetches_.InFlight(block)) continue;
    auto fetch = fetches_.Begin(block);
    lock.Unlock();
    (void)RunFetch(block, fetch, nullptr, true);  // best effort: a reader fetches it again
    lock.Lock();
  }
}

Status LocalCacheStore::UploadAllForTest() {
  for (;;) {
    std::vector<std::pair<uint64_t, uint64_t>> batch;
    {
      MutexLock lock(&mu_);
      int64_t wake = INT64_MAX;
      if (writeback_.empty()) return Status::Ok();
      if (!PickLocked(true, &batch, &wake))
        return Status::Error(EAGAIN, "nothing eligible to upload");
    }
    Upload(batch);
    MutexLock lock(&mu_);
    if (!last_error_.ok()) return last_error_;
  }
}

}  // namespace s3nbd
