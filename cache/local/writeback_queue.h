// WritebackQueue: the upload order of the local cache's pending versions (DIRTY or ERASE, queued
// or uploading). Invariants: every pending version is counted once in its flush epoch and once
// by its seq; one that is not uploading is also queued by (epoch, ready time, seq, block), so
// workers take the oldest epoch first and within it the earliest ready; the smallest pending
// seq bounds the header's uploaded_below watermark (docs/cache-format.md); dirty_bytes counts
// the pending DIRTY versions plus the room writers reserved. The versions themselves stay in
// the store's BlockEntry. LOCK RULE: not thread-safe by itself; its owner
// guards it with one mutex (LocalCacheStore: GUARDED_BY(mu_)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>

namespace s3nbd {

class WritebackQueue {
 public:
  using Key = std::tuple<uint64_t, int64_t, uint64_t, uint64_t>;  // epoch, ready_ns, seq, block
  using Iterator = std::set<Key>::iterator;

  // Pending versions.
  void AddPending(uint64_t epoch, uint64_t seq) {
    epochs_[epoch]++;
    seqs_.insert(seq);
  }
  // A newer version of the same epoch takes the place of one that was not uploading (one
  // upload for both): the epoch count stays.
  void ReplacePending(uint64_t old_seq, uint64_t new_seq) {
    seqs_.erase(old_seq);
    seqs_.insert(new_seq);
  }
  // A pending version is done; true when it was the last one of its epoch.
  bool CompletePending(uint64_t epoch, uint64_t seq);
  bool empty() const { return epochs_.empty(); }  // no version pending
  uint64_t oldest_epoch() const { return epochs_.begin()->first; }  // only when !empty()
  // Every version of epochs <= epoch is done.
  bool Flushed(uint64_t epoch) const { return empty() || oldest_epoch() > epoch; }
  uint64_t PendingThrough(uint64_t epoch) const;  // versions of epochs <= epoch
  uint64_t pending() const { return PendingThrough(UINT64_MAX); }
  size_t pending_seqs() const { return seqs_.size(); }
  // The header's uploaded_below: every version with a smaller seq is in the inner store.
  uint64_t UploadedBelow(uint64_t next_seq) const {
    return seqs_.empty() ? next_seq : *seqs_.begin();
  }
  const std::map<uint64_t, uint64_t>& epochs() const { return epochs_; }  // epoch -> versions

  // Versions waiting for an upload (not uploading), in upload order.
  void Queue(const Key& k) { queue_.insert(k); }
  void Unqueue(const Key& k) { queue_.erase(k); }
  bool IsQueued(const Key& k) const { return queue_.count(k) != 0; }
  size_t queued() const { return queue_.size(); }
  Iterator begin() { return queue_.begin(); }
  Iterator end() { return queue_.end(); }
  Iterator Take(Iterator it) { return queue_.erase(it); }  // picked for upload: the next one

  // Dirty accounting (backpressure: writers wait while a block does not fit).
  void set_max_dirty(uint64_t bytes) { max_dirty_ = bytes; }
  uint64_t max_dirty() const { return max_dirty_; }
  uint64_t dirty_bytes() const { return dirty_bytes_; }
  bool DirtyFits(uint64_t bytes) const { return dirty_bytes_ + bytes <= max_dirty_; }
  void AddDirty(uint64_t bytes) { dirty_bytes_ += bytes; }
  void SubDirty(uint64_t bytes) { dirty_bytes_ -= bytes; }

  // Forgets every pending version and the dirty bytes (max_dirty stays).
  void Clear() {
    queue_.clear();
    epochs_.clear();
    seqs_.clear();
    dirty_bytes_ = 0;
  }

 private:
  std::set<Key> queue_;
  std::map<uint64_t, uint64_t> epochs_;
  std::set<uint64_t> seqs_;
  uint64_t dirty_bytes_ = 0;
  uint64_t max_dirty_ = 0;
};

}  // namespace s3nbd
