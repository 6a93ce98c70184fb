// Test helpers for the local cache: a temp directory, and GatedStore, a BlockStore that
// forwards to a test-owned MemoryBlockStore (so it outlives a cache being reopened),
// records the order of inner writes/erases, can answer Probe, and can hold operations at a
// gate. Thread-safe: one mutex for the log and the gate.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/forwarding_store.h"
#include "cache/local/cache_options.h"
#include "tests/unit/support/memory_block_store.h"

namespace s3nbd::testing {

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "s3nbd-cache-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct InnerEvent {
  char op;  // 'W' write, 'E' erase
  uint64_t block;
  char tag;  // first byte of written data
};

// Overrides what it gates or logs; the range calls go through its own Read and Write (as
// BlockStore's defaults do), Flush, List and Prefetch are forwarded (ForwardingStore).
class GatedStore : public ForwardingStore {
 public:
  explicit GatedStore(MemoryBlockStore* mem, bool probe = false)
      : ForwardingStore(mem), mem_(mem), probe_(probe) {}
  Status Read(uint64_t block, std::string* data) override {
    Gate(true);
    return mem_->Read(block, data);
  }
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override {
    return ReadRangeByRead(block, offset, len, dest);
  }
  Status Write(uint64_t block, std::string_view data) override {
    Gate(false, block);
    Status s = mem_->Write(block, data);
    if (s.ok()) Log({'W', block, data.empty() ? '\0' : data[0]});
    return s;
  }
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override {
    return ReadPatchWrite(block, offset, len, src);
  }
  Status Erase(std::span<const uint64_t> blocks) override {
    Gate(false);
    Status s = mem_->Erase(blocks);
    if (s.ok())
      for (uint64_t b : blocks) Log({'E', b, '\0'});
    return s;
  }
  BlockPresence Probe(uint64_t block) override {
    if (!probe_) return BlockPresence::kUnknown;
    return mem_->Has(block) ? BlockPresence::kPresent : BlockPresence::kAbsent;
  }

  // Gate: while closed, gated operations wait; waiting() counts them.
  void Close(bool reads_too = false) {
    std::lock_guard l(mu_);
    open_ = false;
    read_gated_ = reads_too;
  }
  void Open() {
    std::lock_guard l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Holds writes of one block (even when the gate is open); -1 releases.
  void Hold(int64_t block) {
    std::lock_guard l(mu_);
    held_ = block;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard l(mu_);
    return waiting_;
  }
  std::vector<InnerEvent> events() {
    std::lock_guard l(mu_);
    return events_;
  }

 private:
  void Gate(bool is_read, int64_t block = -1) {
    std::unique_lock l(mu_);
    if (is_read && !read_gated_) return;
    waiting_++;
    cv_.wait(l, [&] { return open_ && (block < 0 || block != held_); });
    waiting_--;
  }
  void Log(InnerEvent e) {
    std::lock_guard l(mu_);
    events_.push_back(e);
  }
  MemoryBlockStore* mem_;
  bool probe_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  bool read_gated_ = false;
  int waiting_ = 0;
  int64_t held_ = -1;
  std::vector<InnerEvent> events_;
};

// Polls `pred` (a safety bound, not a timing assertion).
inline bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 20000; i++) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

inline VolumeIdentity TestVolume(uint32_t block_size = 4096, uint8_t uuid_byte = 7) {
  VolumeIdentity id;
  id.uuid.fill(uuid_byte);
  id.block_size = block_size;
  id.volume_size = 1 << 30;
  return id;
}

inline std::string Block(char tag, uint32_t size = 4096) {
  std::string s(size, tag);
  s[1] = static_cast<char>(size & 0xff);
  return s;
}

}  // namespace s3nbd::testing
