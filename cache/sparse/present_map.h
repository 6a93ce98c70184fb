// PresentMap: one bit per block, set when the block may have a stored object. Lock-free
// (atomic words). Rule kept by ZeroElidingStore: the map may over-report presence
// (costing a GET that finds nothing) but never under-report it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace s3nbd {

class PresentMap {
 public:
  explicit PresentMap(uint64_t blocks)
      : blocks_(blocks), words_(std::make_unique<std::atomic<uint64_t>[]>((blocks + 63) / 64)) {}

  bool Test(uint64_t b) const {
    return b < blocks_ && (words_[b / 64].load(std::memory_order_acquire) >> (b % 64)) & 1;
  }
  void Set(uint64_t b) {
    if (b < blocks_) words_[b / 64].fetch_or(uint64_t{1} << (b % 64), std::memory_order_acq_rel);
  }
  void Clear(uint64_t b) {
    if (b < blocks_) words_[b / 64].fetch_and(~(uint64_t{1} << (b % 64)), std::memory_order_acq_rel);
  }
  uint64_t Count() const {
    uint64_t n = 0;
    for (uint64_t w = 0; w < (blocks_ + 63) / 64; w++) n += __builtin_popcountll(words_[w].load());
    return n;
  }
  uint64_t blocks() const { return blocks_; }

  // Snapshot and restore of the words (bit b of word b / 64), for PresentMapFile.
  std::vector<uint64_t> Words() const {
    std::vector<uint64_t> out((blocks_ + 63) / 64);
    for (size_t w = 0; w < out.size(); w++) out[w] = words_[w].load(std::memory_order_acquire);
    return out;
  }
  void SetWords(const std::vector<uint64_t>& words) {
    for (size_t w = 0; w < words.size() && w < (blocks_ + 63) / 64; w++) words_[w].store(words[w]);
  }

 private:
  uint64_t blocks_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace s3nbd
