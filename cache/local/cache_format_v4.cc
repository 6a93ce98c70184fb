// CacheFormatV4 implementation: the version-4 header fields, map units and their checks, on
// top of cache_format.cc's version-3 fields. Stateless; thread-safe.
#include "cache/local/cache_format_v4.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[8] = {'S', '3', 'N', 'B', 'D', 'C', 'F', '1'};  // as version 3
constexpr uint32_t kUnitMagic = 0x55534E53;                           // "SNSU"
constexpr uint64_t kUnitSeed = 0x533353554E;
constexpr uint64_t kSectorSeed = 0x533353454354;
constexpr size_t kUnitSumAt = 504;
constexpr size_t kUnitSumsAt = 40;
constexpr uint64_t kMaxSlots = uint64_t{1} << 40;  // far above any real file; bounds the arithmetic

uint64_t RoundUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t CountMask(uint16_t count) {
  return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
}
uint64_t MapStride(uint32_t block_size) {
  return uint64_t{UnitsPerSlot(block_size)} * kMapUnitSize;
}

}  // namespace

bool BlockSizeHasMap(uint32_t block_size) {
  return block_size >= kMinMapBlockSize && block_size % kSectorSize == 0;
}
uint32_t SectorsPerBlock(uint32_t block_size) { return block_size / kSectorSize; }
uint32_t UnitsPerSlot(uint32_t block_size) {
  return (SectorsPerBlock(block_size) + kUnitSectors - 1) / kUnitSectors;
}
uint16_t UnitSectorCount(uint32_t block_size, uint32_t index) {
  const uint32_t spb = SectorsPerBlock(block_size), first = index * kUnitSectors;
  return static_cast<uint16_t>(first >= spb ? 0 : std::min(kUnitSectors, spb - first));
}

CacheHeaderV4 MakeCacheHeaderV4(const std::array<uint8_t, 16>& uuid, uint32_t block_size,
                                uint64_t volume_size, uint64_t cache_bytes) {
  CacheHeaderV4 h;
  h.base = MakeCacheHeader(uuid, block_size, volume_size, cache_bytes);
  if (!BlockSizeHasMap(block_size)) return h;
  // Each slot also costs its map: ask version 3's geometry for that many slots.
  const uint64_t stride = h.base.slot_stride, map = MapStride(block_size);
  const uint64_t usable = cache_bytes > kCacheHeaderSize ? cache_bytes - kCacheHeaderSize : 0;
  const uint64_t slots = usable / (stride + kCacheRecordSize + map);
  h.base = MakeCacheHeader(uuid, block_size, volume_size,
                           kCacheHeaderSize + slots * (stride + kCacheRecordSize));
  h.map_stride = static_cast<uint32_t>(map);
  h.map_offset = RoundUp(h.base.data_offset + h.base.slot_count * stride, kCacheAlign);
  return h;
}

uint64_t CacheFileSizeV4(const CacheHeaderV4& h) {
  if (!h.has_map()) return CacheFileSize(h.base);
  return h.map_offset + h.base.slot_count * h.map_stride;
}

uint64_t MapUnitOffset(const CacheHeaderV4& h, uint64_t slot, uint32_t index) {
  return h.map_offset + slot * h.map_stride + uint64_t{index} * kMapUnitSize;
}

void EncodeHeaderV4(const CacheHeaderV4& h, std::span<uint8_t, kCacheHeaderSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  PutHeaderFields(h.base, kCacheFormatVersion4, p);
  PutLE<uint64_t>(p + 128, h.map_offset);
  PutLE<uint32_t>(p + 136, h.map_stride);
  PutLE<uint16_t>(p + 140, static_cast<uint16_t>(kSectorSize));
  PutLE<uint16_t>(p + 142, static_cast<uint16_t>(kUnitSectors));
  SealHeader(p);
}

Result<HeaderState> DecodeHeaderV4(std::span<const uint8_t> in, CacheHeaderV4* h) {
  if (in.size() < kCacheHeaderSize) return Status::Error(EINVAL, "header too short");
  const uint8_t* p = in.data();
  if (IsAllZero(in.first(kCacheHeaderSize))) return HeaderState::kEmpty;
  if (std::memcmp(p, kMagic, 8) != 0)
    return Status::Error(EINVAL, "not an s3nbd cache file (bad magic)");
  const uint32_t version = GetLE<uint32_t>(p + 8);
  *h = CacheHeaderV4{};
  if (version != kCacheFormatVersion4) {  // versions 1-3 (or a newer one, refused there)
    auto st = DecodeHeader(in, &h->base);
    if (!st.ok()) {
      if (version > kCacheFormatVersion4)
        return Status::Error(EINVAL, "unsupported cache format version " + std::to_string(version) +
                                         " (written by a newer s3nbd, which this one cannot "
                                         "read: use that s3nbd, or delete the file)");
      return st.status();
    }
    h->version = version;
    return *st;
  }
  if (!HeaderSealed(p)) return Status::Error(EINVAL, "header checksum mismatch");
  GetHeaderFields(p, &h->base);
  h->version = version;
  h->map_offset = GetLE<uint64_t>(p + 128);
  h->map_stride = GetLE<uint32_t>(p + 136);
  if (Status g = CheckHeaderGeometry(h->base); !g.ok()) return g;
  if (GetLE<uint16_t>(p + 140) != kSectorSize || GetLE<uint16_t>(p + 142) != kUnitSectors)
    return Status::Error(
        EINVAL, "unsupported sector size " + std::to_string(GetLE<uint16_t>(p + 140)) + " or " +
                    std::to_string(GetLE<uint16_t>(p + 142)) + " sectors per map unit");
  const CacheHeader& b = h->base;
  if (b.slot_count > kMaxSlots) return Status::Error(EINVAL, "header geometry is inconsistent");
  if (h->map_offset == 0) {
    if (h->map_stride != 0) return Status::Error(EINVAL, "map stride without a map area");
    return HeaderState::kValid;
  }
  if (!BlockSizeHasMap(b.block_size))
    return Status::Error(EINVAL, "a sector map for blocks of " + std::to_string(b.block_size) +
                                     " bytes, which allow none");
  if (h->map_stride != MapStride(b.block_size))
    return Status::Error(EINVAL, "map stride " + std::to_string(h->map_stride) +
                                     " does not fit blocks of " + std::to_string(b.block_size) +
                                     " bytes");
  if (h->map_offset % kCacheAlign != 0 ||
      h->map_offset < b.data_offset + b.slot_count * b.slot_stride)
    return Status::Error(EINVAL, "map area overlaps the data slots or is not aligned");
  return HeaderState::kValid;
}

Status DecodeRecordV4(std::span<const uint8_t> in, bool has_map, CacheRecord* r) {
  const uint8_t allowed = static_cast<uint8_t>(kRecordOpen | (has_map ? kRecordMapped : 0));
  if (Status s = DecodeRecord(in, r, allowed); !s.ok()) return s;
  if ((r->flags & kRecordMapped) != 0) {
    if ((r->flags & kRecordOpen) != 0)
      return Status::Error(EINVAL, "bad record flags (OPEN and MAPPED)");
    if (r->hash != 0) return Status::Error(EINVAL, "MAPPED record with a hash");
  }
  return Status::Ok();
}

void EncodeMapUnit(const MapUnit& u, std::span<uint8_t, kMapUnitSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  PutLE<uint32_t>(p, kUnitMagic);
  PutLE<uint16_t>(p + 4, u.index);
  PutLE<uint16_t>(p + 6, u.count);
  PutLE<uint64_t>(p + 8, u.slot);
  PutLE<uint64_t>(p + 16, u.seq);
  PutLE<uint64_t>(p + 24, u.valid);
  PutLE<uint64_t>(p + 32, u.dirty);
  for (uint32_t k = 0; k < kUnitSectors; k++) PutLE<uint32_t>(p + kUnitSumsAt + 4 * k, u.sums[k]);
  PutLE<uint64_t>(p + kUnitSumAt, XXH3_64bits_withSeed(p, kUnitSumAt, kUnitSeed));
}

Result<UnitState> DecodeMapUnit(std::span<const uint8_t> in, uint64_t slot, uint32_t index,
                                uint16_t count, MapUnit* u) {
  if (in.size() < kMapUnitSize) return Status::Error(EINVAL, "map unit too short");
  const uint8_t* p = in.data();
  if (IsAllZero(in.first(kMapUnitSize))) return UnitState::kEmpty;
  if (GetLE<uint32_t>(p) != kUnitMagic) return Status::Error(EINVAL, "bad map unit magic");
  if (GetLE<uint64_t>(p + kUnitSumAt) != XXH3_64bits_withSeed(p, kUnitSumAt, kUnitSeed))
    return Status::Error(EINVAL, "map unit checksum mismatch");
  MapUnit d;
  d.index = GetLE<uint16_t>(p + 4);
  d.count = GetLE<uint16_t>(p + 6);
  d.slot = GetLE<uint64_t>(p + 8);
  d.seq = GetLE<uint64_t>(p + 16);
  d.valid = GetLE<uint64_t>(p + 24);
  d.dirty = GetLE<uint64_t>(p + 32);
  for (uint32_t k = 0; k < kUnitSectors; k++) d.sums[k] = GetLE<uint32_t>(p + kUnitSumsAt + 4 * k);
  if (d.index != index || d.slot != slot || d.count != count)
    return Status::Error(EINVAL, "map unit of slot " + std::to_string(d.slot) + " unit " +
                                     std::to_string(d.index) + " (" + std::to_string(d.count) +
                                     " sectors) found in the place of slot " +
                                     std::to_string(slot) + " unit " + std::to_string(index));
  if ((d.valid & ~CountMask(count)) != 0)
    return Status::Error(EINVAL, "map unit has bits past its sectors");
  if ((d.dirty & ~d.valid) != 0)
    return Status::Error(EINVAL, "map unit has dirty sectors that are not valid");
  for (uint32_t k = 0; k < kUnitSectors; k++)
    if ((d.valid >> k & 1) == 0 && d.sums[k] != 0)
      return Status::Error(EINVAL, "map unit has a checksum on a sector that is not valid");
  *u = d;
  return UnitState::kValid;
}

uint32_t SectorSum(uint64_t block, uint32_t sector, uint32_t sectors_per_block, const void* data) {
  const uint64_t lba = block * sectors_per_block + sector;
  return static_cast<uint32_t>(XXH3_64bits_withSeed(data, kSectorSize, kSectorSeed ^ lba));
}

SlotMap::SlotMap(uint32_t block_size)
    : valid(SectorSet::ForBlock(block_size)),
      dirty(SectorSet::ForBlock(block_size)),
      sums(SectorsPerBlock(block_size), 0) {}

std::pair<uint32_t, uint32_t> SlotMap::Apply(uint64_t block, uint64_t offset, std::string_view data,
                                             bool is_dirty) {
  const uint32_t spb = valid.size();
  const uint64_t first = offset / kSectorSize;
  const uint64_t end = std::min<uint64_t>(first + data.size() / kSectorSize, spb);
  if (offset % kSectorSize != 0 || first >= end) return {1, 0};  // nothing (empty range)
  for (uint64_t s = first; s < end; s++) {
    const auto k = static_cast<uint32_t>(s);
    sums[k] = SectorSum(block, k, spb, data.data() + (s - first) * kSectorSize);
    valid.Set(k, 1);
    if (is_dirty) dirty.Set(k, 1);
  }
  return {static_cast<uint32_t>(first / kUnitSectors),
          static_cast<uint32_t>((end - 1) / kUnitSectors)};
}

MapUnit SlotMap::Unit(uint64_t slot, uint64_t seq, uint32_t index) const {
  MapUnit u;
  u.index = static_cast<uint16_t>(index);
  u.count = UnitSectorCount(valid.size() * kSectorSize, index);
  u.slot = slot;
  u.seq = seq;
  u.valid = valid.Word(index);
  u.dirty = dirty.Word(index);
  for (uint32_t k = 0; k < u.count; k++)
    if (u.valid >> k & 1) u.sums[k] = sums[index * kUnitSectors + k];
  return u;
}

Result<RecoveredSlot> VerifySlotMap(const CacheHeaderV4& h, uint64_t slot, const CacheRecord& r,
                                    std::span<const uint8_t> map, std::string_view data,
                                    uint64_t flushed_seq) {
  const uint32_t bs = h.base.block_size, spb = SectorsPerBlock(bs), units = UnitsPerSlot(bs);
  const std::string where = "block " + std::to_string(r.block) + " slot " + std::to_string(slot);
  if (!h.has_map() || r.kind != RecordKind::kDirty || (r.flags & kRecordMapped) == 0)
    return Status::Error(EINVAL, where + ": not a MAPPED record of a file with sector maps");
  if (map.size() < uint64_t{units} * kMapUnitSize || data.size() < bs)
    return Status::Error(EINVAL, where + ": short map or data");
  RecoveredSlot out{SlotMap(bs)};
  for (uint32_t u = 0; u < units; u++) {
    MapUnit unit;
    auto st = DecodeMapUnit(map.subspan(uint64_t{u} * kMapUnitSize, kMapUnitSize), slot, u,
                            UnitSectorCount(bs, u), &unit);
    if (!st.ok()) return st.status().Wrap(where + " map unit " + std::to_string(u));
    if (*st == UnitState::kEmpty || unit.seq != r.seq) continue;  // stale: describes nothing
    for (uint32_t k = 0; k < unit.count; k++) {
      if ((unit.valid >> k & 1) == 0) continue;
      const uint32_t s = u * kUnitSectors + k;
      const bool is_dirty = (unit.dirty >> k & 1) != 0;
      if (SectorSum(r.block, s, spb, data.data() + uint64_t{s} * kSectorSize) == unit.sums[k]) {
        out.map.valid.Set(s, 1);
        if (is_dirty) out.map.dirty.Set(s, 1);
        out.map.sums[s] = unit.sums[k];
      } else if (!is_dirty) {
        out.dropped_copies++;
      } else if (r.seq > flushed_seq) {
        out.lost_dirty++;
      } else {
        return Status::Error(EIO, where + " sector " + std::to_string(s) +
                                      ": flushed dirty data fails its checksum");
      }
    }
  }
  return out;
}

UpgradePlan PlanUpgrade(const CacheHeader& v3, uint64_t fixed_size) {
  UpgradePlan plan;
  if (!BlockSizeHasMap(v3.block_size)) {
    plan.why = "blocks of " + std::to_string(v3.block_size) +
               " bytes get no sector map (under 32 KiB or not a multiple of 512)";
    return plan;
  }
  const uint64_t map = MapStride(v3.block_size), stride = v3.slot_stride;
  uint64_t slots = v3.slot_count;
  if (fixed_size != 0) {  // a block device: the map takes the last slots (or spare room)
    const uint64_t room = fixed_size > v3.data_offset ? fixed_size - v3.data_offset : 0;
    slots = std::min(slots, room / (stride + map));
    if (slots < 4) {
      plan.why = "the device is too small for a sector map";
      return plan;
    }
  }
  plan.possible = true;
  plan.header.version = kCacheFormatVersion4;
  plan.header.base = v3;
  plan.header.base.slot_count = slots;
  plan.header.map_stride = static_cast<uint32_t>(map);
  plan.header.map_offset = RoundUp(v3.data_offset + slots * stride, kCacheAlign);
  plan.first_taken = slots;
  plan.zero_from = plan.header.map_offset;
  plan.zero_len = slots * map;
  plan.file_size = CacheFileSizeV4(plan.header);
  return plan;
}

}  // namespace s3nbd
