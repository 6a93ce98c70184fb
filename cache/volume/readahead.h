// Readahead: detects sequential read streams across all connections (the kernel spreads
// one stream over several NBD connections) and says which blocks to prefetch. A stream's
// window doubles on each sequential hit from kInitialWindow up to max_window blocks.
// Lock rule: mu_ guards streams_ and clock_ (annotated); OnRead is short and does no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "cache/util/mutex.h"

namespace s3nbd {

class Readahead {
 public:
  static constexpr uint32_t kInitialWindow = 2;
  // max_window 0 disables read-ahead. block_count bounds the prefetched blocks.
  Readahead(uint32_t max_window, uint64_t block_count)
      : max_window_(max_window), block_count_(block_count) {}

  // Called for every read of blocks [first, last]; returns the blocks to prefetch.
  std::vector<uint64_t> OnRead(uint64_t first, uint64_t last) EXCLUDES(mu_);

 private:
  struct Stream {
    uint64_t next = 0;         // block after the furthest read of the stream
    uint64_t prefetched = 0;   // blocks below this were already asked for
    uint32_t window = 0;
    uint64_t last_use = 0;
  };
  static constexpr size_t kStreams = 16;
  static constexpr uint64_t kSlack = 4;  // tolerate this much reordering of parallel reads

  const uint32_t max_window_;
  const uint64_t block_count_;
  Mutex mu_;
  std::array<Stream, kStreams> streams_ GUARDED_BY(mu_){};
  uint64_t clock_ GUARDED_BY(mu_) = 0;
};

}  // namespace s3nbd
