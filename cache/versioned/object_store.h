// ObjectStore: the handful of object calls the versioned format (docs/design-log.md) is built
// on: PUT (plain or create-only), GET (whole or a byte range), LIST (prefix, start-after, a
// page), DELETE and multi-delete. Keys are the bucket's full keys. Every call takes the lease
// deadline: no attempt starts after it, so no request outlives the writer's lease.
// LOCK RULE: implementations are thread-safe; any call may run on many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/s3/s3_client.h"
#include "cache/util/status.h"

namespace s3nbd {

enum class PutMode {
  kPlain,       // create or overwrite
  kCreateOnly,  // "If-None-Match: *": only if the key does not exist
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  bool operator==(const ObjectInfo&) const = default;
};

struct ObjectPage {
  std::vector<ObjectInfo> objects;  // in key order (S3's: bytewise UTF-8)
  // true: keys may remain after the last one (list again with start_after = its key). A
  // provider may say so at the exact end; the next page is then empty with more = false.
  bool more = false;
};

// The largest page S3 returns; List clips max_keys to it.
constexpr int kMaxListKeys = 1000;

// Errors name the key (or the prefix) and read "<OP> <bucket>/<key>: cause". Common to all
// calls: a call whose deadline has passed (or passes before it could be answered) fails with
// EROFS "...: abandoned: <deadline.cause>..."; a call that failed in any other way than the
// documented answers (EIO, ETIMEDOUT, EACCES...) may or may not have been applied: the
// versioned code resolves such ambiguous PUTs by reading the key back.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Stores body at key, atomically (readers see the old object or the new one, never a mix).
  // kCreateOnly on a key that exists: EEXIST, also when the provider answers 409
  // ConditionalRequestConflict (a concurrent conditional write). An EEXIST after an ambiguous
  // first attempt may be that attempt's own object: compare the bytes to tell.
  [[nodiscard]] virtual Status Put(const std::string& key, std::string_view body, PutMode mode,
                                   const S3Deadline& deadline) = 0;

  // The whole object. A missing key: ENOENT "GET <bucket>/<key>: not found". *body is
  // replaced (and empty on failure).
  [[nodiscard]] virtual Status Get(const std::string& key, std::string* body,
                                   const S3Deadline& deadline) = 0;

  // Exactly the bytes [offset, min(offset + length, size)) of the object: a range that ends
  // past the end is cut there, one that starts at or past the end is an empty body (OK). A
  // server that ignores Range is cut to the range; an answer with fewer or other bytes than
  // that is EIO. length 0: EINVAL. A missing key: ENOENT as Get.
  [[nodiscard]] virtual Status GetRange(const std::string& key, uint64_t offset, uint64_t length,
                                        std::string* body, const S3Deadline& deadline) = 0;

  // One page: the keys that begin with prefix and sort after start_after ("" for the
  // first page), in key order, at most min(max_keys, kMaxListKeys) of them, with sizes.
  // max_keys < 1: EINVAL.
  [[nodiscard]] virtual Result<ObjectPage> List(const std::string& prefix,
                                                const std::string& start_after, int max_keys,
                                                const S3Deadline& deadline) = 0;

  // Deletes key; a missing key is success (S3 semantics).
  [[nodiscard]] virtual Status Delete(const std::string& key, const S3Deadline& deadline) = 0;

  // Deletes every key (missing ones are success), in as many requests as needed. Fails if any
  // key could not be deleted, naming one; some of the others may be deleted then.
  [[nodiscard]] virtual Status DeleteMany(const std::vector<std::string>& keys,
                                          const S3Deadline& deadline) = 0;
};

}  // namespace s3nbd
