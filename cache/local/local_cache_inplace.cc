// LocalCacheStore in-place writes: a partial write (a 4 KiB filesystem write into a 1 MiB
// block) patches the cached slot instead of copying the whole block into a fresh slot.
// The slot's record is first rewritten as an OPEN DIRTY version (flag kRecordOpen, hash
// not maintained), then only the written bytes go to the file. An upload does not start
// while a patch is in progress (Version::inplace) and patches wait while an upload reads the
// slot (Version::reading); during the PUT itself patches go on, and an upload that missed
// some (Version::mods) leaves the version pending for another upload. The upload hashes
// what it read; that hash becomes the CLEAN record's. A local flush seals open versions
// (reads and hashes them) so that flushed data stays verifiable after a crash.
// LOCK RULE: see local_cache_store.h; no I/O while holding mu_.
#include <cstring>

#include "cache/local/local_cache_store.h"

namespace s3nbd {

Status LocalCacheStore::WriteRange(uint64_t block, uint32_t offset, uint32_t len,
                                   const char* src) {
  if (uint64_t{offset} + len > block_size_)
    return Status::Error(EINVAL, "write: " + Where(block) + ": range " + std::to_string(offset) +
                                     "+" + std::to_string(len) + " is beyond the block size " +
                                     std::to_string(block_size_));
  if (len == block_size_)
    return src ? Write(block, std::string_view(src, len))
               : Erase(std::span<const uint64_t>(&block, 1));
  const auto since = std::chrono::steady_clock::now();
  uint64_t slot = 0, seq = 0;
  std::vector<uint64_t> to_write;
  std::string data;  // the whole block, when it had to be read first
  for (int attempt = 0;; attempt++) {
    bool need_sync = false;
    {
      MutexLock lock(&mu_);
      auto begun = BeginInPlaceLocked(block, since, &slot, &seq, &to_write, &need_sync);
      if (!begun.ok()) return begun.status();
      if (*begun) {
        counters_.writes_in_place++;
        break;
      }
    }
    if (need_sync) {  // the slot's base data must be durable before its record turns OPEN
      if (Status s = SyncFile(); !s.ok()) return s.Wrap("write: " + Where(block));
      attempt--;
      continue;
    }
    if (attempt == 0) {
      // Not cached (or not verified yet): reading it caches a verified CLEAN copy, which
      // the second attempt patches in place.
      if (Status s = Read(block, &data); !s.ok()) return s;
      continue;
    }
    // Still not patchable (an all-zero block takes no slot; or no slot was free): patch the
    // copy and write it whole (not complete: more partial writes may follow soon).
    if (Status p = PatchBlock(block, &data, offset, len, src); !p.ok())
      return p.Wrap("write: " + Where(block));
    return WriteBlock(block, data, false);
  }
  Status s = CommitRecords(to_write);  // the OPEN record reaches the file before the data
  if (s.ok()) s = WriteSlotRange(slot, offset, len, src);
  {
    MutexLock lock(&mu_);
    Version* v = FindVersionLocked(block, seq);
    if (v && --v->inplace == 0) KickWritebackLocked(v->ready_ns);
    pins_.Unpin(slot);
    ReleaseLocked(slot);
  }
  return s.ok() ? s : s.Wrap("write: " + Where(block));
}

// In place is possible when the newest copy of the block is in a slot verified in this
// process and is either (a) a DIRTY version of the current flush epoch that is not being
// uploaded, or (b) a CLEAN copy, which becomes a new DIRTY version in the same slot. A
// hashed slot turns open only while nobody reads it (a reader checks the hash it saw).
Result<bool> LocalCacheStore::BeginInPlaceLocked(uint64_t block,
                                                 std::chrono::steady_clock::time_point since,
                                                 uint64_t* slot, uint64_t* seq,
                                                 std::vector<uint64_t>* to_write,
                                                 bool* need_sync) {
  bool reserved = false;
  for (;;) {
    auto it = blocks_.find(block);
    BlockEntry* e = it == blocks_.end() ? nullptr : &it->second;
    Version* v = e && !e->versions.empty() ? &e->versions.back() : nullptr;
    if (v && v->reading) {  // an upload is copying the slot: a moment
      read_cv_.Wait(&mu_);
      continue;
    }
    bool ok;
    if (v) {
      ok = !v->erase && v->epoch == current_epoch_ &&
           verified_[v->rec].load(std::memory_order_acquire) &&
           ((index_.record(v->rec).flags & kRecordOpen) || index_.pins(v->rec) == 0);
    } else {
      ok = e && e->clean >= 0 && verified_[e->clean].load(std::memory_order_acquire) &&
           index_.pins(static_cast<uint64_t>(e->clean)) == 0;
    }
    // An OPEN record has no hash, so recovery uploads its slot as found: the slot's base (a
    // fetched copy or a whole-block write) must be durable before the record may say OPEN, or
    // a power cut could leave a durable OPEN record over another block's old bytes.
    const int64_t base = v ? static_cast<int64_t>(v->rec) : (e ? e->clean : -1);
    if (ok && !(index_.record(base).flags & kRecordOpen) && !index_.DataDurable(base)) {
      ok = false;
      *need_sync = true;
    }
    if (!ok || v) {
      if (reserved) {  // the state changed while waiting for dirty space
        writeback_.SubDirty(block_size_);
        PublishLocked();
        space_cv_.NotifyAll();
      }
      if (!ok) return false;
      break;
    }
    if (reserved) break;
    // (b) needs room for one more dirty block; waiting releases mu_, so look again after.
    if (Status r = ReserveDirtyLocked(block, since); !r.ok()) return r;
    reserved = true;
  }
  BlockEntry& e = blocks_.at(block);
  if (e.versions.empty()) {
    const uint64_t clean = static_cast<uint64_t>(e.clean);
    AddVersionLocked(block, clean, 0, false, true, to_write);  // keeps the slot
  } else if (!(index_.record(e.versions.back().rec).flags & kRecordOpen)) {
    to_write->push_back(e.versions.back().rec);
  }
  Version& v = e.versions.back();
  PostponeLocked(block, &v);  // a block still being written waits (up to its cap)
  CacheRecord& r = index_.record(v.rec);
  r.flags = kRecordOpen;
  r.hash = 0;
  v.inplace++;
  v.mods++;
  index_.Pin(v.rec);
  *slot = v.rec;
  *seq = v.seq;
  return true;
}

Status LocalCacheStore::SealOpenVersions(uint64_t epoch) {
  struct Open {
    uint64_t block, seq, slot;
  };
  std::vector<Open> open;
  {
    MutexLock lock(&mu_);
    for (auto& [block, e] : blocks_)
      for (Version& v : e.versions)
        if (!v.erase && v.epoch <= epoch && !v.reading && v.inplace == 0 &&
            (index_.record(v.rec).flags & kRecordOpen)) {
          v.inplace++;  // neither uploaded nor patched while it is hashed
          index_.Pin(v.rec);
          open.push_back({block, v.seq, v.rec});
        }
  }
  Status s;
  std::vector<uint64_t> to_write;
  for (const Open& o : open) {
    std::string data;
    if (s.ok()) s = ReadSlot(o.slot, 0, false, &data);
    MutexLock lock(&mu_);
    Version* v = FindVersionLocked(o.block, o.seq);
    if (s.ok() && v) {
      index_.record(o.slot).hash = BlockHash(data);
      index_.record(o.slot).flags = 0;
      to_write.push_back(o.slot);
    }
    if (v && --v->inplace == 0) KickWritebackLocked(v->ready_ns);
    pins_.Unpin(o.slot);
    ReleaseLocked(o.slot);
  }
  if (Status w = CommitRecords(to_write); s.ok()) s = w;
  return s;
}

}  // namespace s3nbd
