// S3BlockStore: the bottom layer — block n is the object BlockKeys::BlockKey(n). Reads of
// a missing object are ENOENT; Erase is a batched DeleteObjects. No state of its own
// beyond the shared S3Client (itself thread-safe), so it is safe for concurrent use.
#pragma once

#include <memory>

#include "cache/block_key.h"
#include "cache/block_store.h"
#include "cache/s3/s3_client.h"

namespace s3nbd {

class S3BlockStore : public BlockStore {
 public:
  // `client` must outlive the store. Listed blocks >= block_count are ignored (fsck reports them).
  S3BlockStore(S3Client* client, BlockKeys keys, uint64_t block_count)
      : client_(client), keys_(std::move(keys)), block_count_(block_count) {}

  Status Read(uint64_t block, std::string* data) override;
  Status Write(uint64_t block, std::string_view data) override;
  Status Erase(std::span<const uint64_t> blocks) override;
  Status Flush() override { return Status::Ok(); }  // a completed PUT is durable
  Status List(const std::function<void(uint64_t)>& fn) override;

 private:
  S3Client* client_;
  BlockKeys keys_;
  uint64_t block_count_;
};

}  // namespace s3nbd
