// S3BlockStore: the bottom layer — block n is the object BlockKeys::BlockKey(n). Reads of
// a missing object are ENOENT; Erase is a batched DeleteObjects. With a WriteFence, every PUT
// and DELETE is bounded by its deadline (abandoned with EROFS after it). No state of its own
// beyond the shared S3Client (itself thread-safe), so it is safe for concurrent use.
#pragma once

#include <memory>

#include "cache/block_store.h"
#include "cache/lease/write_fence.h"
#include "cache/s3/block_key.h"
#include "cache/s3/s3_client.h"

namespace s3nbd {

class S3BlockStore : public BlockStore {
 public:
  // `client` and `fence` (null: writes unbounded, e.g. fsck) must outlive the store. Listed
  // blocks >= block_count are ignored (fsck reports them).
  S3BlockStore(S3Client* client, BlockKeys keys, uint64_t block_count, const WriteFence* fence = nullptr)
      : client_(client), keys_(std::move(keys)), block_count_(block_count), fence_(fence) {}

  Status Read(uint64_t block, std::string* data) override;
  Status Write(uint64_t block, std::string_view data) override;
  Status Erase(std::span<const uint64_t> blocks) override;
  Status Flush() override { return Status::Ok(); }  // a completed PUT is durable
  Status List(const std::function<void(uint64_t)>& fn) override;

 private:
  // The deadline of a mutation of `block` starting now (none without a fence), or EROFS.
  Result<S3Deadline> Deadline(uint64_t block) const;

  S3Client* client_;
  BlockKeys keys_;
  uint64_t block_count_;
  const WriteFence* fence_;
};

}  // namespace s3nbd
