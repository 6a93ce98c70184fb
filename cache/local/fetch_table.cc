// FetchTable; see fetch_table.h. LOCK RULE: every call runs under the owner's mutex.
#include "cache/local/fetch_table.h"

#include <utility>

namespace s3nbd {

std::shared_ptr<FetchTable::Fetch> FetchTable::Find(uint64_t block) const {
  auto it = in_flight_.find(block);
  return it == in_flight_.end() ? nullptr : it->second;
}

std::shared_ptr<FetchTable::Fetch> FetchTable::Begin(uint64_t block) {
  auto fetch = std::make_shared<Fetch>();
  in_flight_[block] = fetch;
  return fetch;
}

void FetchTable::Invalidate(uint64_t block) {
  auto it = in_flight_.find(block);
  if (it != in_flight_.end()) it->second->stale = true;
}

void FetchTable::Finish(uint64_t block, const std::shared_ptr<Fetch>& fetch, Status status,
                        std::string data) {
  fetch->status = std::move(status);
  fetch->data = std::move(data);
  fetch->done = true;
  auto it = in_flight_.find(block);
  if (it != in_flight_.end() && it->second == fetch) in_flight_.erase(it);
  done_cv_.NotifyAll();
}

void FetchTable::WaitDone(Mutex* mu, const Fetch& fetch) {
  while (!fetch.done) done_cv_.Wait(mu);
}

bool FetchTable::Queue(uint64_t block) {
  if (queue_.size() >= kMaxQueued) return false;
  queue_.push_back(block);
  return true;
}

std::optional<uint64_t> FetchTable::PopQueued() {
  if (queue_.empty()) return std::nullopt;
  const uint64_t block = queue_.front();
  queue_.pop_front();
  return block;
}

}  // namespace s3nbd
