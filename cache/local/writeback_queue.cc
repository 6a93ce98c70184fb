// WritebackQueue; see writeback_queue.h. LOCK RULE: every call runs under the owner's mutex.
#include "cache/local/writeback_queue.h"

namespace s3nbd {

bool WritebackQueue::CompletePending(uint64_t epoch, uint64_t seq) {
  seqs_.erase(seq);
  auto it = epochs_.find(epoch);
  if (it == epochs_.end()) return false;  // not counted (a caller bug; CheckInvariants says so)
  if (--it->second != 0) return false;
  epochs_.erase(it);
  return true;
}

uint64_t WritebackQueue::PendingThrough(uint64_t epoch) const {
  uint64_t n = 0;
  for (auto& [e, count] : epochs_) {
    if (e > epoch) break;
    n += count;
  }
  return n;
}

}  // namespace s3nbd
