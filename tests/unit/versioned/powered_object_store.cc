// PoweredObjectStore: the in-memory bucket, its holds, faults, counts and power boundaries
// (see powered_object_store.h). LOCK RULE: every member is under mu_; a held caller waits on
// held_cv_ and ReleaseHeld performs the request itself, so held requests land in the order
// the test releases them.
#include "tests/unit/versioned/powered_object_store.h"

#include <algorithm>

#include "cache/util/coding.h"

namespace s3nbd::testing {

const char* ObjectOpName(ObjectOp op) {
  switch (op) {
    case ObjectOp::kPut: return "PUT";
    case ObjectOp::kPutCreateOnly: return "PUT (create-only)";
    case ObjectOp::kGet: return "GET";
    case ObjectOp::kGetRange: return "GET (range)";
    case ObjectOp::kList: return "LIST";
    case ObjectOp::kDelete: return "DELETE";
    case ObjectOp::kDeleteMany: return "DELETE (multi)";
  }
  return "?";
}

struct PoweredObjectStore::Request {
  ObjectOp op = ObjectOp::kGet;
  std::string key;  // the prefix for kList
  std::string body;
  uint64_t offset = 0, length = 0;
  std::string start_after;
  int max_keys = 0;
  std::vector<std::string> keys;
  S3Deadline deadline;
};

struct PoweredObjectStore::Reply {
  std::string body;
  ObjectPage page;
};

struct PoweredObjectStore::HeldCall {
  HeldRequest info;
  Request req;
  bool done = false;  // released (or the store closed): status and reply are the answer
  Status status;
  Reply reply;
};

class PoweredObjectStore::ClientView : public ObjectStore {
 public:
  ClientView(PoweredObjectStore* store, std::string name) : store_(store), name_(std::move(name)) {}
  Status Put(const std::string& key, std::string_view body, PutMode mode, const S3Deadline& d) override {
    return store_->CallPut(name_, key, body, mode, d);
  }
  Status Get(const std::string& key, std::string* body, const S3Deadline& d) override {
    return store_->CallGet(name_, key, 0, 0, body, d);
  }
  Status GetRange(const std::string& key, uint64_t offset, uint64_t length, std::string* body,
                  const S3Deadline& d) override {
    return store_->CallGet(name_, key, offset, length == 0 ? ~uint64_t{0} : length, body, d);
  }
  Result<ObjectPage> List(const std::string& prefix, const std::string& start_after, int max_keys,
                          const S3Deadline& d) override {
    return store_->CallList(name_, prefix, start_after, max_keys, d);
  }
  Status Delete(const std::string& key, const S3Deadline& d) override {
    return store_->CallDelete(name_, {key}, false, d);
  }
  Status DeleteMany(const std::vector<std::string>& keys, const S3Deadline& d) override {
    return store_->CallDelete(name_, keys, true, d);
  }

 private:
  PoweredObjectStore* const store_;
  const std::string name_;
};

PoweredObjectStore::PoweredObjectStore(std::string bucket, PowerSwitch* power)
    : bucket_(std::move(bucket)), power_(power) {}

PoweredObjectStore::~PoweredObjectStore() {
  MutexLock lock(&mu_);
  closing_ = true;
  for (const std::shared_ptr<HeldCall>& h : held_) {
    h->done = true;
    h->status = Status::Error(EIO, Label(h->req) + ": the store was destroyed while it was held");
  }
  held_.clear();
  held_cv_.NotifyAll();
  while (waiters_ > 0) held_cv_.Wait(&mu_);
}

std::unique_ptr<ObjectStore> PoweredObjectStore::Client(const std::string& name) {
  return std::make_unique<ClientView>(this, name);
}

// ---- the ObjectStore calls (of client "main") and their requests -----------------------

Status PoweredObjectStore::Put(const std::string& key, std::string_view body, PutMode mode,
                               const S3Deadline& deadline) {
  return CallPut("main", key, body, mode, deadline);
}
Status PoweredObjectStore::Get(const std::string& key, std::string* body, const S3Deadline& deadline) {
  return CallGet("main", key, 0, 0, body, deadline);
}
Status PoweredObjectStore::GetRange(const std::string& key, uint64_t offset, uint64_t length,
                                    std::string* body, const S3Deadline& deadline) {
  return CallGet("main", key, offset, length == 0 ? ~uint64_t{0} : length, body, deadline);
}
Result<ObjectPage> PoweredObjectStore::List(const std::string& prefix, const std::string& start_after,
                                            int max_keys, const S3Deadline& deadline) {
  return CallList("main", prefix, start_after, max_keys, deadline);
}
Status PoweredObjectStore::Delete(const std::string& key, const S3Deadline& deadline) {
  return CallDelete("main", {key}, false, deadline);
}
Status PoweredObjectStore::DeleteMany(const std::vector<std::string>& keys, const S3Deadline& deadline) {
  return CallDelete("main", keys, true, deadline);
}

Status PoweredObjectStore::CallPut(const std::string& client, const std::string& key,
                                   std::string_view body, PutMode mode, const S3Deadline& deadline) {
  Request req;
  req.op = mode == PutMode::kCreateOnly ? ObjectOp::kPutCreateOnly : ObjectOp::kPut;
  req.key = key;
  req.body = std::string(body);
  req.deadline = deadline;
  Reply reply;
  return Call(client, req, &reply);
}

// length 0: the whole object (Get); ~0: a ranged GET of length 0 (EINVAL).
Status PoweredObjectStore::CallGet(const std::string& client, const std::string& key, uint64_t offset,
                                   uint64_t length, std::string* body, const S3Deadline& deadline) {
  Request req;
  req.op = length == 0 ? ObjectOp::kGet : ObjectOp::kGetRange;
  req.key = key;
  req.offset = offset;
  req.length = length == ~uint64_t{0} ? 0 : length;
  req.deadline = deadline;
  Reply reply;
  Status s = Call(client, req, &reply);
  if (s.ok()) {
    body->swap(reply.body);
  } else {
    body->clear();
  }
  return s;
}

Result<ObjectPage> PoweredObjectStore::CallList(const std::string& client, const std::string& prefix,
                                                const std::string& start_after, int max_keys,
                                                const S3Deadline& deadline) {
  Request req;
  req.op = ObjectOp::kList;
  req.key = prefix;
  req.start_after = start_after;
  req.max_keys = max_keys;
  req.deadline = deadline;
  Reply reply;
  Status s = Call(client, req, &reply);
  if (!s.ok()) return s;
  return std::move(reply.page);
}

Status PoweredObjectStore::CallDelete(const std::string& client, const std::vector<std::string>& keys,
                                      bool many, const S3Deadline& deadline) {
  if (many && keys.empty()) return Status::Ok();
  Request req;
  req.op = many ? ObjectOp::kDeleteMany : ObjectOp::kDelete;
  req.key = keys.front();
  req.keys = keys;
  req.deadline = deadline;
  Reply reply;
  return Call(client, req, &reply);
}

// ---- the path of one request: count, deadline, hold, perform ----------------------------

std::string PoweredObjectStore::Label(const Request& req) const {
  switch (req.op) {
    case ObjectOp::kList:
      return "LIST " + bucket_ + " prefix '" + req.key + "'" +
             (req.start_after.empty() ? "" : " after '" + req.start_after + "'");
    case ObjectOp::kDeleteMany:
      return "DELETE " + bucket_ + " (multi-delete of " + std::to_string(req.keys.size()) +
             " keys from '" + req.key + "')";
    case ObjectOp::kPut:
    case ObjectOp::kPutCreateOnly: return "PUT " + bucket_ + "/" + req.key;
    case ObjectOp::kDelete: return "DELETE " + bucket_ + "/" + req.key;
    default: return "GET " + bucket_ + "/" + req.key;
  }
}

Status PoweredObjectStore::Call(const std::string& client, const Request& req, Reply* reply) {
  MutexLock lock(&mu_);
  counts_[client][static_cast<size_t>(req.op)]++;
  const int64_t deadline = req.deadline.steady_ns;
  const std::string cause = req.deadline.cause.empty() ? "deadline passed" : req.deadline.cause;
  if (deadline != 0 && SteadyNowNs() >= deadline)
    return Status::Error(EROFS, Label(req) + ": abandoned: " + cause + " (no attempt started)");
  auto holding = holding_.find(client);
  if (holding == holding_.end() || !holding->second || closing_) return Perform(client, req, reply);

  auto h = std::make_shared<HeldCall>();
  h->info = HeldRequest{next_held_id_++, client, req.op, req.key, false};
  h->req = req;
  held_.push_back(h);
  held_cv_.NotifyAll();
  ++waiters_;
  const auto until = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline));
  while (!h->done) {
    if (deadline == 0) {
      held_cv_.Wait(&mu_);
    } else if (!held_cv_.WaitUntil(&mu_, until) && !h->done) {
      h->info.abandoned = true;  // stays held: a release still lands it
      break;
    }
  }
  --waiters_;
  held_cv_.NotifyAll();
  if (!h->done) {
    return Status::Error(EROFS, Label(req) + ": abandoned: " + cause +
                                    " (the request is still in flight and may land later)");
  }
  *reply = std::move(h->reply);
  return h->status;
}

bool PoweredObjectStore::PowerTick() { return power_ == nullptr || power_->Tick(); }

Status PoweredObjectStore::Perform(const std::string& client, const Request& req, Reply* reply) {
  if (power_ != nullptr && power_->dead()) return Status::Error(EIO, Label(req) + ": power off");
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != req.op || (!it->client.empty() && it->client != client) ||
        req.key.compare(0, it->key_prefix.size(), it->key_prefix) != 0) {
      continue;
    }
    const ObjectFault fault = it->fault;
    if (--it->left <= 0) faults_.erase(it);
    switch (fault) {
      case ObjectFault::k500:
        return Status::Error(EIO, Label(req) + ": HTTP 500 InternalError: injected (gave up after retries)");
      case ObjectFault::k503:
        return Status::Error(EIO, Label(req) + ": HTTP 503 SlowDown: injected (gave up after retries)");
      case ObjectFault::kLostBeforeApply:
        return Status::Error(ETIMEDOUT, Label(req) + ": timed out: injected (the request was lost)");
      case ObjectFault::kLostAfterApply: {
        Status applied = Apply(req, reply);
        (void)applied;  // applied, but its answer never arrives
        *reply = Reply();
        return Status::Error(ETIMEDOUT, Label(req) + ": timed out: injected (applied, the answer was lost)");
      }
    }
  }
  return Apply(req, reply);
}

Status PoweredObjectStore::Apply(const Request& req, Reply* reply) {
  const std::string what = Label(req);
  switch (req.op) {
    case ObjectOp::kPutCreateOnly:
      if (objects_.count(req.key) != 0) {
        return Status::Error(EEXIST, what + ": already exists (create-only PUT, HTTP 412)");
      }
      [[fallthrough]];
    case ObjectOp::kPut:
      if (!PowerTick()) return Status::Error(EIO, what + ": power off");
      objects_[req.key] = req.body;
      return Status::Ok();
    case ObjectOp::kGet:
    case ObjectOp::kGetRange: {
      auto it = objects_.find(req.key);
      if (it == objects_.end()) return Status::Error(ENOENT, what + ": not found");
      if (req.op == ObjectOp::kGet) {
        reply->body = it->second;
        return Status::Ok();
      }
      if (req.length == 0) return Status::Error(EINVAL, what + ": empty range");
      const uint64_t size = it->second.size();
      if (req.offset < size) reply->body = it->second.substr(req.offset, std::min(req.length, size - req.offset));
      return Status::Ok();
    }
    case ObjectOp::kList: {
      if (req.max_keys < 1)
        return Status::Error(EINVAL, what + ": max_keys " + std::to_string(req.max_keys) + " is not positive");
      const size_t max = static_cast<size_t>(std::min(req.max_keys, kMaxListKeys));
      auto it = req.start_after < req.key ? objects_.lower_bound(req.key) : objects_.upper_bound(req.start_after);
      for (; it != objects_.end() && it->first.compare(0, req.key.size(), req.key) == 0; ++it) {
        if (reply->page.objects.size() == max) {
          reply->page.more = true;
          break;
        }
        reply->page.objects.push_back(ObjectInfo{it->first, it->second.size()});
      }
      return Status::Ok();
    }
    case ObjectOp::kDelete:
    case ObjectOp::kDeleteMany:
      for (const std::string& key : req.keys) {
        if (!PowerTick()) return Status::Error(EIO, what + ": key '" + key + "': power off");
        objects_.erase(key);
      }
      return Status::Ok();
  }
  return Status::Error(EINVAL, what + ": unknown operation");
}

// ---- test controls --------------------------------------------------------------------

void PoweredObjectStore::InjectFault(ObjectOp op, ObjectFault fault, int count, const std::string& client,
                                     const std::string& key_prefix) {
  MutexLock lock(&mu_);
  if (count > 0) faults_.push_back(FaultRule{op, fault, count, client, key_prefix});
}

void PoweredObjectStore::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
}

void PoweredObjectStore::Hold(const std::string& client) {
  MutexLock lock(&mu_);
  holding_[client] = true;
}

void PoweredObjectStore::Unhold(const std::string& client) {
  MutexLock lock(&mu_);
  holding_[client] = false;
}

std::vector<HeldRequest> PoweredObjectStore::Held() const {
  MutexLock lock(&mu_);
  std::vector<HeldRequest> out;
  for (const std::shared_ptr<HeldCall>& h : held_) out.push_back(h->info);
  return out;
}

bool PoweredObjectStore::WaitForHeld(size_t n, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (held_.size() < n) {
    if (!held_cv_.WaitUntil(&mu_, until) && held_.size() < n) return false;
  }
  return true;
}

Status PoweredObjectStore::ReleaseHeld(uint64_t id, HeldRelease how) {
  MutexLock lock(&mu_);
  auto it = std::find_if(held_.begin(), held_.end(),
                         [id](const std::shared_ptr<HeldCall>& h) { return h->info.id == id; });
  if (it == held_.end()) return Status::Error(ENOENT, "release: no held request " + std::to_string(id));
  std::shared_ptr<HeldCall> h = *it;
  held_.erase(it);
  if (how == HeldRelease::kDrop) {
    h->status = Status::Error(ETIMEDOUT, Label(h->req) + ": timed out (the request was lost in the partition)");
  } else {
    h->status = Perform(h->info.client, h->req, &h->reply);
    if (how == HeldRelease::kApplyLoseAnswer) {
      h->reply = Reply();
      h->status = Status::Error(ETIMEDOUT, Label(h->req) + ": timed out (applied, the answer was lost)");
    }
  }
  h->done = true;
  held_cv_.NotifyAll();
  return Status::Ok();
}

uint64_t PoweredObjectStore::Count(ObjectOp op, const std::string& client) const {
  MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const auto& [name, counts] : counts_) {
    if (client.empty() || name == client) n += counts[static_cast<size_t>(op)];
  }
  return n;
}

void PoweredObjectStore::ResetCounts() {
  MutexLock lock(&mu_);
  counts_.clear();
}

std::map<std::string, std::string> PoweredObjectStore::Objects() const {
  MutexLock lock(&mu_);
  return objects_;
}

std::optional<std::string> PoweredObjectStore::Peek(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void PoweredObjectStore::Poke(const std::string& key, std::string body) {
  MutexLock lock(&mu_);
  objects_[key] = std::move(body);
}

void PoweredObjectStore::Erase(const std::string& key) {
  MutexLock lock(&mu_);
  objects_.erase(key);
}

}  // namespace s3nbd::testing
