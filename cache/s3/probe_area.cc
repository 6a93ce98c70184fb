// The doctor's scratch area and its cleanup; see probe_area.h. Lock rule: mu_ guards keys_.
#include "cache/s3/probe_area.h"

#include "cache/util/log.h"

namespace s3nbd {
namespace {

// Lists the area; on failure returns the status and leaves *keys as far as it got.
Status ListArea(S3Client& client, const std::string& prefix, std::vector<std::string>* keys) {
  keys->clear();
  return client.List(prefix, [&](const S3ObjectInfo& o) {
    keys->push_back(o.key);
    return Status::Ok();
  });
}

void Note(std::string* first_error, const Status& s) {
  if (!s.ok() && first_error->empty()) *first_error = s.message();
}

}  // namespace

ProbeArea::ProbeArea(S3Client& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {}

ProbeArea::~ProbeArea() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cleaned_ || keys_.empty()) return;  // cleaned, or nothing written
  }
  CleanupResult r = CleanUp(/*multi_delete=*/false);
  if (!r.left.empty() || !r.error.empty())
    LogWarning("doctor: scratch area s3://" + client_.config().bucket + "/" + prefix_ +
               " may not be empty (delete it by hand): " + r.error);
}

Status ProbeArea::Put(std::string_view name, std::string_view body, const S3PutOptions& options,
                      std::string* etag) {
  const std::string key = Key(name);
  Record(key);
  return client_.Put(key, body, options, etag);
}

void ProbeArea::Record(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_.insert(key);
}

CleanupResult ProbeArea::CleanUp(bool multi_delete) {
  cleaned_ = true;
  CleanupResult r;
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys.assign(keys_.begin(), keys_.end());
  }
  r.written = keys.size();
  bool batched = false;
  if (multi_delete && !keys.empty()) {
    Status s = client_.DeleteMany(keys);
    Note(&r.error, s);
    batched = s.ok();
  }
  if (!batched) {
    for (const std::string& k : keys) Note(&r.error, client_.Delete(k));
  }
  // What the records missed or a delete left: e.g. a probe object whose DELETE failed.
  std::vector<std::string> listed;
  Status l = ListArea(client_, prefix_, &listed);
  Note(&r.error, l);
  for (const std::string& k : listed) Note(&r.error, client_.Delete(k));
  Status last = ListArea(client_, prefix_, &r.left);
  Note(&r.error, last);
  r.listed = last.ok();
  return r;
}

}  // namespace s3nbd
