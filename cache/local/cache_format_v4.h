// CacheFormatV4: encode/decode of what cache format version 4 adds (docs/cache-format.md
// "Version 4: sector maps"): the header's map fields, the MAPPED record flag, the 512-byte map
// units with per-sector checksums, the recovery check of one slot's map (rules 5-7), and the
// geometry of an upgrade from version 3. Pure functions over byte buffers; no I/O, no locking.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/local/cache_format.h"
#include "cache/local/sector_set.h"
#include "cache/util/status.h"

namespace s3nbd {

constexpr uint32_t kCacheFormatVersion4 = 4;
constexpr uint32_t kSectorSize = SectorSet::kSectorSize;  // 512
constexpr uint32_t kUnitSectors = 64;                     // sectors per map unit
constexpr uint64_t kMapUnitSize = 512;
constexpr uint32_t kMinMapBlockSize = kUnitSectors * kSectorSize;  // 32 KiB: one whole unit

// Record flag of version 4: a DIRTY slot described sector by sector by its map units (hash 0).
constexpr uint8_t kRecordMapped = 2;

// A header of any version: `base` holds the fields of versions 1-3; a version 4 adds the map.
struct CacheHeaderV4 {
  uint32_t version = kCacheFormatVersion4;
  CacheHeader base;
  uint64_t map_offset = 0;  // 0: no map area (blocks under 32 KiB, or a version 1-3 file)
  uint32_t map_stride = 0;  // map bytes per slot
  bool has_map() const { return map_offset != 0; }
};

// Whether blocks of this size get a sector map, and how many units one slot's map has.
bool BlockSizeHasMap(uint32_t block_size);
uint32_t UnitsPerSlot(uint32_t block_size);
uint32_t SectorsPerBlock(uint32_t block_size);
// Sectors described by unit `index` of a slot (64, fewer in a short last unit).
uint16_t UnitSectorCount(uint32_t block_size, uint32_t index);

// Geometry of a new version-4 cache of `cache_bytes` (a map area when the block size has one).
CacheHeaderV4 MakeCacheHeaderV4(const std::array<uint8_t, 16>& uuid, uint32_t block_size,
                                uint64_t volume_size, uint64_t cache_bytes);
uint64_t CacheFileSizeV4(const CacheHeaderV4& h);
// File offset of unit `index` of `slot`'s map (h.has_map()).
uint64_t MapUnitOffset(const CacheHeaderV4& h, uint64_t slot, uint32_t index);

// Writes version 4 (h.version is ignored).
void EncodeHeaderV4(const CacheHeaderV4& h, std::span<uint8_t, kCacheHeaderSize> out);
// Reads versions 1-4 (h->version says which; versions 1-3 have no map). Errors as
// DecodeHeader, plus the version-4 geometry (map placement, stride, sector size).
Result<HeaderState> DecodeHeaderV4(std::span<const uint8_t> in, CacheHeaderV4* h);

// A record of a version-4 file: flags OPEN or MAPPED (MAPPED only with a map area, on DIRTY
// records, never with OPEN, with hash 0).
Status DecodeRecordV4(std::span<const uint8_t> in, bool has_map, CacheRecord* r);

// One map unit: valid/dirty bits and checksums of 64 sectors of one slot.
struct MapUnit {
  uint16_t index = 0;
  uint16_t count = 0;  // sectors described
  uint64_t slot = 0;
  uint64_t seq = 0;  // the version (record) it describes
  uint64_t valid = 0;
  uint64_t dirty = 0;                         // subset of valid
  std::array<uint32_t, kUnitSectors> sums{};  // 0 where not valid
};

void EncodeMapUnit(const MapUnit& u, std::span<uint8_t, kMapUnitSize> out);
// kEmpty: all zero. Errors (bad magic, checksum, place, bits): the file is untrusted.
enum class UnitState { kValid, kEmpty };
Result<UnitState> DecodeMapUnit(std::span<const uint8_t> in, uint64_t slot, uint32_t index,
                                uint16_t count, MapUnit* u);

// The checksum of sector `sector` (0-based in the block) of `block`, over its 512 bytes.
uint32_t SectorSum(uint64_t block, uint32_t sector, uint32_t sectors_per_block, const void* data);

// SlotMap: one version's sector map in memory (what its units say), built by writes and
// turned into units to write. A value type; its owner's lock guards it.
struct SlotMap {
  SectorSet valid, dirty;
  std::vector<uint32_t> sums;  // per sector, 0 where not valid

  explicit SlotMap(uint32_t block_size = 0);
  // Whole sectors [offset, offset + data.size()) now hold `data` (offset and size multiples of
  // 512). dirty: written by the client (else a copy filled from below). Returns the units to
  // rewrite as [first, last].
  std::pair<uint32_t, uint32_t> Apply(uint64_t block, uint64_t offset, std::string_view data,
                                      bool dirty);
  MapUnit Unit(uint64_t slot, uint64_t seq, uint32_t index) const;
};

// Recovery of one DIRTY|MAPPED record (rules 5-7): `map` is the slot's map_stride bytes,
// `data` its block_size bytes. Returns the sectors kept; counts what was dropped. Errors: an
// untrusted unit (EINVAL) or flushed dirty data failing its checksum (EIO).
struct RecoveredSlot {
  SlotMap map;
  uint32_t lost_dirty = 0;      // unflushed dirty sectors whose data was lost (dropped)
  uint32_t dropped_copies = 0;  // valid, not dirty, failing their sum (dropped, fetched again)
  bool keep() const { return !map.dirty.Empty(); }  // rule 7: nothing dirty, drop the version
};
Result<RecoveredSlot> VerifySlotMap(const CacheHeaderV4& h, uint64_t slot, const CacheRecord& r,
                                    std::span<const uint8_t> map, std::string_view data,
                                    uint64_t flushed_seq);

// Upgrade of a version-3 header (docs/cache-format.md "Upgrade and compatibility").
// fixed_size: the size of a block device (the map takes its last slots), or 0 for a regular
// file (which grows). `possible` false: the file stays version 3 (why says so).
struct UpgradePlan {
  bool possible = false;
  std::string why;
  CacheHeaderV4 header;                  // the version-4 header to write last
  uint64_t first_taken = 0;              // slots [first_taken, old slot_count) become tombstones
  uint64_t file_size = 0;                // the file size it needs
  uint64_t zero_from = 0, zero_len = 0;  // the map area to zero before the header
};
UpgradePlan PlanUpgrade(const CacheHeader& v3, uint64_t fixed_size);

}  // namespace s3nbd
