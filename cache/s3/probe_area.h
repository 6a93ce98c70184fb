// ProbeArea: the doctor's scratch area in the bucket (docs/format.md, "The doctor's scratch
// area"). Every key is recorded before its PUT is sent (a failed attempt may still have
// landed), and CleanUp deletes them all, then whatever a listing still finds there, then lists
// again to say what is left. The destructor cleans up if CleanUp was never called. Lock rule:
// mu_ guards keys_ only (the throughput sample writes from several threads).
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cache/s3/s3_client.h"

namespace s3nbd {

struct CleanupResult {
  size_t written = 0;             // distinct keys this run wrote (or tried to)
  std::vector<std::string> left;  // keys still listed under the area afterwards
  std::string error;              // the first failure met on the way, "" if none
  bool listed = false;            // the final listing succeeded (left is the truth)
};

class ProbeArea {
 public:
  // `prefix` is the area's prefix, ending in '/'. The client must outlive the area.
  ProbeArea(S3Client& client, std::string prefix);
  ~ProbeArea();
  ProbeArea(const ProbeArea&) = delete;
  ProbeArea& operator=(const ProbeArea&) = delete;

  const std::string& prefix() const { return prefix_; }
  std::string Key(std::string_view name) const { return prefix_ + std::string(name); }
  S3Client& client() { return client_; }

  // PUT of Key(name), recorded first.
  Status Put(std::string_view name, std::string_view body, const S3PutOptions& options = {},
             std::string* etag = nullptr);
  // Records a key written by someone else into the area (the create-only probe's).
  void Record(const std::string& key);

  // Deletes everything (DeleteObjects where multi_delete, else one DELETE per key, and single
  // DELETEs for what a batch could not delete), then what a listing still finds; then lists.
  CleanupResult CleanUp(bool multi_delete);

 private:
  S3Client& client_;
  const std::string prefix_;
  std::mutex mu_;
  std::set<std::string> keys_;  // GUARDED_BY(mu_)
  bool cleaned_ = false;        // the owner thread's
};

}  // namespace s3nbd
