// S3Client operations (GET/PUT/ranged GET/DELETE/multi-delete/list/bucket calls) on top of S3Transport,
// which signs, sends and retries. Thread-safe: Impl is immutable after Create except for
// the atomic counters and the transport's internally locked handle pool.
#include "cache/s3/s3_client.h"

#include <cstdio>

#include "cache/s3/s3_transport.h"
#include "cache/s3/s3_xml.h"
#include "cache/util/log.h"
#include "cache/util/mutex.h"

namespace s3nbd {

namespace {
constexpr size_t kMaxDeleteKeys = 1000;  // S3's limit per multi-delete call

// The answers of endpoints that do not implement DeleteObjects at all: 501, 405, or a 400
// whose code says the request itself is not understood (Google Cloud Storage's XML API, older
// versions: InvalidArgument "Cannot create buckets using a POST"). Any other failure (access
// denied, a 5xx after the retries, a malformed answer) stays an error.
bool MultiDeleteUnimplemented(const S3Response& resp) {
  if (resp.http_status == 501 || resp.http_status == 405) return true;
  return resp.http_status == 400 &&
         (resp.s3_code == "NotImplemented" || resp.s3_code == "InvalidArgument" ||
          resp.s3_code == "InvalidRequest");
}
}  // namespace

class S3Client::Impl {
 public:
  Impl(S3Config config, S3Endpoint endpoint)
      : config_(std::move(config)), transport_(config_, std::move(endpoint), &counters_) {}

  // Runs the request; counts it; returns OK for 2xx and the described error otherwise.
  // `expected_errno` outcomes (e.g. ENOENT of a GET) are results, not errors, for counting.
  Status Run(const S3Request& req, S3Response* resp, int expected_errno = 0) {
    transport_.Execute(req, resp);
    if (resp->ok()) return Status::Ok();
    Status s = transport_.Describe(req.method + " " + transport_.Label(req.key), *resp);
    if (s.err() != expected_errno) counters_.errors.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  S3Config config_;
  S3Counters counters_;
  S3Transport transport_;
  std::atomic<bool> single_deletes_{false};  // DeleteObjects is not implemented: key by key
  mutable Mutex cause_mu_;
  std::string single_deletes_cause_ GUARDED_BY(cause_mu_);
};

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  Result<S3Endpoint> ep = ParseEndpoint(config.endpoint);
  if (!ep.ok()) return ep.status();
  Status b = ValidateBucketName(config.bucket);
  if (!b.ok()) return b;
  if (config.virtual_host && ep->scheme == "https" &&
      config.bucket.find('.') != std::string::npos) {
    return Status::Error(EINVAL, "bucket '" + config.bucket +
                                     "': names with '.' need path-style addressing over https");
  }
  if (config.credentials.anonymous() != config.credentials.secret_key.empty()) {
    return Status::Error(EINVAL, "credentials: access key and secret key must both be given");
  }
  if (!config.credential_source) {
    config.credential_source = std::make_shared<RefreshingCredentials>(
        std::make_unique<StaticCredentialProvider>(
            config.credentials, config.credentials.anonymous() ? "anonymous" : "static keys"),
        config.credentials);
  }
  if (config.max_connections < 1) config.max_connections = 1;
  if (config.retry_seconds < 0) config.retry_seconds = 0;
  auto impl = std::make_unique<Impl>(std::move(config), std::move(*ep));
  return std::unique_ptr<S3Client>(new S3Client(std::move(impl)));
}

S3Client::S3Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Client::~S3Client() = default;

const S3Config& S3Client::config() const { return impl_->config_; }
const S3Counters& S3Client::counters() const { return impl_->counters_; }

Status S3Client::Get(const std::string& key, std::string* body, const S3Deadline& deadline) {
  impl_->counters_.get.fetch_add(1, std::memory_order_relaxed);
  S3Request req{"GET", key, {}, {}, {}, deadline};
  S3Response resp;
  // The body is received into the caller's buffer: a caller that reuses one string for
  // every block GET pays no allocation and no page faults for a 1 MiB body.
  body->clear();
  resp.body.swap(*body);
  Status s = impl_->Run(req, &resp, ENOENT);
  body->swap(resp.body);
  if (!s.ok()) {
    body->clear();  // an error document, not the object
    if (resp.http_status == 404 && resp.s3_code != "NoSuchBucket" && !resp.abandoned) {
      return Status::Error(ENOENT, "GET " + impl_->transport_.Label(key) + ": not found");
    }
    return s;
  }
  return Status::Ok();
}

Status S3Client::Put(const std::string& key, std::string_view body, const S3PutOptions& options,
                     std::string* etag) {
  impl_->counters_.put.fetch_add(1, std::memory_order_relaxed);
  S3Request req{"PUT", key, {}, body, {}, options.deadline};
  if (options.if_none_match) req.headers.emplace_back("If-None-Match", "*");
  if (!options.if_match.empty()) req.headers.emplace_back("If-Match", options.if_match);
  const bool conditional = options.if_none_match || !options.if_match.empty();
  S3Response resp;
  Status s = impl_->Run(req, &resp, conditional ? EEXIST : 0);
  if (!s.ok()) {
    if (options.if_none_match && !resp.abandoned && (resp.http_status == 412 || resp.http_status == 409)) {
      return Status::Error(EEXIST, "PUT " + impl_->transport_.Label(key) +
                                       ": already exists (create-only PUT, HTTP " +
                                       std::to_string(resp.http_status) + ")");
    }
    if (!options.if_match.empty() && !resp.abandoned && resp.http_status == 412) {
      return Status::Error(ECANCELED, "PUT " + impl_->transport_.Label(key) +
                                          ": precondition failed: its ETag is not " +
                                          options.if_match + " (conditional PUT, HTTP 412)");
    }
    return s;
  }
  if (etag != nullptr) *etag = std::move(resp.etag);
  return Status::Ok();
}

Status S3Client::Delete(const std::string& key, const S3Deadline& deadline) {
  impl_->counters_.del.fetch_add(1, std::memory_order_relaxed);
  S3Request req{"DELETE", key, {}, {}, {}, deadline};
  S3Response resp;
  Status s = impl_->Run(req, &resp, ENOENT);
  if (!s.ok() && resp.http_status == 404 && resp.s3_code != "NoSuchBucket" && !resp.abandoned) return Status::Ok();
  return s;
}

bool S3Client::single_deletes() const {
  return impl_->single_deletes_.load(std::memory_order_acquire);
}

std::string S3Client::single_deletes_cause() const {
  MutexLock lock(&impl_->cause_mu_);
  return impl_->single_deletes_cause_;
}

Status S3Client::DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline) {
  auto one_by_one = [&](size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) {
      if (Status s = Delete(keys[i], deadline); !s.ok()) return s;
    }
    return Status::Ok();
  };
  for (size_t first = 0; first < keys.size(); first += kMaxDeleteKeys) {
    const size_t last = std::min(keys.size(), first + kMaxDeleteKeys);
    if (single_deletes()) {
      if (Status s = one_by_one(first, last); !s.ok()) return s;
      continue;
    }
    impl_->counters_.multi_delete.fetch_add(1, std::memory_order_relaxed);
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
    for (size_t i = first; i < last; ++i) {
      xml += "<Object><Key>" + XmlEscape(keys[i]) + "</Key></Object>";
    }
    xml += "</Delete>";
    S3Request req{"POST", "", {{"delete", ""}}, xml,
                  {{"Content-MD5", Md5Base64(xml)}, {"Content-Type", "application/xml"}},
                  deadline};
    S3Response resp;
    const std::string what = "DELETE " + impl_->config_.bucket + " (multi-delete of " +
                             std::to_string(last - first) + " keys)";
    Status s = impl_->Run(req, &resp);
    if (!s.ok() && MultiDeleteUnimplemented(resp)) {
      const std::string cause = impl_->transport_.Describe(what, resp).message();
      {
        MutexLock lock(&impl_->cause_mu_);
        if (impl_->single_deletes_cause_.empty()) impl_->single_deletes_cause_ = cause;
      }
      if (!impl_->single_deletes_.exchange(true, std::memory_order_acq_rel))
        LogWarning(cause + ": the endpoint does not implement DeleteObjects; deleting one key "
                           "per request from now on");
      if (Status d = one_by_one(first, last); !d.ok()) return d;
      continue;
    }
    if (!s.ok()) return impl_->transport_.Describe(what, resp);
    Result<std::vector<S3XmlError>> errors = ParseDeleteResult(resp.body);
    if (!errors.ok()) return errors.status().Wrap(what);
    if (!errors->empty()) {
      impl_->counters_.errors.fetch_add(1, std::memory_order_relaxed);
      const S3XmlError& e = errors->front();
      AttemptOutcome outcome{0, e.code == "AccessDenied" ? 403 : 500, e.code};
      std::string more = errors->size() > 1
                             ? " (and " + std::to_string(errors->size() - 1) + " more keys)"
                             : "";
      return Status::Error(ErrnoForOutcome(outcome), what + ": key '" + e.key + "': " + e.code +
                                                         ": " + e.message + more);
    }
  }
  return Status::Ok();
}

Status S3Client::GetRange(const std::string& key, uint64_t offset, uint64_t length,
                          std::string* body, bool* partial, const S3Deadline& deadline,
                          uint64_t* object_size) {
  impl_->counters_.get.fetch_add(1, std::memory_order_relaxed);
  *partial = false;
  body->clear();
  const std::string what = "GET " + impl_->transport_.Label(key);
  if (length == 0) return Status::Error(EINVAL, what + ": empty range");
  const std::string range = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  S3Request req{"GET", key, {}, {}, {{"Range", range}}, deadline};
  S3Response resp;
  Status s = impl_->Run(req, &resp, ENOENT);
  if (!s.ok()) {
    if (resp.abandoned) return s;
    if (resp.http_status == 404 && resp.s3_code != "NoSuchBucket")
      return Status::Error(ENOENT, what + ": not found");
    if (resp.http_status == 416)
      return Status::Error(ERANGE, what + ": " + range + " starts at or past the end of the object (HTTP 416)");
    return s;
  }
  *partial = resp.http_status == 206;
  uint64_t size = resp.body.size();
  if (*partial) {
    // "bytes F-L/N" (N may be "*"): the answer must be the bytes asked for, from offset on.
    unsigned long long first = 0, last = 0, total = 0;
    char star = 0;
    const std::string& cr = resp.content_range;
    const bool known = std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &first, &last, &total) == 3;
    if (!known && std::sscanf(cr.c_str(), "bytes %llu-%llu/%c", &first, &last, &star) != 3)
      return Status::Error(EIO, what + ": " + range + ": HTTP 206 without a valid Content-Range ('" + cr + "')");
    // More than asked (npm s3rver answers bytes=0-0 with the whole object) is consistent: the
    // caller cuts it. A body that is not the range the header names is not.
    if (first != offset || last < first || last - first + 1 != resp.body.size() || (known && last >= total)) {
      return Status::Error(EIO, what + ": " + range + ": answer 'Content-Range: " + cr + "' with " +
                                    std::to_string(resp.body.size()) + " bytes (short or wrong body)");
    }
    size = known ? total : last + 1;
  }
  if (object_size != nullptr) *object_size = size;
  body->swap(resp.body);
  return Status::Ok();
}

Result<S3ListResult> S3Client::ListPage(const std::string& prefix, int max_keys,
                                        const std::string& token, const std::string& start_after,
                                        const S3Deadline& deadline) {
  impl_->counters_.list.fetch_add(1, std::memory_order_relaxed);
  S3Request req{"GET", "", {{"list-type", "2"}, {"prefix", prefix}}, {}, {}, deadline};
  if (max_keys > 0) req.query.emplace_back("max-keys", std::to_string(max_keys));
  if (!token.empty()) req.query.emplace_back("continuation-token", token);
  if (token.empty() && !start_after.empty()) req.query.emplace_back("start-after", start_after);
  S3Response resp;
  const std::string what = "LIST " + impl_->config_.bucket + " prefix '" + prefix + "'" +
                           (start_after.empty() ? "" : " after '" + start_after + "'");
  Status s = impl_->Run(req, &resp);
  if (!s.ok()) return impl_->transport_.Describe(what, resp);
  Result<S3ListPage> page = ParseListObjectsV2(resp.body);
  if (!page.ok()) return page.status().Wrap(what);
  S3ListResult out;
  out.objects.reserve(page->objects.size());
  for (S3XmlObject& o : page->objects)
    out.objects.push_back(S3ObjectInfo{std::move(o.key), o.size, std::move(o.etag)});
  out.truncated = page->is_truncated;
  out.next_token = std::move(page->next_continuation_token);
  if (out.truncated && out.next_token == token)
    return Status::Error(EPROTO, what + ": server repeated the continuation token");
  return out;
}

Status S3Client::List(const std::string& prefix,
                      const std::function<Status(const S3ObjectInfo&)>& fn) {
  std::string token;
  for (;;) {
    Result<S3ListResult> page = ListPage(prefix, 0, token);
    if (!page.ok()) return page.status();
    for (const S3ObjectInfo& o : page->objects) {
      Status st = fn(o);
      if (!st.ok()) return st;
    }
    if (!page->truncated) return Status::Ok();
    token = std::move(page->next_token);
  }
}

Status S3Client::HeadBucket(std::string* server_date) {
  impl_->counters_.head.fetch_add(1, std::memory_order_relaxed);
  S3Request req{"HEAD", "", {}, {}, {}};
  S3Response resp;
  Status s = impl_->Run(req, &resp);
  if (server_date != nullptr) *server_date = resp.date;
  if (s.ok() || resp.curl_code != 0) return s;
  // HEAD responses carry no error body; a one-key listing tells us the S3 error code.
  S3Request probe{"GET", "", {{"list-type", "2"}, {"max-keys", "1"}}, {}, {}};
  S3Response detail;
  impl_->transport_.Execute(probe, &detail);
  if (detail.ok() || detail.s3_code.empty()) {
    if (resp.http_status == 404) {
      return Status::Error(ENOENT, "HEAD " + impl_->config_.bucket + ": bucket '" +
                                       impl_->config_.bucket + "' does not exist at " +
                                       impl_->config_.endpoint);
    }
    return s;
  }
  return impl_->transport_.Describe("HEAD " + impl_->config_.bucket, detail);
}

Result<std::string> S3Client::GetBucketVersioning() {
  S3Request req{"GET", "", {{"versioning", ""}}, {}, {}};
  S3Response resp;
  const std::string what = "GET " + impl_->config_.bucket + "?versioning";
  Status s = impl_->Run(req, &resp);
  if (!s.ok()) return impl_->transport_.Describe(what, resp);
  Result<std::string> status = ParseVersioningStatus(resp.body);
  if (!status.ok()) return status.status().Wrap(what);
  return status;
}

Status S3Client::CreateBucket() {
  std::string body;
  if (impl_->config_.region != "us-east-1" && !impl_->config_.region.empty()) {
    body = "<CreateBucketConfiguration><LocationConstraint>" + XmlEscape(impl_->config_.region) +
           "</LocationConstraint></CreateBucketConfiguration>";
  }
  S3Request req{"PUT", "", {}, body, {}};
  S3Response resp;
  impl_->transport_.Execute(req, &resp);
  if (resp.ok() || resp.s3_code == "BucketAlreadyOwnedByYou") return Status::Ok();
  impl_->counters_.errors.fetch_add(1, std::memory_order_relaxed);
  return impl_->transport_.Describe("CREATE BUCKET " + impl_->config_.bucket, resp);
}

}  // namespace s3nbd
