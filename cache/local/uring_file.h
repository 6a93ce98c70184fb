// UringCacheFile: the cache file's descriptors and all its I/O.
// Two fds on one file: data slots (O_DIRECT when asked) and metadata (buffered; small
// record writes). Buffered I/O and single ops are plain syscalls; batches of O_DIRECT data go on
// the thread's own ring (RunOnThreadRing: a thread_local UringRing, destroyed with
// io_uring_queue_exit at thread exit), so no ring is shared and no lock is needed; the file
// object is immutable after Open(). Why: RunCacheIo.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cache/local/cache_file.h"
#include "cache/util/status.h"

namespace s3nbd {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// A heap buffer aligned for O_DIRECT, owned.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size);
  uint8_t* data() { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

class UringRing {
 public:
  struct Key {};  // construct only through Create
  explicit UringRing(Key) {}
  static Result<std::unique_ptr<UringRing>> Create(unsigned depth);
  ~UringRing();
  UringRing(const UringRing&) = delete;
  UringRing& operator=(const UringRing&) = delete;
  // Submits every op (in waves of the ring depth), waits for all; first error wins.
  Status Run(std::span<IoOp> ops);

 private:
  void Prep(IoOp* op);
  io_uring ring_{};
  unsigned depth_ = 0;
};

// The error of one failed op, worded alike by the ring and the plain syscalls: "read at offset
// N: <strerror>", "write at offset N: ...", "fdatasync: ..."; err 0 is an EOF (EIO, "short
// transfer at offset N").
Status IoError(const IoOp& op, int err);

// Runs a batch on the calling thread's ring (created on first use, depth 64).
Status RunOnThreadRing(std::span<IoOp> ops);
// How the cache file runs its I/O: a batch of several ops on the thread's ring when
// ring_for_batches (O_DIRECT data: the ring keeps the device busy with all of them at once),
// else each op as one pread/pwrite. Measured with `s3nbd-bench-fileio` (make bench,
// docs/performance.md) on page-cached files here, the ring never beats the plain syscalls: one
// 4 KiB read 0.55x, one 4 KiB write 0.50x, batches of 8 reads 0.79x (4 KiB) to 0.98x (1 MiB).
Status RunCacheIo(std::span<IoOp> ops, bool ring_for_batches);

// The io_uring cache file. Two fds on one file: data slots (O_DIRECT when asked) and
// metadata (buffered). Open takes an exclusive flock (a second server on the same cache file
// is refused, naming the holder's pid) and refuses symbolic links except to block devices.
class UringCacheFile : public CacheFile {
 public:
  struct Key {};  // construct only through Open
  explicit UringCacheFile(Key) {}
  // Opens (creating a regular file if needed). size() is the file or device size.
  static Result<std::unique_ptr<CacheFile>> Open(const std::string& path, bool direct_io);
  bool is_block_device() const override { return block_device_; }
  uint64_t size() const override { return size_; }
  bool direct_io() const override { return direct_io_; }
  const std::string& path() const override { return path_; }
  Status Reserve(uint64_t bytes) override;
  Status ReadMeta(uint64_t offset, uint8_t* buf, size_t len) override;
  Status WriteMeta(std::span<IoOp> ops) override;
  Status RunData(std::span<IoOp> ops) override;
  Status Sync() override;

 private:
  std::string path_;
  UniqueFd data_fd_, meta_fd_;
  bool block_device_ = false;
  bool direct_io_ = false;
  uint64_t size_ = 0;
};

}  // namespace s3nbd
