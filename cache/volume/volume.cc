// Volume; see volume.h.
#include "cache/volume/volume.h"

#include <algorithm>
#include <cstring>
#include <vector>


namespace s3nbd {

Volume::Volume(std::string name, uint64_t size, uint32_t block_size, std::unique_ptr<BlockStore> top,
               ThreadPool* pool)
    : name_(std::move(name)), size_(size), block_size_(block_size), top_(std::move(top)), pool_(pool) {}

Status Volume::Fail(const char* op, const Status& s) const {
  return s.Wrap(std::string(op) + ": volume " + name_);
}

Status Volume::ReadBlockInto(uint64_t block, char* dest, uint32_t in_block, uint32_t len) {
  return top_->ReadRange(block, in_block, len, dest);
}

Status Volume::WriteBlockFrom(uint64_t block, const char* src, uint32_t in_block, uint32_t len) {
  std::lock_guard lock(StripeOf(block));
  if (len == block_size_ && src) return top_->Write(block, std::string_view(src, len));
  return top_->WriteRange(block, in_block, len, src);
}

// Splits [offset, offset+count) into (block, offset in block, length, offset in request).
namespace {
struct Piece {
  uint64_t block;
  uint32_t in_block;
  uint32_t len;
  uint64_t in_request;
};
std::vector<Piece> Split(uint64_t offset, uint32_t count, uint32_t block_size) {
  std::vector<Piece> pieces;
  uint64_t done = 0;
  while (done < count) {
    uint64_t pos = offset + done;
    uint64_t block = pos / block_size;
    uint32_t in_block = static_cast<uint32_t>(pos % block_size);
    uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(block_size - in_block, count - done));
    pieces.push_back({block, in_block, len, done});
    done += len;
  }
  return pieces;
}
}  // namespace

void Volume::EnableReadahead(uint32_t max_window) {
  readahead_ = max_window ? std::make_unique<Readahead>(max_window, (size_ + block_size_ - 1) / block_size_) : nullptr;
}

Status Volume::Read(void* buf, uint32_t count, uint64_t offset) {
  if (readahead_ && count) {
    std::vector<uint64_t> ahead = readahead_->OnRead(offset / block_size_, (offset + count - 1) / block_size_);
    if (!ahead.empty()) top_->Prefetch(ahead);
  }
  std::vector<std::function<Status()>> tasks;
  for (const Piece& p : Split(offset, count, block_size_)) {
    char* dest = static_cast<char*>(buf) + p.in_request;
    tasks.push_back([this, p, dest] { return ReadBlockInto(p.block, dest, p.in_block, p.len); });
  }
  Status s = pool_->RunAll(tasks);
  return s.ok() ? s : Fail("pread", s);
}

Status Volume::Write(const void* buf, uint32_t count, uint64_t offset) {
  std::vector<std::function<Status()>> tasks;
  for (const Piece& p : Split(offset, count, block_size_)) {
    const char* src = static_cast<const char*>(buf) + p.in_request;
    tasks.push_back([this, p, src] { return WriteBlockFrom(p.block, src, p.in_block, p.len); });
  }
  Status s = pool_->RunAll(tasks);
  return s.ok() ? s : Fail("pwrite", s);
}

Status Volume::EraseLocked(std::span<const uint64_t> blocks) {
  std::vector<size_t> stripes;
  for (uint64_t b : blocks) stripes.push_back(b % kStripes);
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (size_t i : stripes) locks.emplace_back(stripes_[i]);
  return top_->Erase(blocks);
}

Status Volume::Zero(uint32_t count, uint64_t offset) {
  std::vector<std::function<Status()>> tasks;
  std::vector<uint64_t> whole;
  for (const Piece& p : Split(offset, count, block_size_)) {
    bool last_partial_block = p.block * block_size_ + p.len == size_ && p.in_block == 0;
    if (p.len == block_size_ || last_partial_block) {
      whole.push_back(p.block);
    } else {
      tasks.push_back([this, p] { return WriteBlockFrom(p.block, nullptr, p.in_block, p.len); });
    }
  }
  // whole outlives RunAll below, so the spans stay valid.
  for (size_t i = 0; i < whole.size(); i += kEraseBatch) {
    std::span<const uint64_t> chunk(whole.data() + i, std::min(kEraseBatch, whole.size() - i));
    tasks.push_back([this, chunk] { return EraseLocked(chunk); });
  }
  Status s = pool_->RunAll(tasks);
  return s.ok() ? s : Fail("zero", s);
}

Status Volume::Flush() {
  Status s = top_->Flush();
  return s.ok() ? s : Fail("flush", s);
}

Status Volume::Extents(uint32_t count, uint64_t offset,
                       const std::function<Status(uint64_t, uint64_t, bool)>& fn) {
  uint64_t end = std::min(size_, offset + count);
  uint64_t pos = offset;
  while (pos < end) {
    uint64_t block = pos / block_size_;
    bool hole = top_->Probe(block) == BlockPresence::kAbsent;
    uint64_t stop = std::min(end, (block + 1) * block_size_);
    // Extend over following blocks of the same kind.
    while (stop < end && (top_->Probe(stop / block_size_) == BlockPresence::kAbsent) == hole)
      stop = std::min(end, stop + block_size_);
    if (Status s = fn(pos, stop - pos, hole); !s.ok()) return s;
    pos = stop;
  }
  return Status::Ok();
}

}  // namespace s3nbd
