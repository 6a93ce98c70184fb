// PoweredObjectStore: an in-memory bucket with exact S3 object semantics for the versioned
// code's unit tests, plus their failures: per-client HOLDS released in any order (landing late,
// after the caller's deadline), injected 500/503 and ambiguous outcomes, per-client counts, and
// PowerSwitch boundaries at every PUT and deleted key. LOCK RULE: mu_ guards all state; a held
// caller waits on held_cv_ with it; nothing calls out while holding it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/util/mutex.h"
#include "cache/versioned/object_store.h"
#include "tests/unit/local/fault_cache_file.h"

namespace s3nbd::testing {

enum class ObjectOp { kPut, kPutCreateOnly, kGet, kGetRange, kList, kDelete, kDeleteMany };
constexpr size_t kObjectOps = 7;
const char* ObjectOpName(ObjectOp op);

// The final outcome of one call (the S3 client's retries are over).
enum class ObjectFault {
  k500,              // EIO, HTTP 500 InternalError; not applied
  k503,              // EIO, HTTP 503 SlowDown; not applied
  kLostBeforeApply,  // ETIMEDOUT; the request never reached the bucket
  kLostAfterApply,   // ETIMEDOUT; applied, the answer was lost
};

// How a held request ends.
enum class HeldRelease {
  kApply,            // it reaches the bucket now; its caller (if still waiting) gets the answer
  kApplyLoseAnswer,  // it reaches the bucket now; its caller gets ETIMEDOUT
  kDrop,             // it never reaches the bucket; its caller gets ETIMEDOUT
};

struct HeldRequest {
  uint64_t id = 0;
  std::string client;
  ObjectOp op = ObjectOp::kGet;
  std::string key;          // the prefix for kList, the first key for kDeleteMany
  bool abandoned = false;   // its caller's deadline passed: nobody waits for the answer
};

class PoweredObjectStore : public ObjectStore {
 public:
  // bucket: the name in messages ("GET <bucket>/<key>: not found"). power (may be null) must
  // outlive the store: each PUT, DELETE and deleted key of a DeleteMany is one boundary; after
  // the cut every call fails with EIO and changes nothing.
  explicit PoweredObjectStore(std::string bucket = "mem", PowerSwitch* power = nullptr);
  // Held requests are dropped; callers still waiting get EIO; returns when they have left.
  ~PoweredObjectStore() override;

  // The ObjectStore of client `name` over this bucket (this object itself is client "main").
  // It must not outlive the store.
  std::unique_ptr<ObjectStore> Client(const std::string& name);

  Status Put(const std::string& key, std::string_view body, PutMode mode,
             const S3Deadline& deadline) override;
  Status Get(const std::string& key, std::string* body, const S3Deadline& deadline) override;
  Status GetRange(const std::string& key, uint64_t offset, uint64_t length, std::string* body,
                  const S3Deadline& deadline) override;
  Result<ObjectPage> List(const std::string& prefix, const std::string& start_after, int max_keys,
                          const S3Deadline& deadline) override;
  Status Delete(const std::string& key, const S3Deadline& deadline) override;
  Status DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline) override;

  // ---- faults: the next `count` calls of op by client ("": any) on a key beginning with
  // key_prefix end with `fault`. Rules are matched in the order they were added.
  void InjectFault(ObjectOp op, ObjectFault fault, int count = 1, const std::string& client = "",
                   const std::string& key_prefix = "");
  void ClearFaults();

  // ---- holds: from Hold(client) on, each new request of client waits in the held list until
  // ReleaseHeld, or until its deadline passes (then its caller gets EROFS "abandoned" and the
  // request stays held: released later, it still lands). Unhold lets new requests through;
  // those already held stay held.
  void Hold(const std::string& client);
  void Unhold(const std::string& client);
  std::vector<HeldRequest> Held() const;
  // Waits until at least n requests are held; false after timeout.
  bool WaitForHeld(size_t n, std::chrono::milliseconds timeout);
  // Ends held request id as `how` says, at once (the bucket changes before this returns).
  // ENOENT for an id not held.
  Status ReleaseHeld(uint64_t id, HeldRelease how = HeldRelease::kApply);

  // ---- counts: calls of op by client ("": all clients), faulted, held and abandoned ones too.
  uint64_t Count(ObjectOp op, const std::string& client = "") const;
  void ResetCounts();

  // ---- direct access for tests (no counting, faults, holds or power)
  std::map<std::string, std::string> Objects() const;
  std::optional<std::string> Peek(const std::string& key) const;
  void Poke(const std::string& key, std::string body);
  void Erase(const std::string& key);

 private:
  struct Request;
  struct Reply;
  struct HeldCall;
  struct FaultRule {
    ObjectOp op;
    ObjectFault fault;
    int left;
    std::string client, key_prefix;
  };
  class ClientView;

  Status CallPut(const std::string& client, const std::string& key, std::string_view body, PutMode mode,
                 const S3Deadline& deadline);
  Status CallGet(const std::string& client, const std::string& key, uint64_t offset, uint64_t length,
                 std::string* body, const S3Deadline& deadline);
  Result<ObjectPage> CallList(const std::string& client, const std::string& prefix,
                              const std::string& start_after, int max_keys, const S3Deadline& deadline);
  Status CallDelete(const std::string& client, const std::vector<std::string>& keys, bool many,
                    const S3Deadline& deadline);
  Status Call(const std::string& client, const Request& req, Reply* reply) EXCLUDES(mu_);
  // The request reaching the bucket: power, faults, then its effect.
  Status Perform(const std::string& client, const Request& req, Reply* reply) REQUIRES(mu_);
  Status Apply(const Request& req, Reply* reply) REQUIRES(mu_);
  bool PowerTick() REQUIRES(mu_);
  std::string Label(const Request& req) const;

  const std::string bucket_;
  PowerSwitch* const power_;
  mutable Mutex mu_;
  CondVar held_cv_;  // a held request was added or ended, or the store is closing
  std::map<std::string, std::string> objects_ GUARDED_BY(mu_);
  std::vector<FaultRule> faults_ GUARDED_BY(mu_);
  std::map<std::string, bool> holding_ GUARDED_BY(mu_);  // clients whose new requests are held
  std::vector<std::shared_ptr<HeldCall>> held_ GUARDED_BY(mu_);
  uint64_t next_held_id_ GUARDED_BY(mu_) = 1;
  int waiters_ GUARDED_BY(mu_) = 0;  // callers inside Call waiting for a held request
  bool closing_ GUARDED_BY(mu_) = false;
  std::map<std::string, std::array<uint64_t, kObjectOps>> counts_ GUARDED_BY(mu_);
};

}  // namespace s3nbd::testing
