// SectorSet implementation: a vector of 64-bit words, bit k of word i = sector 64i + k.
// Stateless beyond the value; no locking.
#include "cache/local/sector_set.h"

#include <algorithm>
#include <bit>
#include <string>

namespace s3nbd {
namespace {

// Bits [from, to) of one word, 0 <= from <= to <= 64.
uint64_t Bits(uint32_t from, uint32_t to) {
  if (from >= to) return 0;
  const uint64_t hi = to == 64 ? ~uint64_t{0} : (uint64_t{1} << to) - 1;
  return hi & ~((uint64_t{1} << from) - 1);
}

}  // namespace

SectorSet::SectorSet(uint32_t sectors) : sectors_(sectors), words_((sectors + 63) / 64, 0) {}

uint64_t SectorSet::LastWordMask() const {
  const uint32_t tail = sectors_ % 64;
  return tail == 0 ? ~uint64_t{0} : Bits(0, tail);
}

uint32_t SectorSet::Count() const {
  uint32_t n = 0;
  for (uint64_t w : words_) n += static_cast<uint32_t>(std::popcount(w));
  return n;
}

bool SectorSet::Empty() const {
  return std::all_of(words_.begin(), words_.end(), [](uint64_t w) { return w == 0; });
}

void SectorSet::Set(uint32_t first, uint32_t count) {
  const uint32_t end = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{first} + count, sectors_));
  for (uint32_t s = first; s < end;) {
    const uint32_t i = s / 64, to = std::min(end - i * 64, 64u);
    words_[i] |= Bits(s % 64, to);
    s = i * 64 + to;
  }
}

void SectorSet::Clear(uint32_t first, uint32_t count) {
  const uint32_t end = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{first} + count, sectors_));
  for (uint32_t s = first; s < end;) {
    const uint32_t i = s / 64, to = std::min(end - i * 64, 64u);
    words_[i] &= ~Bits(s % 64, to);
    s = i * 64 + to;
  }
}

bool SectorSet::Test(uint32_t sector) const {
  return sector < sectors_ && (words_[sector / 64] >> (sector % 64) & 1) != 0;
}

bool SectorSet::AllSet(uint32_t first, uint32_t count) const {
  if (uint64_t{first} + count > sectors_) return false;
  for (uint32_t s = first, end = first + count; s < end;) {
    const uint32_t i = s / 64, to = std::min(end - i * 64, 64u);
    const uint64_t m = Bits(s % 64, to);
    if ((words_[i] & m) != m) return false;
    s = i * 64 + to;
  }
  return true;
}

bool SectorSet::AnySet(uint32_t first, uint32_t count) const {
  const uint32_t end = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{first} + count, sectors_));
  for (uint32_t s = first; s < end;) {
    const uint32_t i = s / 64, to = std::min(end - i * 64, 64u);
    if ((words_[i] & Bits(s % 64, to)) != 0) return true;
    s = i * 64 + to;
  }
  return false;
}

void SectorSet::SetBytes(uint64_t offset, uint64_t len) {
  if (len == 0) return;
  const uint64_t first = offset / kSectorSize, end = (offset + len + kSectorSize - 1) / kSectorSize;
  if (first >= sectors_) return;
  Set(static_cast<uint32_t>(first),
      static_cast<uint32_t>(std::min<uint64_t>(end, sectors_) - first));
}

void SectorSet::ClearBytes(uint64_t offset, uint64_t len) {
  const uint64_t first = (offset + kSectorSize - 1) / kSectorSize,
                 end = (offset + len) / kSectorSize;
  if (end <= first || first >= sectors_) return;
  Clear(static_cast<uint32_t>(first),
        static_cast<uint32_t>(std::min<uint64_t>(end, sectors_) - first));
}

bool SectorSet::CoversBytes(uint64_t offset, uint64_t len) const {
  if (len == 0) return true;
  const uint64_t first = offset / kSectorSize, end = (offset + len + kSectorSize - 1) / kSectorSize;
  if (end > sectors_) return false;
  return AllSet(static_cast<uint32_t>(first), static_cast<uint32_t>(end - first));
}

void SectorSet::ForEachRun(const std::function<void(uint32_t first, uint32_t count)>& fn,
                           bool set) const {
  uint32_t s = 0;
  while (s < sectors_) {
    // Skip sectors of the other kind a word at a time, then measure the run likewise.
    auto word = [&](uint32_t i) { return set ? words_[i] : ~words_[i]; };
    uint64_t w = word(s / 64) >> (s % 64);
    if (w == 0) {
      s = (s / 64 + 1) * 64;
      continue;
    }
    s += static_cast<uint32_t>(std::countr_zero(w));
    if (s >= sectors_) break;
    uint32_t e = s;
    for (;;) {
      uint64_t x = ~word(e / 64) >> (e % 64);  // ones where the run ends
      if (x == 0) {
        e = (e / 64 + 1) * 64;
        if (e >= sectors_) break;
        continue;
      }
      e += static_cast<uint32_t>(std::countr_zero(x));
      break;
    }
    e = std::min(e, sectors_);
    fn(s, e - s);
    s = e;
  }
}

SectorSet& SectorSet::operator|=(const SectorSet& o) {
  for (size_t i = 0; i < words_.size() && i < o.words_.size(); i++) words_[i] |= o.words_[i];
  return *this;
}

SectorSet& SectorSet::operator&=(const SectorSet& o) {
  for (size_t i = 0; i < words_.size(); i++) words_[i] &= i < o.words_.size() ? o.words_[i] : 0;
  return *this;
}

SectorSet& SectorSet::Subtract(const SectorSet& o) {
  for (size_t i = 0; i < words_.size() && i < o.words_.size(); i++) words_[i] &= ~o.words_[i];
  return *this;
}

bool SectorSet::IsSubsetOf(const SectorSet& o) const {
  for (size_t i = 0; i < words_.size(); i++)
    if ((words_[i] & ~o.Word(static_cast<uint32_t>(i))) != 0) return false;
  return true;
}

void SectorSet::SetWord(uint32_t i, uint64_t w) {
  if (i >= words_.size()) return;
  words_[i] = i + 1 == words_.size() ? w & LastWordMask() : w;
}

void SectorSet::Serialize(std::span<uint8_t> out) const {
  for (size_t j = 0; j < SerializedSize() && j < out.size(); j++)
    out[j] = static_cast<uint8_t>(words_[j / 8] >> (8 * (j % 8)));
}

Result<SectorSet> SectorSet::Deserialize(std::span<const uint8_t> in, uint32_t sectors) {
  SectorSet set(sectors);
  if (in.size() < set.SerializedSize())
    return Status::Error(EINVAL, "sector bitmap of " + std::to_string(in.size()) +
                                     " bytes is too short for " + std::to_string(sectors) +
                                     " sectors");
  for (size_t j = 0; j < set.SerializedSize(); j++)
    set.words_[j / 8] |= uint64_t{in[j]} << (8 * (j % 8));
  if (!set.words_.empty() && (set.words_.back() & ~set.LastWordMask()) != 0)
    return Status::Error(EINVAL, "sector bitmap has bits past sector " + std::to_string(sectors));
  return set;
}

}  // namespace s3nbd
