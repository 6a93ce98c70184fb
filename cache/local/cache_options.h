// CacheOptions, VolumeIdentity and CacheCounters: the configuration and the observable
// statistics of the persistent local block cache (LocalCacheStore).
// Plain values; CacheCounters members are atomics readable from any thread without a lock.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "cache/local/cache_file.h"

namespace s3nbd {

enum class FlushPolicy {
  kRemote,  // Flush() returns when every block dirty at the flush is in the inner store.
  kLocal,   // Flush() returns when the cache file is durable; writeback continues.
};

struct CacheOptions {
  std::string path;            // cache file (created if absent) or block device
  uint64_t size = 0;           // bytes; 0 = DefaultCacheSize(volume_size)
  int writeback_threads = 16;  // parallel uploads
  int prefetch_threads = 4;    // background fetches for Prefetch()
  std::chrono::milliseconds writeback_delay{1000};  // a dirty block waits this long (coalescing;
                                                    // not a whole-block write continuing a stream)
  uint64_t max_dirty = 0;  // bytes; 0 = DefaultMaxDirty. Writes wait above it.
  std::chrono::milliseconds dirty_wait_timeout{60000};  // no upload progress: fail ENOSPC/EIO
  FlushPolicy flush_policy = FlushPolicy::kRemote;
  bool discard_bad_cache = false;  // reformat a corrupt cache file instead of refusing it
  // Reuse CLEAN blocks found at open. The factory clears it unless it can prove that no other
  // writer changed the bucket since this cache was last closed cleanly (writer token).
  bool trust_clean = true;
  bool direct_io = false;          // O_DIRECT for data slots
  // false for a read-only open: no writeback workers; dirty data recovered from an earlier
  // writable session stays in the file for the next writable open (Flush/Shutdown do not wait).
  bool uploads = true;
  std::chrono::milliseconds retry_delay{100};       // first retry of a failed upload
  std::chrono::milliseconds max_retry_delay{5000};  // backoff cap
  CacheFileOpener open_file;  // tests: a fault-injecting file; empty: UringCacheFile::Open
  // Writer sessions (docs/cache-format.md "Writer tokens"), 32 hex digits each, empty when
  // unknown: the bucket's token as found at open, and this session's new one (recorded in the
  // cache before the caller writes it to the bucket; empty for a read-only open).
  std::string bucket_writer_token;
  std::string session_writer_token;
  // Drop dirty data that predates another writer's session instead of refusing the cache.
  bool discard_stale_cache = false;
  // Test hook (power-loss tests): runs in a writeback worker after an upload completed and
  // before its CLEAN/FREE records are written, to widen that window. Empty in production.
  std::function<void()> before_completion_records;
};

// Who the cache belongs to; a cache file of another volume or block size is refused.
struct VolumeIdentity {
  std::array<uint8_t, 16> uuid{};
  uint32_t block_size = 0;
  uint64_t volume_size = 0;
};

// Default cache size: 1/8 of the volume, but at least 1 GiB (or the whole volume when it is
// smaller) so a typical working set fits, and at most 16 GiB. The file is sparse: slots take
// disk space only once used.
inline uint64_t DefaultCacheSize(uint64_t volume_size) {
  constexpr uint64_t kFloor = 1ull << 30, kMax = 16ull << 30;
  uint64_t floor = volume_size < kFloor ? volume_size : kFloor;
  uint64_t s = volume_size / 8;
  return s < floor ? floor : (s > kMax ? kMax : s);
}

// Default dirty limit: 7/8 of the cache's slots (at least one block). Writes are absorbed until
// then; the last 1/8 keeps room for clean copies that reads bring in. A larger dirty set means
// a longer flush (flush=remote uploads all of it), a smaller one makes random writes over a
// working set larger than it wait for uploads.
inline uint64_t DefaultMaxDirty(uint64_t slot_count, uint64_t block_size) {
  uint64_t slots = slot_count - slot_count / 8;
  return (slots ? slots : 1) * block_size;
}

struct CacheCounters {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> readahead_hits{0};    // first hit on a block brought in by Prefetch
  std::atomic<uint64_t> absent_reads{0};      // misses answered as zeros from Probe()
  std::atomic<uint64_t> coalesced_misses{0};  // reads that waited for another thread's fetch
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> dirty_bytes{0};
  std::atomic<uint64_t> writeback_queue{0};  // pending dirty/erase versions
  std::atomic<uint64_t> uploads{0};          // successful inner Writes
  std::atomic<uint64_t> erases{0};           // blocks erased in the inner store
  std::atomic<uint64_t> errors{0};           // failed inner operations and bad slots
  std::atomic<uint64_t> write_waits{0};      // writes that waited for dirty space
  std::atomic<uint64_t> write_wait_ms{0};    // total time writes waited for room (backpressure)
  std::atomic<uint64_t> uploads_in_flight{0};  // versions being uploaded now (gauge)
  std::atomic<uint64_t> writes_in_place{0};  // partial writes into a cached slot (no copy)
};

}  // namespace s3nbd
