// S3ObjectStore: ObjectStore over S3Client. It adds what the interface promises and S3
// servers do not all give: a ranged GET cut to the range when the server ignores Range, a
// listing page cut to max_keys when the server ignores max-keys (npm s3rver does). No state
// beyond the shared S3Client (thread-safe), so any call may run on many threads at once.
#pragma once

#include "cache/s3/s3_client.h"
#include "cache/versioned/object_store.h"

namespace s3nbd {

class S3ObjectStore : public ObjectStore {
 public:
  // `client` must outlive the store.
  explicit S3ObjectStore(S3Client* client) : client_(client) {}

  Status Put(const std::string& key, std::string_view body, PutMode mode,
             const S3Deadline& deadline) override;
  Status Get(const std::string& key, std::string* body, const S3Deadline& deadline) override;
  Status GetRange(const std::string& key, uint64_t offset, uint64_t length, std::string* body,
                  const S3Deadline& deadline) override;
  Result<ObjectPage> List(const std::string& prefix, const std::string& start_after, int max_keys,
                          const S3Deadline& deadline) override;
  Status Delete(const std::string& key, const S3Deadline& deadline) override;
  Status DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline) override;

 private:
  S3Client* const client_;
};

}  // namespace s3nbd
