// WriterLease: the exclusive-writer lease object P/lease.s3nbd (docs/format.md, "Writer
// lease"). Taken with a create-only PUT (If-None-Match: *); an expired lease is taken over
// by delete + create-only PUT + re-GET; renewed by a background thread (GET: still ours? then
// overwrite, then GET again) and deleted on clean shutdown. Writes are allowed only while the
// lease is known valid locally (steady clock), and every request that changes the volume (block
// PUT/DELETE, the renewal itself) is bounded by that validity (WriteFence); a lease that lapsed
// locally is lost for good (docs/design.md, "Partitions and takeovers"). Lock rule: mu_ guards
// the thread state (annotated); valid_until_ns_ and lost_ are atomics read lock-free on every
// write.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <sys/types.h>

#include "cache/forwarding_store.h"
#include "cache/lease/write_fence.h"
#include "cache/s3/s3_client.h"
#include "cache/util/mutex.h"

namespace s3nbd {

struct LeaseRecord {
  std::string host;
  int64_t pid = 0;
  std::string started;   // ISO 8601 UTC, when the holder started
  std::string token;     // 32 hex digits, random per holder
  int64_t expires = 0;   // unix seconds (the holder's wall clock)
  int64_t seconds = 0;   // lease duration the holder renews with
  std::string boot;      // the holder's /proc/sys/kernel/random/boot_id (may be empty)
  int64_t pidstart = 0;  // the holder process's start time (clock ticks since boot)
};

// True when the holder provably no longer runs: same host and boot, its pid gone or reused,
// and its record not written in the last 2 s (nbdkit rewrites it right after forking).
bool HolderIsDeadHere(const LeaseRecord& holder, int64_t now);
// The same without the 2 s rule: same host and boot, and its process is gone or reused.
bool HolderProcessGone(const LeaseRecord& holder);

std::string EncodeLease(const LeaseRecord& r);
Result<LeaseRecord> DecodeLease(std::string_view text);
// "host H pid P (started S), expires at T (in N s)" for messages.
std::string DescribeLease(const LeaseRecord& r, int64_t now);

class WriterLease : public WriteFence {
 public:
  // Takes the lease at `key` or fails: EBUSY naming the holder and its expiry if another
  // writer holds an unexpired lease (unless force). `client` must outlive the lease.
  // token: empty for a random one (tests pass a fixed one).
  static Result<std::unique_ptr<WriterLease>> Acquire(S3Client* client, std::string key, std::string volume,
                                                      int seconds, bool force, std::string token = "");
  ~WriterLease() override;  // stops renewing; deletes the lease if this process serves and still holds it
  WriterLease(const WriterLease&) = delete;
  WriterLease& operator=(const WriterLease&) = delete;

  // Starts the renewal thread; call in the process that serves (after nbdkit forks).
  void StartRenewal();
  // Renews from a thread until StopRenewal, for the rest of a long open (listing a large
  // bucket) before nbdkit forks: a lease that lapsed then would be lost. The caller stops it
  // before the fork (fork kills threads); StartRenewal may follow.
  void RenewInBackground();
  // Stops the renewal thread (joins it); renewal may be started again.
  void StopRenewal();
  // OK while the lease is valid; EROFS with a message once it lapsed or was lost.
  Status CheckWritable(uint64_t block) const;
  // The lease's local validity for a write of `block` starting now, or CheckWritable's error.
  Result<int64_t> WriteDeadline(uint64_t block) const override;
  const LeaseRecord& record() const { return mine_; }

  // One renewal step (tests call it directly). Its requests are bounded by the current
  // validity; one that starts after the lease lapsed locally declares the lease lost (EROFS)
  // and sends nothing: another writer may have taken the volume over, written and left since.
  Status RenewOnce();
  // Stops renewing and deletes the lease object if it is still ours. The serving process
  // calls it at clean shutdown, and a failed open calls it; never the destructor.
  void Release();

 private:
  WriterLease(S3Client* client, std::string key, std::string volume, int seconds)
      : client_(client), key_(std::move(key)), volume_(std::move(volume)), seconds_(seconds) {}
  Status TryCreate(int64_t started_ns);
  void RenewLoop();
  void SetValidFrom(int64_t started_ns);

  S3Client* client_;
  const std::string key_, volume_;
  const int seconds_;
  LeaseRecord mine_;
  std::atomic<int64_t> valid_until_ns_{0};  // steady clock
  std::atomic<bool> lost_{false};
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  pid_t serving_pid_ GUARDED_BY(mu_) = 0;  // set by StartRenewal: the process that serves
  // Started under mu_, but joined without it by StopRenewal (the loop needs mu_ to see stop_):
  // Start*/StopRenewal are called by one controlling thread, never at the same time.
  std::thread thread_;
};

// Refuses Write and Erase unless the lease is valid; reads pass through. Sits on top of
// the stack so that no block changes without a valid lease. Thread-safe (no state).
class LeaseGuardStore : public ForwardingStore {
 public:
  LeaseGuardStore(const WriterLease* lease, std::unique_ptr<BlockStore> inner)
      : ForwardingStore(std::move(inner)), lease_(lease) {}
  Status Write(uint64_t block, std::string_view data) override;
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override;
  Status Erase(std::span<const uint64_t> blocks) override;

 private:
  const WriterLease* lease_;
};

}  // namespace s3nbd
