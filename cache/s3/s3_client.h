// S3Client: a thread-safe client for the handful of S3 calls s3nbd needs, on libcurl
// with a pool of reusable easy handles (keep-alive connections), SigV4 signing, and
// retries with exponential backoff + jitter. Every public method may be called from
// many threads at once; each call borrows one pooled handle for its duration.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/s3/credentials.h"
#include "cache/s3/refreshing_credentials.h"
#include "cache/util/status.h"

namespace s3nbd {

struct S3Config {
  std::string endpoint;             // "http://127.0.0.1:9180" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string bucket;
  bool virtual_host = false;        // false: path-style URLs (http://host/bucket/key)
  std::string ca_file;              // empty: system CA store
  Credentials credentials;          // static keys; empty access key: anonymous (unsigned)
  // Where each request gets its credentials (credential_chain.h); Create() wraps `credentials`
  // in one when this is null. Shared: the CLI may ask it which source won.
  std::shared_ptr<RefreshingCredentials> credential_source;
  int max_connections = 32;         // size of the handle pool
  double retry_seconds = 60;        // total time budget for retries of one call
  long connect_timeout_ms = 10000;
  long request_timeout_ms = 120000;
};

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
};

// A bound on one call's attempts, for requests that must not outlive the writer lease: no
// attempt starts at or after steady_ns, each attempt's timeout is cut to the time left, and a
// call stopped by it fails with EROFS "<op>: abandoned: <cause> ...". The connection of a cut
// attempt is reset, not closed, so the kernel drops what it had not sent (S3Transport).
struct S3Deadline {
  int64_t steady_ns = 0;            // std::chrono::steady_clock, ns since its epoch; 0: none
  std::string cause;                // e.g. "writer lease expired"
};

struct S3PutOptions {
  bool if_none_match = false;       // create-only: "If-None-Match: *" (412 -> EEXIST)
  std::string if_match;             // conditional: "If-Match: <this>" unless empty (412 -> ECANCELED)
  S3Deadline deadline;
};

// One page of a listing (ListPage).
struct S3ListResult {
  std::vector<S3ObjectInfo> objects;
  bool truncated = false;
  std::string next_token;           // the continuation token of the next page when truncated
};

// Counters for the stats file; monotonically increasing, relaxed atomics.
struct S3Counters {
  std::atomic<uint64_t> get{0}, put{0}, del{0}, list{0}, head{0}, multi_delete{0};
  std::atomic<uint64_t> retries{0}, errors{0};
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0};
};

class S3Client {
 public:
  // Validates the config (endpoint URL scheme, bucket name) and sets up the pool.
  // Makes no request.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // GET. A missing key is ENOENT with message "GET <bucket>/<key>: not found"; a missing
  // bucket is ENOENT "GET <bucket>/<key>: bucket '<bucket>' does not exist at <endpoint>".
  // *body's memory is reused for the new body; on failure *body is empty.
  Status Get(const std::string& key, std::string* body, const S3Deadline& deadline = {});
  // PUT. With if_none_match and an existing key: EEXIST.
  Status Put(const std::string& key, std::string_view body, const S3PutOptions& options = {},
             std::string* etag = nullptr);
  // DELETE of one key; deleting a missing key is success (S3 semantics).
  Status Delete(const std::string& key, const S3Deadline& deadline = {});
  // Multi-object delete (POST ?delete), split into calls of at most 1000 keys; fails if any key
  // failed to delete. An endpoint that does not implement DeleteObjects (Google Cloud
  // Storage's XML API answers 501 NotImplemented, older versions 400 InvalidArgument) gets one
  // DELETE per key instead, from then on for this client (logged once).
  Status DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline = {});
  // Whether DeleteMany found DeleteObjects unimplemented and now deletes key by key.
  bool single_deletes() const;
  // The refusal that made it so ("" while single_deletes() is false).
  std::string single_deletes_cause() const;
  // ListObjectsV2 over all pages; fn is called per object in key order; a non-OK from fn stops.
  Status List(const std::string& prefix, const std::function<Status(const S3ObjectInfo&)>& fn);
  // GET of bytes [offset, offset + length) with a Range header. *partial: the server answered
  // 206 with the range (true) or 200 with the whole object, ignoring the header (false).
  // A 206 whose Content-Range does not start at offset or disagrees with the body's length is
  // EIO (one that holds more than asked, from offset on, is returned as it came); a range that starts at or past the end of the object (HTTP 416) is ERANGE.
  // *object_size (if given): the object's size, from Content-Range or the whole body.
  Status GetRange(const std::string& key, uint64_t offset, uint64_t length, std::string* body,
                  bool* partial, const S3Deadline& deadline = {}, uint64_t* object_size = nullptr);
  // One ListObjectsV2 page of at most max_keys keys (0: the server's default), from `token`
  // ("" for the first page); without a token, only keys after start_after (unless empty).
  Result<S3ListResult> ListPage(const std::string& prefix, int max_keys, const std::string& token,
                                const std::string& start_after = "", const S3Deadline& deadline = {});
  // HEAD bucket: checks that the bucket exists and that the credentials are accepted.
  // server_date: the Date header of the first answer, also of a refusal ("" if none came).
  Status HeadBucket(std::string* server_date = nullptr);
  // GetBucketVersioning: "Enabled", "Suspended", or "" for a bucket never versioned.
  Result<std::string> GetBucketVersioning();
  // PUT bucket (with a LocationConstraint outside us-east-1). An existing bucket owned by
  // these credentials is success; one owned by someone else is EEXIST.
  Status CreateBucket();

  const S3Config& config() const;
  const S3Counters& counters() const;

 private:
  class Impl;
  explicit S3Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace s3nbd
