// S3BlockStore; see s3_block_store.h.
#include "cache/s3/s3_block_store.h"

#include <vector>

namespace s3nbd {
namespace {
std::string BlockContext(uint64_t block) { return "block " + std::to_string(block); }
}  // namespace

Status S3BlockStore::Read(uint64_t block, std::string* data) {
  return client_->Get(keys_.BlockKey(block), data).Wrap(BlockContext(block));
}

Result<S3Deadline> S3BlockStore::Deadline(uint64_t block) const {
  if (fence_ == nullptr) return S3Deadline{};
  Result<int64_t> at = fence_->WriteDeadline(block);
  if (!at.ok()) return at.status();
  return S3Deadline{*at, kLeaseExpiredCause};
}

Status S3BlockStore::Write(uint64_t block, std::string_view data) {
  S3PutOptions put;
  Result<S3Deadline> deadline = Deadline(block);
  if (!deadline.ok()) return deadline.status();  // names the block already
  put.deadline = std::move(*deadline);
  return client_->Put(keys_.BlockKey(block), data, put).Wrap(BlockContext(block));
}

Status S3BlockStore::Erase(std::span<const uint64_t> blocks) {
  if (blocks.empty()) return Status::Ok();
  Result<S3Deadline> deadline = Deadline(blocks[0]);
  if (!deadline.ok()) return deadline.status();
  if (blocks.size() == 1)
    return client_->Delete(keys_.BlockKey(blocks[0]), *deadline).Wrap(BlockContext(blocks[0]));
  std::vector<std::string> keys;
  keys.reserve(blocks.size());
  for (uint64_t b : blocks) keys.push_back(keys_.BlockKey(b));
  return client_->DeleteMany(keys, *deadline)
      .Wrap("blocks " + std::to_string(blocks.front()) + ".." + std::to_string(blocks.back()));
}

Status S3BlockStore::List(const std::function<void(uint64_t)>& fn) {
  return client_->List(keys_.BlockListPrefix(), [&](const S3ObjectInfo& info) {
    auto block = keys_.ParseBlockKey(info.key);
    if (block && *block < block_count_) fn(*block);
    return Status::Ok();
  });
}

}  // namespace s3nbd
