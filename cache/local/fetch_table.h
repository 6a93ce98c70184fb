// FetchTable: the local cache's misses in flight and its read-ahead queue. At most one fetch
// per block is in flight: the first reader of a missing block owns it (Begin), later readers
// wait for its result (WaitDone) instead of issuing their own GET. A write or erase of a block
// marks its fetch stale (Invalidate), so that an older copy is never cached over newer data.
// LOCK RULE: not thread-safe by itself; its owner guards it with one mutex (LocalCacheStore:
// GUARDED_BY(mu_)) and the waits take that mutex. A Fetch is written under that mutex until
// `done`; from then on it is immutable and read without the mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "cache/util/mutex.h"
#include "cache/util/status.h"

namespace s3nbd {

class FetchTable {
 public:
  struct Fetch {
    bool done = false;   // status and data are final
    bool stale = false;  // the block was written or erased since the fetch began
    Status status;
    std::string data;
  };
  static constexpr size_t kMaxQueued = 1024;  // read-ahead requests beyond this are dropped

  // The fetch in flight for `block`, or null.
  std::shared_ptr<Fetch> Find(uint64_t block) const;
  bool InFlight(uint64_t block) const { return in_flight_.count(block) != 0; }
  // Registers the owner's new fetch of `block`, which has none in flight.
  std::shared_ptr<Fetch> Begin(uint64_t block);
  // A write or erase of `block`: its fetch in flight, if any, must not be cached.
  void Invalidate(uint64_t block);
  // Publishes the result of the owner's fetch, removes it and wakes its waiters.
  void Finish(uint64_t block, const std::shared_ptr<Fetch>& fetch, Status status,
              std::string data);
  // Waits (releasing mu) until `fetch` is done.
  void WaitDone(Mutex* mu, const Fetch& fetch) REQUIRES(mu);

  // Read-ahead: queues a block; false when the queue is full.
  bool Queue(uint64_t block);
  std::optional<uint64_t> PopQueued();
  // Waits (releasing mu) until something was queued or WakeQueue was called.
  void WaitQueued(Mutex* mu) REQUIRES(mu) { queued_cv_.Wait(mu); }
  void WakeQueue() { queued_cv_.NotifyAll(); }

 private:
  std::unordered_map<uint64_t, std::shared_ptr<Fetch>> in_flight_;
  std::deque<uint64_t> queue_;
  CondVar done_cv_;    // a fetch completed
  CondVar queued_cv_;  // read-ahead was queued, or the prefetch workers must look at stop
};

}  // namespace s3nbd
