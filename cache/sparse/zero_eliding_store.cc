// ZeroElidingStore; see zero_eliding_store.h.
#include "cache/sparse/zero_eliding_store.h"

#include <cstring>
#include <vector>

namespace s3nbd {

Status ZeroElidingStore::Load() {
  return inner()->List([this](uint64_t block) { present_.Set(block); });
}

Status ZeroElidingStore::Missing(uint64_t block, const Status& not_found) const {
  if (unsure_.Contains(block)) return Status::Ok();  // our own failed write may never have landed
  return Status::Error(EIO, "block " + std::to_string(block) + ": object vanished: present at open (or written since), "
                                "GET returned 404; something other than this writer deleted it (" +
                                not_found.message() + ")");
}

Status ZeroElidingStore::Read(uint64_t block, std::string* data) {
  if (!present_.Test(block)) {
    data->assign(block_size_, '\0');
    return Status::Ok();
  }
  Status s = inner()->Read(block, data);
  if (s.err() == ENOENT) {
    if (Status m = Missing(block, s); !m.ok()) return m;
    data->assign(block_size_, '\0');
    return Status::Ok();
  }
  return s;
}

Status ZeroElidingStore::ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) {
  if (!present_.Test(block)) {
    std::memset(dest, 0, len);
    return Status::Ok();
  }
  Status s = inner()->ReadRange(block, offset, len, dest);
  if (s.err() == ENOENT) {  // as in Read
    if (Status m = Missing(block, s); !m.ok()) return m;
    std::memset(dest, 0, len);
    return Status::Ok();
  }
  return s;
}

Status ZeroElidingStore::Write(uint64_t block, std::string_view data) {
  if (IsAllZero(data)) {
    uint64_t one[1] = {block};
    return Erase(one);
  }
  present_.Set(block);  // before the PUT: over-report rather than under-report
  Status s = inner()->Write(block, data);
  if (s.ok()) unsure_.Remove(block);
  else unsure_.Add(block);  // it may have landed or not (a timeout after the server stored it)
  return s;
}

Status ZeroElidingStore::Erase(std::span<const uint64_t> blocks) {
  std::vector<uint64_t> present;
  for (uint64_t b : blocks)
    if (present_.Test(b)) present.push_back(b);
  if (present.empty()) return Status::Ok();
  if (Status s = inner()->Erase(present); !s.ok()) {
    for (uint64_t b : present) unsure_.Add(b);  // some DELETEs may have landed
    return s;
  }
  for (uint64_t b : present) {
    present_.Clear(b);
    unsure_.Remove(b);
  }
  return Status::Ok();
}

Status ZeroElidingStore::List(const std::function<void(uint64_t)>& fn) {
  for (uint64_t b = 0; b < present_.blocks(); b++)
    if (present_.Test(b)) fn(b);
  return Status::Ok();
}

}  // namespace s3nbd
