// Readahead; see readahead.h.
#include "cache/volume/readahead.h"

#include <algorithm>

namespace s3nbd {

std::vector<uint64_t> Readahead::OnRead(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  if (max_window_ == 0) return out;
  MutexLock lock(&mu_);
  clock_++;
  Stream* match = nullptr;
  for (Stream& s : streams_) {
    if (s.last_use && first + kSlack >= s.next && first <= s.next + kSlack) {
      match = &s;
      break;
    }
  }
  if (!match) {  // a new stream replaces the least recently used one; no prefetch yet
    Stream* lru = &*std::min_element(streams_.begin(), streams_.end(),
                                     [](const Stream& a, const Stream& b) { return a.last_use < b.last_use; });
    *lru = Stream{last + 1, last + 1, 0, clock_};
    return out;
  }
  match->last_use = clock_;
  match->next = std::max(match->next, last + 1);
  match->window = match->window ? std::min(match->window * 2, max_window_) : std::min(kInitialWindow, max_window_);
  uint64_t from = std::max(match->prefetched, match->next);
  uint64_t to = std::min(block_count_, match->next + match->window);
  for (uint64_t b = from; b < to; b++) out.push_back(b);
  match->prefetched = std::max(match->prefetched, to);
  return out;
}

}  // namespace s3nbd
