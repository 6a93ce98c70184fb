// ZeroElidingStore: keeps the volume maximally sparse. An all-zero block is never stored
// (its write becomes an erase); an absent block reads as zeros without any request; the
// PresentMap built from one List at Load() answers Probe() and BLOCK_STATUS. A block the map
// says is present whose object is gone (GET 404) is EIO, never zeros, unless this writer's own
// last write or erase of it failed (then the object may or may not exist: unsure_).
// Lock rule: PresentMap is atomic; UnsureBlocks has its own mutex; callers serialise writers
// per block.
#pragma once

#include <atomic>
#include <memory>
#include <unordered_set>

#include "cache/forwarding_store.h"
#include "cache/sparse/present_map.h"
#include "cache/util/coding.h"
#include "cache/util/mutex.h"

namespace s3nbd {

// Blocks whose last write or erase failed. Rare, so a locked set rather than a second bitmap;
// the common path (a write that succeeds while the set is empty) reads one atomic. Lock rule:
// mu_ guards set_ (annotated); n_ mirrors its size. A block's Add and Remove come from its
// (serialised) writers.
class UnsureBlocks {
 public:
  void Add(uint64_t b) {
    MutexLock lock(&mu_);
    if (set_.insert(b).second) n_.fetch_add(1, std::memory_order_release);
  }
  void Remove(uint64_t b) {
    if (n_.load(std::memory_order_acquire) == 0) return;
    MutexLock lock(&mu_);
    if (set_.erase(b)) n_.fetch_sub(1, std::memory_order_release);
  }
  bool Contains(uint64_t b) const {
    if (n_.load(std::memory_order_acquire) == 0) return false;
    MutexLock lock(&mu_);
    return set_.count(b) != 0;
  }
  uint64_t size() const { return n_.load(std::memory_order_acquire); }

 private:
  mutable Mutex mu_;
  std::unordered_set<uint64_t> set_ GUARDED_BY(mu_);
  std::atomic<uint64_t> n_{0};
};

class ZeroElidingStore : public ForwardingStore {
 public:
  ZeroElidingStore(uint64_t block_count, uint32_t block_size, std::unique_ptr<BlockStore> inner)
      : ForwardingStore(std::move(inner)), block_size_(block_size), present_(block_count) {}

  // Builds the present map with one listing of the inner store.
  Status Load();
  // Or restores it from a saved snapshot (see PresentMapFile); must have block_count bits.
  void LoadWords(const std::vector<uint64_t>& words) { present_.SetWords(words); }
  std::vector<uint64_t> SnapshotWords() const { return present_.Words(); }

  Status Read(uint64_t block, std::string* data) override;
  // An absent block is len zero bytes written into dest: no request, no allocation.
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override;
  Status Write(uint64_t block, std::string_view data) override;
  // Read, patch, Write: through this layer, so that a patch that zeroes a block erases it.
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override {
    return ReadPatchWrite(block, offset, len, src);
  }
  Status Erase(std::span<const uint64_t> blocks) override;
  Status List(const std::function<void(uint64_t)>& fn) override;
  BlockPresence Probe(uint64_t block) override {
    return present_.Test(block) ? BlockPresence::kPresent : BlockPresence::kAbsent;
  }

  uint64_t present_count() const { return present_.Count(); }
  // Blocks whose last write or erase failed: a saved map would call them present for sure.
  uint64_t unsure_count() const { return unsure_.size(); }

 private:
  // ENOENT from below for a block the map calls present: zeros if unsure_, else EIO.
  Status Missing(uint64_t block, const Status& not_found) const;

  uint32_t block_size_;
  PresentMap present_;
  UnsureBlocks unsure_;  // a failed write or erase: the object may or may not exist
};

}  // namespace s3nbd
