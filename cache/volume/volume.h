// Volume: NBD byte ranges -> per-block calls on the top BlockStore. Splits a request into
// blocks and runs them in parallel on the shared ThreadPool; serialises writers of the same
// block with a striped lock around read-modify-write (stripe locks are taken in ascending
// index order, so multi-block erases cannot deadlock). Readers take no lock: each layer's
// block Read/Write is atomic per block.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "cache/block_store.h"
#include "cache/util/thread_pool.h"
#include "cache/volume/readahead.h"

namespace s3nbd {

class Volume {
 public:
  // `pool` must outlive the Volume.
  Volume(std::string name, uint64_t size, uint32_t block_size, std::unique_ptr<BlockStore> top,
         ThreadPool* pool);

  // Turns on sequential read-ahead hints to the top store (max_window blocks; 0 = off).
  void EnableReadahead(uint32_t max_window);

  Status Read(void* buf, uint32_t count, uint64_t offset);
  Status Write(const void* buf, uint32_t count, uint64_t offset);
  // Zeroes the range: whole blocks become absent (batched deletes), partial edges are
  // rewritten. Serves NBD TRIM and WRITE_ZEROES alike.
  Status Zero(uint32_t count, uint64_t offset);
  Status Flush();
  // Calls fn(offset, length, is_hole) for consecutive extents covering [offset, offset+count).
  Status Extents(uint32_t count, uint64_t offset,
                 const std::function<Status(uint64_t, uint64_t, bool)>& fn);

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }
  uint32_t block_size() const { return block_size_; }

 private:
  static constexpr size_t kStripes = 4096;
  static constexpr size_t kEraseBatch = 1000;  // DeleteObjects takes at most 1000 keys

  std::mutex& StripeOf(uint64_t block) { return stripes_[block % kStripes]; }
  Status ReadBlockInto(uint64_t block, char* dest, uint32_t in_block, uint32_t len);
  Status WriteBlockFrom(uint64_t block, const char* src, uint32_t in_block, uint32_t len);
  Status EraseLocked(std::span<const uint64_t> blocks);
  Status Fail(const char* op, const Status& s) const;

  const std::string name_;
  const uint64_t size_;
  const uint32_t block_size_;
  std::unique_ptr<BlockStore> top_;
  ThreadPool* pool_;
  std::unique_ptr<Readahead> readahead_;  // null: off
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace s3nbd
