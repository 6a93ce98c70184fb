// ForwardingStore: a BlockStore that forwards every call to the store below it, after
// LevelDB's EnvWrapper. A layer derives from it and overrides only what it changes, so no
// forgotten override silently falls back to a BlockStore default. A layer that transforms
// block content must override all four of Read, ReadRange, Write and WriteRange (the
// protected ReadRangeByRead / ReadPatchWrite give the range calls in terms of its own Read
// and Write). Owns the store below (or, built on a bare pointer, borrows one that outlives it);
// no state and no lock of its own.
#pragma once

#include <memory>

#include "cache/block_store.h"

namespace s3nbd {

class ForwardingStore : public BlockStore {
 public:
  explicit ForwardingStore(std::unique_ptr<BlockStore> inner)
      : owned_(std::move(inner)), inner_(owned_.get()) {}
  // Borrows `inner`, which must outlive this store (tests: a bucket that outlives the caches
  // opened on it one after another).
  explicit ForwardingStore(BlockStore* inner) : inner_(inner) {}

  Status Read(uint64_t block, std::string* data) override { return inner_->Read(block, data); }
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override {
    return inner_->ReadRange(block, offset, len, dest);
  }
  Status Write(uint64_t block, std::string_view data) override { return inner_->Write(block, data); }
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override {
    return inner_->WriteRange(block, offset, len, src);
  }
  Status Erase(std::span<const uint64_t> blocks) override { return inner_->Erase(blocks); }
  Status Flush() override { return inner_->Flush(); }
  Status List(const std::function<void(uint64_t block)>& fn) override { return inner_->List(fn); }
  BlockPresence Probe(uint64_t block) override { return inner_->Probe(block); }
  void Prefetch(std::span<const uint64_t> blocks) override { inner_->Prefetch(blocks); }

 protected:
  BlockStore* inner() const { return inner_; }

 private:
  std::unique_ptr<BlockStore> owned_;  // null when borrowed
  BlockStore* inner_;
};

}  // namespace s3nbd
