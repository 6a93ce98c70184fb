// MemoryBlockStore: an in-memory BlockStore for unit tests of the upper layers, with
// fault and delay injection. Behaves like the bottom of the stack: an absent block is
// ENOENT. Thread-safe: one mutex around the map; delays are slept outside it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cache/block_store.h"

namespace s3nbd::testing {

class MemoryBlockStore : public BlockStore {
 public:
  Status Read(uint64_t block, std::string* data) override {
    reads++;
    if (Status s = Inject("read", block); !s.ok()) return s;
    std::lock_guard lock(mu_);
    auto it = blocks_.find(block);
    if (it == blocks_.end()) return Status::Error(ENOENT, "read: block " + std::to_string(block) + ": not found");
    *data = it->second;
    return Status::Ok();
  }
  Status Write(uint64_t block, std::string_view data) override {
    writes++;
    if (Status s = Inject("write", block); !s.ok()) return s;
    std::lock_guard lock(mu_);
    blocks_[block] = std::string(data);
    return Status::Ok();
  }
  Status Erase(std::span<const uint64_t> blocks) override {
    erase_calls++;
    if (Status s = Inject("erase", blocks.empty() ? 0 : blocks[0]); !s.ok()) return s;
    std::lock_guard lock(mu_);
    for (uint64_t b : blocks) {
      erased_blocks++;
      blocks_.erase(b);
    }
    return Status::Ok();
  }
  Status Flush() override {
    flushes++;
    return Status::Ok();
  }
  Status List(const std::function<void(uint64_t)>& fn) override {
    std::map<uint64_t, std::string> copy;
    {
      std::lock_guard lock(mu_);
      copy = blocks_;
    }
    for (auto& [b, _] : copy) fn(b);
    return Status::Ok();
  }

  // Test access.
  size_t size() {
    std::lock_guard lock(mu_);
    return blocks_.size();
  }
  bool Has(uint64_t block) {
    std::lock_guard lock(mu_);
    return blocks_.count(block) != 0;
  }
  std::string Get(uint64_t block) {
    std::lock_guard lock(mu_);
    auto it = blocks_.find(block);
    return it == blocks_.end() ? std::string() : it->second;
  }
  void Set(uint64_t block, std::string data) {
    std::lock_guard lock(mu_);
    blocks_[block] = std::move(data);
  }

  // Fault injection: the next `fail_next` operations fail with `fail_errno`.
  std::atomic<int> fail_next{0};
  std::atomic<int> fail_errno{EIO};
  std::atomic<int> delay_ms{0};
  std::atomic<uint64_t> reads{0}, writes{0}, erase_calls{0}, erased_blocks{0}, flushes{0};

 private:
  Status Inject(const char* op, uint64_t block) {
    if (int d = delay_ms.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
    int n = fail_next.load();
    while (n > 0) {
      if (fail_next.compare_exchange_weak(n, n - 1))
        return Status::Error(fail_errno.load(), std::string(op) + ": block " + std::to_string(block) + ": injected fault");
    }
    return Status::Ok();
  }
  std::mutex mu_;
  std::map<uint64_t, std::string> blocks_;
};

}  // namespace s3nbd::testing
