// CacheFile: the interface of the file (or block device) under the local cache, so that the
// cache runs over the io_uring file in production (uring_file.h) and over a fault-injecting
// in-memory disk in the power-loss tests (tests/unit/local/fault_cache_file.h). Implementations are
// called from many threads at once and document their own locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "cache/util/status.h"

namespace s3nbd {

// One asynchronous operation of a batch. Short transfers and -EAGAIN are resubmitted.
struct IoOp {
  enum class Kind { kRead, kWrite, kSync };
  Kind kind = Kind::kRead;
  int fd = -1;
  uint8_t* buf = nullptr;
  size_t len = 0;
  uint64_t offset = 0;
  size_t done = 0;  // bytes transferred so far (internal)
};

class CacheFile {
 public:
  virtual ~CacheFile() = default;
  virtual bool is_block_device() const = 0;
  virtual uint64_t size() const = 0;  // bytes of the file or device
  virtual bool direct_io() const = 0;
  virtual const std::string& path() const = 0;
  // Grows a regular file (sparse) to at least `bytes`.
  virtual Status Reserve(uint64_t bytes) = 0;
  // Metadata (header/index) I/O, buffered.
  virtual Status ReadMeta(uint64_t offset, uint8_t* buf, size_t len) = 0;
  virtual Status WriteMeta(std::span<IoOp> ops) = 0;
  // Data slot I/O (O_DIRECT when enabled: offset, len and buf must be 4096-aligned).
  virtual Status RunData(std::span<IoOp> ops) = 0;
  // Makes every write completed before the call durable (fdatasync of the file).
  virtual Status Sync() = 0;
};

// How the cache opens its file: (path, direct_io). Empty in CacheOptions: UringCacheFile::Open.
using CacheFileOpener =
    std::function<Result<std::unique_ptr<CacheFile>>(const std::string& path, bool direct_io)>;

}  // namespace s3nbd
