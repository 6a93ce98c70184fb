// ReadOnlyStore: refuses Write and Erase with EROFS; everything else passes through. Sits
// below the local cache of a read-only open, so dirty blocks recovered from an earlier
// writable session stay in the cache file instead of being uploaded by a reader. Stateless.
#pragma once

#include <memory>

#include "cache/forwarding_store.h"

namespace s3nbd {

class ReadOnlyStore : public ForwardingStore {
 public:
  explicit ReadOnlyStore(std::unique_ptr<BlockStore> inner) : ForwardingStore(std::move(inner)) {}
  Status Write(uint64_t block, std::string_view) override { return Refuse(block); }
  Status WriteRange(uint64_t block, uint32_t, uint32_t, const char*) override { return Refuse(block); }
  Status Erase(std::span<const uint64_t> blocks) override { return Refuse(blocks.empty() ? 0 : blocks[0]); }

 private:
  static Status Refuse(uint64_t block) {
    return Status::Error(EROFS, "block " + std::to_string(block) +
                                    ": the volume is open read-only; dirty cache data waits for a writable open");
  }
};

}  // namespace s3nbd
