// S3ObjectStore: the ObjectStore contract on S3Client (see s3_object_store.h). Stateless;
// no locking.
#include "cache/versioned/s3_object_store.h"

#include <algorithm>

namespace s3nbd {

Status S3ObjectStore::Put(const std::string& key, std::string_view body, PutMode mode,
                          const S3Deadline& deadline) {
  S3PutOptions options;
  options.if_none_match = mode == PutMode::kCreateOnly;  // 412 and 409 are EEXIST (S3Client)
  options.deadline = deadline;
  return client_->Put(key, body, options);
}

Status S3ObjectStore::Get(const std::string& key, std::string* body, const S3Deadline& deadline) {
  return client_->Get(key, body, deadline);
}

Status S3ObjectStore::GetRange(const std::string& key, uint64_t offset, uint64_t length,
                               std::string* body, const S3Deadline& deadline) {
  bool partial = false;
  uint64_t size = 0;
  Status s = client_->GetRange(key, offset, length, body, &partial, deadline, &size);
  if (s.err() == ERANGE) {  // HTTP 416: the range starts at or past the end
    body->clear();
    return Status::Ok();
  }
  if (!s.ok()) return s;
  const uint64_t end = std::min(size, offset + length);
  const uint64_t want = offset < end ? end - offset : 0;
  if (!partial) {  // the server ignored Range and sent the whole object: cut it
    if (want == 0) {
      body->clear();
    } else {
      body->erase(0, offset);
      body->resize(want);
    }
    return Status::Ok();
  }
  if (body->size() > want) {  // a consistent answer with more than the range: cut it
    body->resize(want);
    return Status::Ok();
  }
  if (body->size() != want) {
    const std::string got = std::to_string(body->size());
    body->clear();
    return Status::Error(EIO, "GET " + client_->config().bucket + "/" + key + ": bytes " +
                                  std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
                                  " of a " + std::to_string(size) + "-byte object: short answer of " +
                                  got + " bytes, expected " + std::to_string(want));
  }
  return Status::Ok();
}

Result<ObjectPage> S3ObjectStore::List(const std::string& prefix, const std::string& start_after,
                                       int max_keys, const S3Deadline& deadline) {
  const std::string what = "LIST " + client_->config().bucket + " prefix '" + prefix + "'";
  if (max_keys < 1)
    return Status::Error(EINVAL, what + ": max_keys " + std::to_string(max_keys) + " is not positive");
  max_keys = std::min(max_keys, kMaxListKeys);
  Result<S3ListResult> page = client_->ListPage(prefix, max_keys, "", start_after, deadline);
  if (!page.ok()) return page.status();
  ObjectPage out;
  out.more = page->truncated;
  out.objects.reserve(std::min<size_t>(page->objects.size(), max_keys));
  for (S3ObjectInfo& o : page->objects) {
    // Checked, not trusted: the chain walk relies on the order, and a server that ignored
    // start-after or prefix would make it read keys twice or foreign ones.
    if (o.key.compare(0, prefix.size(), prefix) != 0 || o.key <= start_after ||
        (!out.objects.empty() && o.key <= out.objects.back().key)) {
      return Status::Error(EPROTO, what + " after '" + start_after + "': the server listed '" + o.key +
                                       "' out of order or outside the prefix");
    }
    if (out.objects.size() == static_cast<size_t>(max_keys)) {  // max-keys ignored: cut here
      out.more = true;
      break;
    }
    out.objects.push_back(ObjectInfo{std::move(o.key), o.size});
  }
  if (out.more && out.objects.empty())
    return Status::Error(EPROTO, what + " after '" + start_after + "': an empty page that says more keys follow");
  return out;
}

Status S3ObjectStore::Delete(const std::string& key, const S3Deadline& deadline) {
  return client_->Delete(key, deadline);
}

Status S3ObjectStore::DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline) {
  if (keys.empty()) return Status::Ok();
  Status s = client_->DeleteMany(keys, deadline);
  if (s.ok() || s.message().find("key '") != std::string::npos) return s;
  // A failure of the whole request names no key: say which ones it was about.
  return s.Wrap("delete of '" + keys.front() + "'" +
                (keys.size() > 1 ? " and " + std::to_string(keys.size() - 1) + " more keys" : ""));
}

}  // namespace s3nbd
