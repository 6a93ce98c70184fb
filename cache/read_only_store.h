// ReadOnlyStore: refuses Write and Erase with EROFS; everything else passes through. Sits
// below the local cache of a read-only open, so dirty blocks recovered from an earlier
// writable session stay in the cache file instead of being uploaded by a reader. Stateless.
#pragma once

#include <memory>

#include "cache/block_store.h"

namespace s3nbd {

class ReadOnlyStore : public BlockStore {
 public:
  explicit ReadOnlyStore(std::unique_ptr<BlockStore> inner) : inner_(std::move(inner)) {}
  Status Read(uint64_t block, std::string* data) override { return inner_->Read(block, data); }
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override {
    return inner_->ReadRange(block, offset, len, dest);
  }
  Status Write(uint64_t block, std::string_view) override { return Refuse(block); }
  Status WriteRange(uint64_t block, uint32_t, uint32_t, const char*) override { return Refuse(block); }
  Status Erase(std::span<const uint64_t> blocks) override { return Refuse(blocks.empty() ? 0 : blocks[0]); }
  Status Flush() override { return inner_->Flush(); }
  Status List(const std::function<void(uint64_t)>& fn) override { return inner_->List(fn); }
  BlockPresence Probe(uint64_t block) override { return inner_->Probe(block); }
  void Prefetch(std::span<const uint64_t> blocks) override { inner_->Prefetch(blocks); }

 private:
  static Status Refuse(uint64_t block) {
    return Status::Error(EROFS, "block " + std::to_string(block) +
                                    ": the volume is open read-only; dirty cache data waits for a writable open");
  }
  std::unique_ptr<BlockStore> inner_;
};

}  // namespace s3nbd
