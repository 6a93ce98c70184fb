// LocalCacheStore slots and records: allocation (waiting, syncing the quarantine, evicting
// through SlotIndex), slot data I/O and ordered record writes. LOCK RULE: see
// local_cache_store.h; functions named *Locked need mu_; WriteRecords takes record stripes then
// mu_ briefly.
#include <algorithm>
#include <utility>
#include <cstring>

#include "cache/local/local_cache_store.h"
#include "cache/util/log.h"

namespace s3nbd {
namespace {

// The 4 KiB-aligned span [from, to) of a slot around bytes [offset, offset + len).
std::pair<uint64_t, uint64_t> AlignedSpan(uint32_t offset, uint32_t len) {
  return {offset & ~uint64_t{4095}, (uint64_t{offset} + len + 4095) & ~uint64_t{4095}};
}

}  // namespace

std::string LocalCacheStore::Where(uint64_t block) const {
  return "volume " + UuidString(id_.uuid) + "/block " + std::to_string(block);
}

CacheHeader LocalCacheStore::HeaderLocked() const {
  CacheHeader h = header_;
  h.flushed_seq = flushed_seq_;
  h.uploaded_below = writeback_.UploadedBelow(next_seq_);
  return h;
}

Status LocalCacheStore::SyncFile() {
  uint64_t n;
  CacheHeader h;
  {
    MutexLock lock(&mu_);
    const uint64_t ticket = completion_tickets_;
    while (!completions_open_.empty() && *completions_open_.begin() <= ticket) done_cv_.Wait(&mu_);
    n = index_.BeginSync();
    h = HeaderLocked();
  }
  Status s = WriteHeader(h);  // an older header written later is still true, just less
  if (s.ok()) s = file_->Sync();
  if (s.ok()) {
    MutexLock lock(&mu_);
    index_.SyncDone(n);
  }
  return s;
}

std::chrono::steady_clock::time_point LocalCacheStore::StallDeadlineLocked(
    std::chrono::steady_clock::time_point since) const {
  return std::max(since, last_progress_) + options_.dirty_wait_timeout;
}

Result<uint64_t> LocalCacheStore::AllocateSlot(bool wait,
                                               std::chrono::steady_clock::time_point since) {
  MutexLock lock(&mu_);
  for (;;) {
    if (auto s = index_.TakeFreeSlot()) return *s;
    if (index_.has_quarantine() && !syncing_) {
      syncing_ = true;
      const std::vector<uint64_t> take = index_.TakeQuarantine();
      lock.Unlock();
      Status st = SyncFile();
      lock.Lock();
      syncing_ = false;
      space_cv_.NotifyAll();
      if (!st.ok()) {
        index_.QuarantineFailed(take);
        counters_.errors++;
        return st.Wrap("allocate cache slot: " + options_.path);
      }
      index_.QuarantineSynced(take);
      continue;
    }
    if (syncing_) {
      space_cv_.Wait(&mu_);
      continue;
    }
    std::vector<uint64_t> victims;
    if (EvictLocked(&victims) > 0) {
      lock.Unlock();
      Retired written;
      Status st = WriteRecords(victims, &written);
      if (!st.ok()) return st.Wrap("evict cache slots: " + options_.path);  // slots stay retired
      ReleaseRecords(written);
      lock.Lock();
      continue;
    }
    if (!wait) return Status::Error(ENOSPC, "no evictable cache slot");
    WaitClock clock(&counters_);
    space_waiters_++;
    work_cv_.NotifyAll();  // writeback becomes urgent
    space_cv_.WaitUntil(&mu_, StallDeadlineLocked(since));
    space_waiters_--;
    if (std::chrono::steady_clock::now() >= StallDeadlineLocked(since) &&
        !index_.has_free_slot() && !index_.has_quarantine())
      return Status::Error(ENOSPC, "no free cache slot");
  }
}

Result<uint64_t> LocalCacheStore::AllocateTomb(std::chrono::steady_clock::time_point since) {
  MutexLock lock(&mu_);
  WaitClock clock(&counters_);
  while (!index_.has_free_tomb()) {
    space_waiters_++;
    work_cv_.NotifyAll();
    space_cv_.WaitUntil(&mu_, StallDeadlineLocked(since));
    space_waiters_--;
    if (std::chrono::steady_clock::now() >= StallDeadlineLocked(since) && !index_.has_free_tomb())
      return Status::Error(ENOSPC, "no free erase record");
  }
  return *index_.TakeFreeTomb();
}

// CLOCK victims (SlotIndex::Evict) whose block still holds them as its CLEAN copy.
size_t LocalCacheStore::EvictLocked(std::vector<uint64_t>* victims) {
  const size_t n = index_.Evict(
      [this](uint64_t slot, uint64_t block) REQUIRES(mu_) {
        auto it = blocks_.find(block);
        if (it == blocks_.end() || it->second.clean != static_cast<int64_t>(slot)) return false;
        it->second.clean = -1;
        it->second.prefetched = false;
        MaybeDropEntryLocked(block);
        return true;
      },
      victims);
  counters_.evictions += n;
  return n;
}

void LocalCacheStore::RetireLocked(uint64_t rec, std::vector<uint64_t>* to_write) {
  index_.Retire(rec, to_write);
}

void LocalCacheStore::ReleaseLocked(uint64_t rec) {
  if (index_.Release(rec)) space_cv_.NotifyAll();
}

void LocalCacheStore::ReleaseRecords(const Retired& written_free) {
  MutexLock lock(&mu_);
  bool released = false;
  for (auto [rec, gen] : written_free) released |= index_.FreeWritten(rec, gen);
  if (released) space_cv_.NotifyAll();
}

// Without mu_ (the second half of a cache hit): only the last unpin of a slot retired while it
// was pinned has work to do (SlotPins says when), and takes mu_ for it.
void LocalCacheStore::Unpin(uint64_t slot) {
  if (!pins_.Unpin(slot)) return;
  MutexLock lock(&mu_);
  ReleaseLocked(slot);
}

// Writes the current in-memory state of `recs`. Writes of one record are serialised by its
// stripe lock, and the state is copied after taking it, so the last write of a record always
// carries its newest state. Stripes are locked in ascending order (no deadlock).
Status LocalCacheStore::WriteRecords(const std::vector<uint64_t>& recs, Retired* written_free) {
  if (recs.empty()) return Status::Ok();
  std::vector<size_t> stripes;
  for (uint64_t r : recs) stripes.push_back(r % kRecordStripes);
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> io;
  for (size_t st : stripes) io.emplace_back(record_io_mu_[st]);
  std::vector<uint8_t> buf(recs.size() * kCacheRecordSize);
  std::vector<IoOp> ops(recs.size());
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < recs.size(); i++) {
      uint8_t* p = buf.data() + i * kCacheRecordSize;
      EncodeRecord(index_.record(recs[i]),
                   std::span<uint8_t, kCacheRecordSize>(p, kCacheRecordSize));
      if (written_free && index_.retired(recs[i]))
        written_free->emplace_back(recs[i], index_.retire_gen(recs[i]));
      ops[i] = IoOp{IoOp::Kind::kWrite, -1, p, kCacheRecordSize,
                    header_.index_offset + recs[i] * kCacheRecordSize};
    }
  }
  Status s = file_->WriteMeta(ops);
  if (!s.ok()) {
    counters_.errors++;
    return s.Wrap("write cache index " + options_.path);
  }
  return s;
}

Status LocalCacheStore::ReadSlot(uint64_t slot, uint64_t hash, bool verify, std::string* data) {
  data->resize(block_size_);
  Status s;
  if (file_->direct_io()) {
    AlignedBuffer buf(header_.slot_stride);
    IoOp op{IoOp::Kind::kRead, -1, buf.data(), header_.slot_stride, SlotOffset(slot)};
    s = file_->RunData(std::span<IoOp>(&op, 1));
    if (s.ok()) std::memcpy(data->data(), buf.data(), block_size_);
  } else {
    IoOp op{IoOp::Kind::kRead, -1, reinterpret_cast<uint8_t*>(data->data()), block_size_,
            SlotOffset(slot)};
    s = file_->RunData(std::span<IoOp>(&op, 1));
  }
  if (!s.ok()) {
    counters_.errors++;
    return s.Wrap("read cache slot " + std::to_string(slot));
  }
  if (verify && BlockHash(*data) != hash) {
    counters_.errors++;
    return Status::Error(EBADMSG, "cache slot " + std::to_string(slot) + ": checksum mismatch");
  }
  verified_[slot].store(1, std::memory_order_release);
  return s;
}

Status LocalCacheStore::ReadSlotRange(uint64_t slot, uint32_t offset, uint32_t len, char* dest) {
  Status s;
  if (file_->direct_io()) {  // O_DIRECT: read the aligned 4 KiB span around the range
    const auto [from, to] = AlignedSpan(offset, len);
    AlignedBuffer buf(to - from);
    IoOp op{IoOp::Kind::kRead, -1, buf.data(), to - from, SlotOffset(slot) + from};
    s = file_->RunData(std::span<IoOp>(&op, 1));
    if (s.ok()) std::memcpy(dest, buf.data() + (offset - from), len);
  } else {
    IoOp op{IoOp::Kind::kRead, -1, reinterpret_cast<uint8_t*>(dest), len, SlotOffset(slot) + offset};
    s = file_->RunData(std::span<IoOp>(&op, 1));
  }
  if (!s.ok()) counters_.errors++;
  return s.ok() ? s : s.Wrap("read cache slot " + std::to_string(slot));
}

Status LocalCacheStore::WriteSlotRange(uint64_t slot, uint32_t offset, uint32_t len,
                                       const char* src) {
  Status s;
  std::vector<char> zeros;
  if (!src) {
    zeros.assign(len, 0);
    src = zeros.data();
  }
  if (file_->direct_io()) {  // O_DIRECT: read-modify-write the aligned 4 KiB span
    const auto [from, to] = AlignedSpan(offset, len);
    AlignedBuffer buf(to - from);
    IoOp op{IoOp::Kind::kRead, -1, buf.data(), to - from, SlotOffset(slot) + from};
    s = file_->RunData(std::span<IoOp>(&op, 1));
    if (s.ok()) {
      std::memcpy(buf.data() + (offset - from), src, len);
      op.kind = IoOp::Kind::kWrite;
      s = file_->RunData(std::span<IoOp>(&op, 1));
    }
  } else {
    // io_uring only reads the buffer of a write.
    IoOp op{IoOp::Kind::kWrite, -1, reinterpret_cast<uint8_t*>(const_cast<char*>(src)), len,
            SlotOffset(slot) + offset};
    s = file_->RunData(std::span<IoOp>(&op, 1));
  }
  if (!s.ok()) {
    counters_.errors++;
    return s.Wrap("write cache slot " + std::to_string(slot));
  }
  return s;
}

Status LocalCacheStore::WriteSlot(uint64_t slot, std::string_view data) {
  verified_[slot].store(0, std::memory_order_release);
  Status s;
  if (file_->direct_io()) {
    AlignedBuffer buf(header_.slot_stride);
    std::memcpy(buf.data(), data.data(), data.size());
    IoOp op{IoOp::Kind::kWrite, -1, buf.data(), header_.slot_stride, SlotOffset(slot)};
    s = file_->RunData(std::span<IoOp>(&op, 1));
  } else {
    // io_uring only reads the buffer of a write.
    IoOp op{IoOp::Kind::kWrite, -1, reinterpret_cast<uint8_t*>(const_cast<char*>(data.data())),
            data.size(), SlotOffset(slot)};
    s = file_->RunData(std::span<IoOp>(&op, 1));
  }
  if (!s.ok()) {
    counters_.errors++;
    return s.Wrap("write cache slot " + std::to_string(slot));
  }
  verified_[slot].store(1, std::memory_order_release);
  return s;
}

void LocalCacheStore::PublishLocked() {
  counters_.dirty_bytes = writeback_.dirty_bytes();
  counters_.writeback_queue = writeback_.pending();
}

void LocalCacheStore::MaybeDropEntryLocked(uint64_t block) {
  auto it = blocks_.find(block);
  if (it != blocks_.end() && it->second.clean < 0 && it->second.versions.empty())
    blocks_.erase(it);
}

Status LocalCacheStore::CheckInvariants() {
  MutexLock lock(&mu_);
  auto fail = [](const std::string& m) { return Status::Error(EINVAL, "invariant: " + m); };
  std::vector<int> owners(index_.record_count(), 0);
  uint64_t dirty = 0, versions = 0, queued = 0;
  std::map<uint64_t, uint64_t> epochs;
  for (auto& [block, e] : blocks_) {
    std::string b = "block " + std::to_string(block);
    if (e.clean >= 0) {
      const CacheRecord& r = index_.record(static_cast<uint64_t>(e.clean));
      owners[e.clean]++;
      if (r.kind != RecordKind::kClean || r.block != block)
        return fail(b + ": clean slot record mismatch");
      if (!e.versions.empty()) return fail(b + ": clean copy and pending versions");
    }
    for (size_t i = 0; i < e.versions.size(); i++) {
      const Version& v = e.versions[i];
      const CacheRecord& r = index_.record(v.rec);
      owners[v.rec]++;
      versions++;
      epochs[v.epoch]++;
      if (i > 0 && (e.versions[i - 1].seq >= v.seq || e.versions[i - 1].epoch > v.epoch))
        return fail(b + ": versions out of order");
      if (v.uploading && i != 0) return fail(b + ": a non-oldest version is uploading");
      if (r.block != block || r.seq != v.seq || r.epoch != v.epoch)
        return fail(b + ": version record mismatch");
      if (v.inplace != 0 || v.reading) return fail(b + ": an in-place write or read is still counted");
      if ((r.flags & kRecordOpen) && r.hash != 0) return fail(b + ": open record with a hash");
      if (v.erase != (r.kind == RecordKind::kErase) || IsTomb(v.rec) != v.erase)
        return fail(b + ": version kind");
      if (!v.erase) dirty += block_size_;
      if (v.seq >= next_seq_) return fail(b + ": seq from the future");
      if (!v.uploading) {
        queued++;
        if (!writeback_.IsQueued({v.epoch, v.ready_ns, v.seq, block}))
          return fail(b + ": version not queued");
      }
    }
  }
  if (Status s = index_.CheckInvariants(std::move(owners)); !s.ok()) return s;
  if (early_uploads_ != 0) return fail("early uploads still counted");
  if (dirty != writeback_.dirty_bytes())
    return fail("dirty bytes " + std::to_string(writeback_.dirty_bytes()) + " != " +
                std::to_string(dirty));
  if (queued != writeback_.queued()) return fail("queue size");
  if (epochs != writeback_.epochs()) return fail("pending epochs");
  if (writeback_.pending() != versions) return fail("pending count");
  if (writeback_.pending_seqs() != versions) return fail("pending seqs");
  return Status::Ok();
}

}  // namespace s3nbd
