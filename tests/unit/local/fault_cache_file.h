// Power-loss building blocks for the cache's crash tests, in the manner of LevelDB's
// FaultInjectionTestEnv and CrashMonkey: a PowerSwitch that counts I/O boundaries and cuts the
// power at the N-th, a FaultDisk that keeps what was synced apart from what was only written,
// and FaultCacheFile, the CacheFile over it. After a cut every operation fails with EIO and
// changes nothing; CrashImage() then builds what a disk with a volatile write cache may hold:
// everything synced plus an arbitrary subset of the unsynced writes, decided per 512-byte
// sector (so multi-sector writes tear). Size changes (Reserve) are modelled as durable at once.
// Thread-safe: PowerSwitch is atomic; FaultDisk has one mutex around its images.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "cache/local/cache_file.h"

namespace s3nbd::testing {

class PowerSwitch {
 public:
  // The n-th boundary from now on (0 = the next one) finds the power off.
  void CutAfter(int64_t n) {
    std::lock_guard lock(mu_);
    left_ = n;
  }
  void CutNow() {
    std::lock_guard lock(mu_);
    dead_ = true;
  }
  void Restore() {
    std::lock_guard lock(mu_);
    dead_ = false;
    left_ = INT64_MAX;
  }
  // One I/O boundary: true if the operation happens (the power is still on).
  bool Tick() {
    std::lock_guard lock(mu_);
    if (dead_) return false;
    if (left_-- <= 0) {
      dead_ = true;
      return false;
    }
    ops_++;
    return true;
  }
  bool dead() const {
    std::lock_guard lock(mu_);
    return dead_;
  }
  int64_t ops() const {
    std::lock_guard lock(mu_);
    return ops_;
  }

 private:
  mutable std::mutex mu_;
  bool dead_ = false;
  int64_t left_ = INT64_MAX;
  int64_t ops_ = 0;
};

inline Status PowerOff(const std::string& what) {
  return Status::Error(EIO, what + ": power is off (simulated power cut)");
}

class FaultDisk {
 public:
  static constexpr uint64_t kSector = 512;
  // kMetadataOnly keeps the unsynced metadata writes (header, records) and drops the unsynced
  // data writes: the reordering that most often breaks "data before record" designs.
  enum class Loss { kDropAll, kKeepAll, kRandomSectors, kMetadataOnly };

  FaultDisk(PowerSwitch* power, std::vector<uint8_t> image = {})
      : power_(power), current_(image), durable_(std::move(image)) {}

  uint64_t size() const {
    std::lock_guard lock(mu_);
    return current_.size();
  }
  void Grow(uint64_t bytes) {
    std::lock_guard lock(mu_);
    if (bytes <= current_.size()) return;
    current_.resize(bytes);
    durable_.resize(bytes);
  }
  Status Write(uint64_t off, const uint8_t* p, size_t len, bool meta = false) {
    std::lock_guard lock(mu_);
    if (!power_->Tick()) return PowerOff("write at offset " + std::to_string(off));
    if (off + len > current_.size()) current_.resize(off + len), durable_.resize(off + len);
    std::memcpy(current_.data() + off, p, len);
    pending_.push_back({off, std::vector<uint8_t>(p, p + len), meta});
    writes_++;
    return Status::Ok();
  }
  // Reads see every completed write (the page cache), synced or not.
  Status Read(uint64_t off, uint8_t* p, size_t len) const {
    std::lock_guard lock(mu_);
    if (power_->dead()) return PowerOff("read at offset " + std::to_string(off));
    if (off + len > current_.size())
      return Status::Error(EIO, "short transfer at offset " + std::to_string(off));
    std::memcpy(p, current_.data() + off, len);
    return Status::Ok();
  }
  Status Sync() {
    std::lock_guard lock(mu_);
    if (!power_->Tick()) return PowerOff("fdatasync");
    for (const Pending& w : pending_) std::memcpy(durable_.data() + w.off, w.data.data(), w.data.size());
    pending_.clear();
    syncs_++;
    return Status::Ok();
  }
  // What the disk holds after the power cut: the synced image plus, per `loss`, none, all or a
  // random subset (per write and 512-byte sector, in write order) of the unsynced writes.
  std::vector<uint8_t> CrashImage(Loss loss, std::mt19937_64& rng) const {
    std::lock_guard lock(mu_);
    std::vector<uint8_t> img = durable_;
    if (loss == Loss::kDropAll) return img;
    for (const Pending& w : pending_) {
      if (loss == Loss::kMetadataOnly && !w.meta) continue;
      for (uint64_t s = w.off / kSector * kSector; s < w.off + w.data.size(); s += kSector) {
        if (loss == Loss::kRandomSectors && (rng() & 1)) continue;
        const uint64_t from = std::max(s, w.off), to = std::min(s + kSector, w.off + w.data.size());
        std::memcpy(img.data() + from, w.data.data() + (from - w.off), to - from);
      }
    }
    return img;
  }
  uint64_t unsynced_writes() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

 private:
  struct Pending {
    uint64_t off;
    std::vector<uint8_t> data;
    bool meta;  // written through WriteMeta (header, index records)
  };
  PowerSwitch* power_;
  mutable std::mutex mu_;
  std::vector<uint8_t> current_, durable_;
  std::vector<Pending> pending_;  // completed, not yet synced, in completion order
  uint64_t writes_ = 0, syncs_ = 0;
};

class FaultCacheFile : public CacheFile {
 public:
  FaultCacheFile(std::string path, std::shared_ptr<FaultDisk> disk)
      : path_(std::move(path)), disk_(std::move(disk)) {}
  bool is_block_device() const override { return false; }
  uint64_t size() const override { return disk_->size(); }
  bool direct_io() const override { return false; }
  const std::string& path() const override { return path_; }
  Status Reserve(uint64_t bytes) override {
    disk_->Grow(bytes);
    return Status::Ok();
  }
  Status ReadMeta(uint64_t offset, uint8_t* buf, size_t len) override {
    return disk_->Read(offset, buf, len);
  }
  Status WriteMeta(std::span<IoOp> ops) override { return Run(ops, true); }
  Status RunData(std::span<IoOp> ops) override { return Run(ops, false); }
  Status Sync() override { return disk_->Sync(); }

 private:
  Status Run(std::span<IoOp> ops, bool meta) {
    Status first;
    for (IoOp& op : ops) {  // like io_uring: every op is tried, the first error wins
      Status s = op.kind == IoOp::Kind::kRead    ? disk_->Read(op.offset, op.buf, op.len)
                 : op.kind == IoOp::Kind::kWrite ? disk_->Write(op.offset, op.buf, op.len, meta)
                                                 : disk_->Sync();
      if (!s.ok() && first.ok()) first = s;
    }
    return first;
  }
  std::string path_;
  std::shared_ptr<FaultDisk> disk_;
};

// The CacheOptions::open_file of a cache over `disk`.
inline CacheFileOpener FaultOpener(std::shared_ptr<FaultDisk> disk) {
  return [disk](const std::string& path, bool) -> Result<std::unique_ptr<CacheFile>> {
    return std::unique_ptr<CacheFile>(std::make_unique<FaultCacheFile>(path, disk));
  };
}

}  // namespace s3nbd::testing
