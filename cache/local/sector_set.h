// SectorSet: a set of 512-byte sectors of one block (a bitmap), the in-memory form of the valid
// and dirty sets of cache format 4 (docs/cache-format.md "Version 4"). Byte ranges round
// outward when set (the sectors a write touches) and inward when cleared (the sectors wholly
// inside a trim). A value type with no locking: its owner's lock guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "cache/util/status.h"

namespace s3nbd {

class SectorSet {
 public:
  static constexpr uint32_t kSectorSize = 512;

  SectorSet() = default;
  explicit SectorSet(uint32_t sectors);
  // The set of the sectors of a block of block_size bytes (a multiple of kSectorSize).
  static SectorSet ForBlock(uint64_t block_size) {
    return SectorSet(static_cast<uint32_t>(block_size / kSectorSize));
  }

  uint32_t size() const { return sectors_; }  // sectors in the block (set or not)
  uint32_t Count() const;                     // sectors in the set
  bool Empty() const;
  bool Full() const { return Count() == sectors_; }

  // Sector ranges [first, first + count), clipped to the block.
  void Set(uint32_t first, uint32_t count);
  void Clear(uint32_t first, uint32_t count);
  bool Test(uint32_t sector) const;
  bool AllSet(uint32_t first, uint32_t count) const;
  bool AnySet(uint32_t first, uint32_t count) const;

  // Byte ranges of the block. SetBytes rounds outward (every sector the range touches);
  // ClearBytes rounds inward (only the sectors wholly inside it). CoversBytes: every sector
  // the range touches is set, so the range can be served from the slot.
  void SetBytes(uint64_t offset, uint64_t len);
  void ClearBytes(uint64_t offset, uint64_t len);
  bool CoversBytes(uint64_t offset, uint64_t len) const;

  // Runs of consecutive set sectors, ascending: fn(first, count). With `set = false`, the
  // runs of sectors not in the set (what must be fetched).
  void ForEachRun(const std::function<void(uint32_t first, uint32_t count)>& fn,
                  bool set = true) const;

  SectorSet& operator|=(const SectorSet& o);  // sizes must match
  SectorSet& operator&=(const SectorSet& o);
  SectorSet& Subtract(const SectorSet& o);
  bool IsSubsetOf(const SectorSet& o) const;
  bool operator==(const SectorSet& o) const = default;

  // 64 sectors starting at 64 * i as one word (bit k = sector 64i + k): a map unit's bitmap.
  uint64_t Word(uint32_t i) const { return i < words_.size() ? words_[i] : 0; }
  void SetWord(uint32_t i, uint64_t w);  // bits past the block are dropped

  // On-disk bytes: ceil(size / 8) bytes, bit k of byte j is sector 8j + k.
  size_t SerializedSize() const { return (sectors_ + 7) / 8; }
  void Serialize(std::span<uint8_t> out) const;  // out.size() >= SerializedSize()
  // Fails on a short input or a bit set past the block (a damaged or foreign bitmap).
  static Result<SectorSet> Deserialize(std::span<const uint8_t> in, uint32_t sectors);

 private:
  uint64_t LastWordMask() const;
  uint32_t sectors_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace s3nbd
