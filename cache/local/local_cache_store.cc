// LocalCacheStore request paths: Read (hit, coalesced miss, absent), Write/Erase (new
// DIRTY/ERASE versions with dirty backpressure), Flush (remote or local policy), List,
// Probe and Prefetch. LOCK RULE: see local_cache_store.h; no I/O while holding mu_.
#include "cache/local/local_cache_store.h"

#include <cstring>

#include <algorithm>

#include "cache/util/coding.h"
#include "cache/util/log.h"

namespace s3nbd {
namespace {

constexpr size_t kEraseChunk = 256;  // erases recorded per index batch


}  // namespace

LocalCacheStore::WaitClock::~WaitClock() {
  const auto waited = std::chrono::steady_clock::now() - start_;
  if (waited > std::chrono::microseconds(100))  // it really waited (not just checked)
    counters_->write_wait_ms += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(waited).count() + 500) / 1000;
}

LocalCacheStore::Newest LocalCacheStore::NewestLocked(uint64_t block) {
  Newest n;
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return n;
  n.entry = &it->second;
  if (!n.entry->versions.empty()) {
    const Version& v = n.entry->versions.back();
    n.erased = v.erase;
    n.slot = v.erase ? -1 : static_cast<int64_t>(v.rec);
    n.dirty = !v.erase;
  } else {
    n.slot = n.entry->clean;
  }
  return n;
}

void LocalCacheStore::CleanHitLocked(BlockEntry* e, uint64_t slot) {
  index_.Reference(slot);
  if (e->prefetched) {
    e->prefetched = false;
    counters_.readahead_hits++;
  }
}

Status LocalCacheStore::ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) {
  uint64_t slot = 0;
  bool fast = false;  // a hit on a slot verified in this process: read just the range
  {
    MutexLock lock(&mu_);
    const Newest n = NewestLocked(block);
    if (n.erased) {
      counters_.hits++;
      std::memset(dest, 0, len);
      return Status::Ok();
    }
    if (n.slot >= 0) {
      slot = static_cast<uint64_t>(n.slot);
      fast = verified_[slot].load(std::memory_order_acquire) != 0;
      if (fast && !n.dirty) CleanHitLocked(n.entry, slot);
    }
    if (fast) index_.Pin(slot);  // the slot cannot be reused until Unpin
  }
  // A miss, or a slot whose hash was not checked yet in this process: the full Read path
  // (fetch, or read + hash check), called without mu_ held.
  if (!fast) return BlockStore::ReadRange(block, offset, len, dest);
  Status s = ReadSlotRange(slot, offset, len, dest);
  Unpin(slot);
  if (!s.ok()) return s.Wrap("read: " + Where(block));
  counters_.hits++;
  return s;
}

Status LocalCacheStore::Read(uint64_t block, std::string* data) {
  for (;;) {
    std::shared_ptr<FetchTable::Fetch> fetch;
    bool owner = false, dirty = false;
    uint64_t slot = 0, hash = 0;
    bool verify = true;
    {
      MutexLock lock(&mu_);
      const Newest n = NewestLocked(block);
      BlockEntry* e = n.entry;
      if (n.erased) {
        counters_.hits++;
        data->assign(block_size_, '\0');
        return Status::Ok();
      }
      if (n.slot >= 0) {
        slot = static_cast<uint64_t>(n.slot);
        dirty = n.dirty;
        if (!dirty) CleanHitLocked(e, slot);
      } else if ((fetch = fetches_.Find(block))) {
        counters_.coalesced_misses++;
        fetches_.WaitDone(&mu_, *fetch);
      } else {
        fetch = fetches_.Begin(block);
        owner = true;
        counters_.misses++;
      }
      if (!fetch) {
        hash = index_.record(slot).hash;
        verify = (index_.record(slot).flags & kRecordOpen) == 0;
        index_.Pin(slot);
      }
    }
    if (owner) return RunFetch(block, fetch, data, false);
    if (fetch) {  // done and immutable from now on
      if (fetch->status.ok()) *data = fetch->data;
      return fetch->status;
    }
    Status s = ReadSlot(slot, hash, verify, data);
    Unpin(slot);
    if (s.ok()) {
      counters_.hits++;
      return s;
    }
    if (dirty || s.err() != EBADMSG) return s.Wrap("read: " + Where(block));
    // A CLEAN copy failing its checksum is dropped and read again from the store.
    LogWarning("read: " + Where(block) + ": " + s.message() + "; dropping the cached copy");
    std::vector<uint64_t> to_write;
    {
      MutexLock lock(&mu_);
      auto it = blocks_.find(block);
      if (it != blocks_.end() && it->second.clean == static_cast<int64_t>(slot)) {
        it->second.clean = -1;
        RetireLocked(slot, &to_write);
      }
    }
    if (Status w = CommitRecords(to_write); !w.ok()) return w.Wrap("read: " + Where(block));
  }
}

// Reads a missing block from the inner store (zeros when it is absent), caches a non-zero
// copy as CLEAN unless the block was written meanwhile, and wakes coalesced readers.
Status LocalCacheStore::RunFetch(uint64_t block, const std::shared_ptr<FetchTable::Fetch>& fetch,
                                 std::string* data, bool prefetch) {
  std::string buf;
  Status s;
  bool zero = false;
  if (inner_->Probe(block) == BlockPresence::kAbsent) {
    counters_.absent_reads++;
    zero = true;
  } else {
    s = inner_->Read(block, &buf);
    if (s.err() == ENOENT) {
      s = Status::Ok();
      zero = true;
    } else if (s.ok()) {
      buf.resize(block_size_, '\0');
      zero = IsAllZero(buf);
    } else {
      counters_.errors++;
      s = s.Wrap("read: " + Where(block));
    }
  }
  if (zero) buf.assign(block_size_, '\0');
  int64_t slot = -1;
  if (s.ok() && !zero) {
    auto a = AllocateSlot(false, {});
    if (a.ok() && WriteSlot(*a, buf).ok()) {
      slot = static_cast<int64_t>(*a);
    } else if (a.ok()) {
      MutexLock lock(&mu_);
      index_.Free(*a);  // its FREE record is already on disk
    }
  }
  const uint64_t hash = slot >= 0 ? BlockHash(buf) : 0;
  if (data && s.ok()) *data = buf;
  std::vector<uint64_t> to_write;
  {
    MutexLock lock(&mu_);
    BlockEntry& e = blocks_[block];
    if (slot >= 0) {
      uint64_t sl = static_cast<uint64_t>(slot);
      if (!fetch->stale && e.versions.empty() && e.clean < 0) {
        e.clean = slot;
        index_.DataWritten(sl);
        e.prefetched = prefetch;
        index_.Reference(sl, !prefetch);
        index_.record(sl) = CacheRecord{RecordKind::kClean, block, next_seq_++, current_epoch_, hash};
        to_write.push_back(sl);
      } else {
        index_.Free(sl);  // written meanwhile: this copy is stale
      }
    }
    fetches_.Finish(block, fetch, s, std::move(buf));  // wakes the coalesced readers
    MaybeDropEntryLocked(block);
  }
  if (Status w = CommitRecords(to_write); !w.ok())
    LogWarning("read: " + Where(block) + ": " + w.message());
  return s;
}

Status LocalCacheStore::CommitRecords(const std::vector<uint64_t>& to_write) {
  Retired written;
  Status s = WriteRecords(to_write, &written);
  if (s.ok()) ReleaseRecords(written);
  return s;
}

void LocalCacheStore::AddVersionLocked(uint64_t block, uint64_t rec, uint64_t hash, bool erase,
                                       bool reserved, std::vector<uint64_t>* to_write,
                                       bool complete) {
  const uint64_t seq = next_seq_++, epoch = current_epoch_;
  BlockEntry& e = blocks_[block];
  fetches_.Invalidate(block);
  e.prefetched = false;
  if (e.clean >= 0 && e.clean != static_cast<int64_t>(rec))  // else: made dirty in place
    RetireLocked(static_cast<uint64_t>(e.clean), to_write);
  e.clean = -1;
  Version v{seq, epoch, rec, erase};
  const int64_t now = SteadyNowNs();
  v.dirty_ns = now;
  v.ready_ns = complete && e.versions.empty() && ContinuesStreamLocked(block)
                   ? now
                   : ReadyAfterWrite(now, now);
  if (!e.versions.empty() && e.versions.back().epoch == epoch && !e.versions.back().uploading) {
    // Same flush epoch and not uploading yet: the new version replaces it (one upload). It
    // stays dirty since the old one's time, so a hot block is still written back in time.
    Version old = e.versions.back();
    e.versions.pop_back();
    writeback_.Unqueue({old.epoch, old.ready_ns, old.seq, block});
    writeback_.ReplacePending(old.seq, v.seq);
    if (!old.erase) writeback_.SubDirty(block_size_);
    RetireLocked(old.rec, to_write);
    v.dirty_ns = old.dirty_ns;
    v.ready_ns = old.retrying ? old.ready_ns
                              : std::max(old.ready_ns, ReadyAfterWrite(old.dirty_ns, now));
    v.retrying = old.retrying;
    v.attempts = old.attempts;
  } else {
    writeback_.AddPending(epoch, v.seq);
  }
  e.versions.push_back(v);
  writeback_.Queue({v.epoch, v.ready_ns, v.seq, block});
  if (!erase && !reserved) writeback_.AddDirty(block_size_);
  index_.record(rec) =
      CacheRecord{erase ? RecordKind::kErase : RecordKind::kDirty, block, seq, epoch, hash};
  to_write->push_back(rec);
  PublishLocked();
  KickWritebackLocked(v.ready_ns);
}

Status LocalCacheStore::DirtyTimeout(const std::string& op, uint64_t block) {
  counters_.errors++;
  std::string cause = last_error_.ok() ? "uploads are not keeping up"
                                       : "last upload error: " + last_error_.message();
  std::string what = op == "erase"
                         ? "too many erases are pending (" + std::to_string(index_.free_tombs()) +
                               " erase records free)"
                         : "cache is full of dirty data (" +
                               std::to_string(writeback_.dirty_bytes()) + " of max " +
                               std::to_string(writeback_.max_dirty()) + " bytes)";
  return Status::Error(ENOSPC, op + ": " + Where(block) + ": " + what +
                                   " and nothing could be uploaded for " +
                                   std::to_string(options_.dirty_wait_timeout.count()) + " ms (" +
                                   cause + "); data already acknowledged is kept");
}

bool LocalCacheStore::ContinuesStreamLocked(uint64_t block) {
  const bool follows =
      block > 0 && std::find(recent_whole_.begin(), recent_whole_.end(), block - 1) != recent_whole_.end();
  recent_whole_[recent_whole_next_++ % recent_whole_.size()] = block;
  return follows;
}

int64_t LocalCacheStore::ReadyAfterWrite(int64_t dirty_ns, int64_t now) const {
  const int64_t delay =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.writeback_delay).count();
  return std::min(now + delay, dirty_ns + kMaxDelayFactor * delay);
}

void LocalCacheStore::PostponeLocked(uint64_t block, Version* v) {
  if (v->uploading || v->retrying) return;  // not queued, or keeping its backoff
  const int64_t ready = std::max(v->ready_ns, ReadyAfterWrite(v->dirty_ns, SteadyNowNs()));
  if (ready == v->ready_ns) return;
  writeback_.Unqueue({v->epoch, v->ready_ns, v->seq, block});
  v->ready_ns = ready;
  writeback_.Queue({v->epoch, v->ready_ns, v->seq, block});
}

Status LocalCacheStore::ReserveDirtyLocked(uint64_t block,
                                           std::chrono::steady_clock::time_point since) {
  if (!writeback_.DirtyFits(block_size_)) counters_.write_waits++;
  WaitClock clock(&counters_);
  while (!writeback_.DirtyFits(block_size_)) {  // backpressure
    space_waiters_++;
    work_cv_.NotifyAll();
    space_cv_.WaitUntil(&mu_, StallDeadlineLocked(since));
    space_waiters_--;
    if (std::chrono::steady_clock::now() >= StallDeadlineLocked(since) &&
        !writeback_.DirtyFits(block_size_))
      return DirtyTimeout("write", block);
  }
  writeback_.AddDirty(block_size_);
  PublishLocked();
  return Status::Ok();
}

Status LocalCacheStore::Write(uint64_t block, std::string_view data) {
  return WriteBlock(block, data, true);
}

Status LocalCacheStore::WriteBlock(uint64_t block, std::string_view data, bool complete) {
  if (data.size() != block_size_)
    return Status::Error(EINVAL, "write: " + Where(block) + ": " + std::to_string(data.size()) +
                                     " bytes, block size is " + std::to_string(block_size_));
  if (IsAllZero(data)) return Erase(std::span<const uint64_t>(&block, 1));
  const auto since = std::chrono::steady_clock::now();
  bool reserved = false;
  {
    MutexLock lock(&mu_);
    auto it = blocks_.find(block);
    bool coalesce = it != blocks_.end() && !it->second.versions.empty() &&
                    it->second.versions.back().epoch == current_epoch_ &&
                    !it->second.versions.back().uploading && !it->second.versions.back().erase;
    if (!coalesce) {
      if (Status r = ReserveDirtyLocked(block, since); !r.ok()) return r;
      reserved = true;
    }
  }
  auto unreserve = [&] {
    MutexLock lock(&mu_);
    if (reserved) writeback_.SubDirty(block_size_);
    PublishLocked();
    space_cv_.NotifyAll();
  };
  auto slot = AllocateSlot(true, since);
  if (!slot.ok()) {
    unreserve();
    if (slot.status().err() == ENOSPC) {
      MutexLock lock(&mu_);
      return DirtyTimeout("write", block);
    }
    return slot.status().Wrap("write: " + Where(block));
  }
  if (Status s = WriteSlot(*slot, data); !s.ok()) {
    {
      MutexLock lock(&mu_);
      index_.Free(*slot);
    }
    unreserve();
    return s.Wrap("write: " + Where(block));
  }
  std::vector<uint64_t> to_write;
  {
    MutexLock lock(&mu_);
    index_.DataWritten(*slot);
    AddVersionLocked(block, *slot, BlockHash(data), false, reserved, &to_write, complete);
  }
  Status s = CommitRecords(to_write);
  return s.ok() ? s : s.Wrap("write: " + Where(block));
}

Status LocalCacheStore::Erase(std::span<const uint64_t> blocks) {
  const auto since = std::chrono::steady_clock::now();
  std::vector<uint64_t> to_write;
  for (size_t i = 0; i < blocks.size(); i++) {
    const uint64_t block = blocks[i];
    bool local_state;
    {
      MutexLock lock(&mu_);
      auto it = blocks_.find(block);
      local_state = it != blocks_.end() && (it->second.clean >= 0 || !it->second.versions.empty());
      if (local_state && !it->second.versions.empty() && it->second.versions.back().erase) continue;
    }
    if (!local_state && inner_->Probe(block) == BlockPresence::kAbsent) continue;
    auto tomb = AllocateTomb(since);
    if (!tomb.ok()) {
      // The erases recorded so far stand (their records must reach the file).
      if (Status w = CommitRecords(to_write); !w.ok()) return w.Wrap("erase: " + Where(block));
      MutexLock lock(&mu_);
      return DirtyTimeout("erase", block);
    }
    {
      MutexLock lock(&mu_);
      AddVersionLocked(block, *tomb, 0, true, false, &to_write);
    }
    if (to_write.size() >= kEraseChunk) {
      if (Status s = CommitRecords(to_write); !s.ok()) return s.Wrap("erase: " + Where(block));
      to_write.clear();
    }
  }
  Status s = CommitRecords(to_write);
  return s.ok() ? s : s.Wrap("erase: cache " + options_.path);
}

Status LocalCacheStore::Flush() {
  if (!options_.uploads) return Status::Ok();  // read-only: nothing written here to flush
  MutexLock lock(&mu_);
  const uint64_t epoch = current_epoch_++;
  if (options_.flush_policy == FlushPolicy::kLocal) {
    const uint64_t seq = next_seq_ - 1;
    lock.Unlock();
    Status s = SealOpenVersions(epoch);
    if (s.ok()) s = SyncFile();
    if (s.ok()) {  // written now, durable with the next sync; see the format doc
      CacheHeader h;
      {
        MutexLock relock(&mu_);
        flushed_seq_ = std::max(flushed_seq_, seq);
        h = HeaderLocked();
      }
      s = WriteHeader(h);
    }
    if (!s.ok()) counters_.errors++;
    return s.ok() ? s : s.Wrap("flush: cache " + options_.path);
  }
  flush_target_ = std::max(flush_target_, epoch);
  flush_waiting_++;
  work_cv_.NotifyAll();
  // Waits as long as uploads make progress; fails after dirty_wait_timeout without any.
  const auto since = std::chrono::steady_clock::now();
  auto flushed = [&]() REQUIRES(mu_) { return writeback_.Flushed(epoch); };
  bool done = flushed();
  while (!done && std::chrono::steady_clock::now() < StallDeadlineLocked(since)) {
    done_cv_.WaitUntil(&mu_, StallDeadlineLocked(since));
    done = flushed();
  }
  flush_waiting_--;
  if (!done) {
    const uint64_t left = writeback_.PendingThrough(epoch);
    counters_.errors++;
    return Status::Error(EIO, "flush: cache " + options_.path + ": " + std::to_string(left) +
                                  " blocks not uploaded, no upload succeeded for " +
                                  std::to_string(options_.dirty_wait_timeout.count()) + " ms (" +
                                  (last_error_.ok() ? std::string("writeback not running")
                                                    : "last error: " + last_error_.message()) +
                                  "); they stay dirty in the cache");
  }
  lock.Unlock();
  // The sync writes the uploaded_below watermark: after power loss no durable older DIRTY or
  // ERASE record of a block can be uploaded again over the data this flush acknowledged.
  Status s = SyncFile();
  if (s.ok()) s = inner_->Flush();
  if (!s.ok()) counters_.errors++;
  return s.ok() ? s : s.Wrap("flush: cache " + options_.path);
}

Status LocalCacheStore::List(const std::function<void(uint64_t block)>& fn) {
  std::unordered_map<uint64_t, bool> local;  // block -> present, for blocks the cache knows better
  {
    MutexLock lock(&mu_);
    for (auto& [block, e] : blocks_) {
      if (!e.versions.empty()) {
        local[block] = !e.versions.back().erase;
      } else if (e.clean >= 0) {
        local[block] = true;
      }
    }
  }
  Status s = inner_->List([&](uint64_t block) {
    if (!local.count(block)) fn(block);
  });
  if (!s.ok()) return s.Wrap("list: cache " + options_.path);
  for (auto& [block, present] : local)
    if (present) fn(block);
  return s;
}

BlockPresence LocalCacheStore::Probe(uint64_t block) {
  {
    MutexLock lock(&mu_);
    auto it = blocks_.find(block);
    if (it != blocks_.end()) {
      if (!it->second.versions.empty())
        return it->second.versions.back().erase ? BlockPresence::kAbsent : BlockPresence::kPresent;
      if (it->second.clean >= 0) return BlockPresence::kPresent;
    }
  }
  return inner_->Probe(block);
}

void LocalCacheStore::Prefetch(std::span<const uint64_t> blocks) {
  // Blocks the inner store knows absent read as zeros without a request and take no slot:
  // fetching them ahead would only fill zero buffers, again at every read-ahead (they leave no
  // entry behind). Asked before mu_: Probe may take the present map's own lock.
  std::vector<uint64_t> wanted;
  wanted.reserve(blocks.size());
  for (uint64_t block : blocks)
    if (inner_->Probe(block) != BlockPresence::kAbsent) wanted.push_back(block);
  if (wanted.empty()) return;
  {
    MutexLock lock(&mu_);
    bool queued = false;
    for (uint64_t block : wanted) {
      if (blocks_.count(block) || fetches_.InFlight(block)) continue;  // cached, pending, fetched
      if (!fetches_.Queue(block)) break;  // full
      queued = true;
    }
    // Only when there is work: read-ahead of cached blocks (warm reads) wakes no thread, and
    // woken prefetch threads would only contend for mu_ with the readers.
    if (queued) fetches_.WakeQueue();
  }
}

}  // namespace s3nbd
