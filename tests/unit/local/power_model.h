// PowerModel: the reference model of the power-loss tests. It records every version of every
// block (the whole block after each acknowledged write, TRIM or WRITE_ZEROES, plus the one in
// flight at the cut, which may or may not have happened), the flush epoch of each, and which
// version each acknowledged FLUSH covered. Its checks say what a power cut may leave:
//  - the bucket at the cut is an image some FLUSH saw or later: for some epoch e not below the
//    last acknowledged remote FLUSH, every block holds its last version before e or one of e;
//  - after recovery and a drain, every sector of every block comes from a version at or after
//    the one the last acknowledged FLUSH covered (unflushed writes may be lost or torn by
//    sector, flushed ones never, and nothing goes back to an older version).
// PoweredMemoryStore: the in-memory bucket of these tests, whose mutations are I/O boundaries
// of the PowerSwitch and which fails or slows some of them on purpose. Single-threaded model;
// the store is thread-safe (one mutex).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_store.h"
#include "cache/forwarding_store.h"
#include "tests/unit/local/fault_cache_file.h"

namespace s3nbd::testing {

class PoweredMemoryStore : public BlockStore {
 public:
  PoweredMemoryStore(PowerSwitch* power, uint64_t seed, int fail_pct, int slow_pct)
      : power_(power), rng_(seed), fail_pct_(fail_pct), slow_pct_(slow_pct) {}
  void set_power(PowerSwitch* power) { power_ = power; }
  void set_faults(int fail_pct, int slow_pct) {
    std::lock_guard lock(mu_);
    fail_pct_ = fail_pct;
    slow_pct_ = slow_pct;
  }

  Status Read(uint64_t block, std::string* data) override {
    std::lock_guard lock(mu_);
    auto it = blocks_.find(block);
    if (it == blocks_.end()) return Status::Error(ENOENT, "block " + std::to_string(block) + ": not found");
    *data = it->second;
    return Status::Ok();
  }
  Status Write(uint64_t block, std::string_view data) override {
    if (Status s = Weather("write", block); !s.ok()) return s;
    std::lock_guard lock(mu_);
    if (!power_->Tick()) return PowerOff("PUT block " + std::to_string(block));
    blocks_[block] = std::string(data);
    return Status::Ok();
  }
  Status Erase(std::span<const uint64_t> blocks) override {
    if (Status s = Weather("erase", blocks.empty() ? 0 : blocks[0]); !s.ok()) return s;
    std::lock_guard lock(mu_);
    if (!power_->Tick()) return PowerOff("DELETE");
    for (uint64_t b : blocks) blocks_.erase(b);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status List(const std::function<void(uint64_t)>& fn) override {
    for (auto& [b, _] : Snapshot()) fn(b);
    return Status::Ok();
  }
  std::map<uint64_t, std::string> Snapshot() {
    std::lock_guard lock(mu_);
    return blocks_;
  }

 private:
  // A failed (transient, retried) or slow request, by chance.
  Status Weather(const char* op, uint64_t block) {
    int roll, delay_us;
    {
      std::lock_guard lock(mu_);
      roll = static_cast<int>(rng_() % 100);
      delay_us = static_cast<int>(rng_() % 2000);
    }
    if (roll < fail_pct_) return Status::Error(EIO, std::string(op) + " block " + std::to_string(block) + ": injected 503");
    if (roll < fail_pct_ + slow_pct_) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    return Status::Ok();
  }
  PowerSwitch* power_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  int fail_pct_, slow_pct_;
  std::map<uint64_t, std::string> blocks_;
};

// Owned by the cache, forwarding to a store the test keeps (it outlives the cache).
class ForwardTo : public ForwardingStore {
 public:
  explicit ForwardTo(BlockStore* target) : ForwardingStore(target) {}
};

class PowerModel {
 public:
  PowerModel(uint64_t blocks, uint32_t block_size) : bs_(block_size), b_(blocks) {
    for (auto& b : b_) b.versions.push_back({std::string(block_size, '\0'), -1});
  }
  const std::string& Current(uint64_t block) const { return b_[block].versions.back().data; }
  // An acknowledged (or, with maybe, in-flight) change of a block to `data`.
  void Wrote(uint64_t block, std::string data) { b_[block].versions.push_back({std::move(data), epoch_}); }
  // A FLUSH starts a new epoch in the cache whether or not it completes.
  void FlushStarted() { epoch_++; }
  void FlushAcked(bool remote) {
    for (auto& b : b_) {
      b.flushed = b.versions.size() - 1;
      if (remote) b.remote = b.flushed;
    }
    if (remote) remote_acked_ = epoch_;
  }

  // "" when the bucket at the cut is an image some FLUSH saw (or later); else what is wrong.
  std::string CheckBucketAtCut(const std::map<uint64_t, std::string>& bucket) const {
    std::string why;
    for (int64_t e = epoch_; e >= remote_acked_; e--) {
      why = BucketFitsEpoch(bucket, e);
      if (why.empty()) return "";
    }
    return "no epoch >= " + std::to_string(remote_acked_) + " fits the bucket; at the last acknowledged "
           "remote flush: " + BucketFitsEpoch(bucket, remote_acked_);
  }

  // "" when every sector of every block comes from a version at or after its flushed one.
  std::string CheckRecovered(const std::map<uint64_t, std::string>& bucket) const {
    for (uint64_t block = 0; block < b_.size(); block++) {
      const std::string got = Content(bucket, block);
      const Block& b = b_[block];
      for (uint64_t off = 0; off < bs_; off += FaultDisk::kSector) {
        bool ok = false;
        for (size_t v = b.flushed; v < b.versions.size() && !ok; v++)
          ok = got.compare(off, FaultDisk::kSector, b.versions[v].data, off, FaultDisk::kSector) == 0;
        if (!ok)
          return "block " + std::to_string(block) + " sector " + std::to_string(off / FaultDisk::kSector) +
                 " matches no version at or after the flushed one (" + std::to_string(b.flushed) + " of " +
                 std::to_string(b.versions.size()) + " versions; " + Which(got, block) + ")";
      }
    }
    return "";
  }

 private:
  struct Version {
    std::string data;
    int64_t epoch;
  };
  struct Block {
    std::vector<Version> versions;  // [0] = zeros before the test
    size_t flushed = 0, remote = 0;  // version covered by the last acknowledged (remote) flush
  };
  std::string Content(const std::map<uint64_t, std::string>& bucket, uint64_t block) const {
    auto it = bucket.find(block);
    return it == bucket.end() ? std::string(bs_, '\0') : it->second;
  }
  std::string Which(const std::string& got, uint64_t block) const {
    const Block& b = b_[block];
    for (size_t v = 0; v < b.versions.size(); v++)
      if (b.versions[v].data == got) return "it is whole version " + std::to_string(v);
    return "it is no whole version";
  }
  std::string BucketFitsEpoch(const std::map<uint64_t, std::string>& bucket, int64_t e) const {
    for (uint64_t block = 0; block < b_.size(); block++) {
      const std::string got = Content(bucket, block);
      const Block& b = b_[block];
      size_t last_before = 0;
      bool ok = false;
      for (size_t v = 0; v < b.versions.size(); v++) {
        if (b.versions[v].epoch < e) last_before = v;
        if (b.versions[v].epoch == e && b.versions[v].data == got) ok = true;
      }
      if (!ok && b.versions[last_before].data != got)
        return "epoch " + std::to_string(e) + ": block " + std::to_string(block) + " holds " + Which(got, block) +
               ", expected version " + std::to_string(last_before) + " or one of epoch " + std::to_string(e);
    }
    return "";
  }
  uint32_t bs_;
  std::vector<Block> b_;
  int64_t epoch_ = 0;        // flushes started so far = epoch of the next write
  int64_t remote_acked_ = 0;  // epoch after the last acknowledged remote flush
};

}  // namespace s3nbd::testing
