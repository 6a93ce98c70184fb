// The manifest shard object and the garbage chunk of a versioned volume (docs/format.md,
// "Manifest shard object", "Garbage chunks", "Garbage entry"): a 96-byte header and a payload
// of fixed-size entries (48-byte shard entries, or 56-byte garbage entries), zstd-compressed
// when that is smaller and sealed with a per-object subkey (label "s3nbd-v2 shard") on
// encrypted volumes. Pure functions; no shared state (zstd contexts are per thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/codec/volume_key.h"
#include "cache/util/status.h"
#include "cache/versioned/object_subkey.h"

namespace s3nbd {

constexpr size_t kShardHeaderBytes = 96;
constexpr size_t kShardEntryBytes = 48;
constexpr size_t kGarbageEntryBytes = 56;
constexpr uint64_t kGarbageChunkShard = ~uint64_t{0};  // the shard index field of a chunk
constexpr uint32_t kMaxGarbageChunkEntries = 65536;
constexpr uint8_t kShardFlagZstd = 1;
constexpr uint8_t kShardFlagAesGcm = 2;
constexpr uint8_t kShardEntryPresent = 1;
constexpr uint8_t kShardEntryLegacy = 2;

// What the manifest codecs know of their volume (from the descriptor).
struct ManifestIdentity {
  std::string volume;                   // the name used in messages
  std::array<uint8_t, 16> uuid{};
  uint64_t volume_size = 0;             // bytes
  uint32_t block_size = 0;
  uint32_t shard_blocks = 0;
  bool zstd = false;                    // volume uses zstd: shard objects may be compressed
  int zstd_level = 0;                   // level for writing (0: zstd's default)
  std::shared_ptr<const DataKey> key;   // set: encrypted volume

  uint64_t block_count() const { return block_size ? (volume_size + block_size - 1) / block_size : 0; }
  uint64_t shard_count() const { return shard_blocks ? (block_count() + shard_blocks - 1) / shard_blocks : 0; }
};

// One block of a shard: a PRESENT generation (or LEGACY v1 object), or a ZERO entry.
struct ShardEntry {
  uint32_t index = 0;          // block - shard * shard_blocks
  bool present = false, legacy = false;
  uint16_t source = 0;
  uint64_t epoch = 0, gen = 0, checksum = 0;
  uint64_t through = 0;        // LSN of the newest record folded into this entry
  uint64_t born = 0;           // checkpoint number when the object entered the chain
  bool operator==(const ShardEntry&) const = default;
};

enum class GarbageKind : uint8_t { kGeneration = 1, kShard = 2, kLegacy = 3, kChunk = 4 };

// An object no state of the live chain references any more, kept until it may be deleted.
struct GarbageEntry {
  GarbageKind kind = GarbageKind::kGeneration;
  uint64_t id = 0;             // block (kinds 1, 3), shard index (2), 2^64-1 (4)
  uint64_t epoch = 0, gen = 0;
  uint64_t born = 0, dropped = 0, dropped_time_us = 0;
  bool operator==(const GarbageEntry&) const = default;
};

// How a root names a shard object (the shard table entry, docs/format.md).
struct ShardRef {
  uint64_t shard = 0;
  uint16_t source = 0;
  uint32_t entries = 0;
  uint64_t epoch = 0, gen = 0, checksum = 0, length = 0;
  bool operator==(const ShardRef&) const = default;
};

// How a root names a garbage chunk.
struct GarbageChunkRef {
  uint64_t epoch = 0, gen = 0, checksum = 0, length = 0;
  uint32_t entries = 0;
  bool operator==(const GarbageChunkRef&) const = default;
};

// 56 bytes at p / from e (e.size() == 56). The decoder checks kind, reserved, source 0 and
// the kind's fixed fields against the volume; the message names the field.
void EncodeGarbageEntry(const GarbageEntry& g, char* p);
Status DecodeGarbageEntry(const ManifestIdentity& id, std::string_view e, GarbageEntry* g);

// Encodes shard `shard` as object (epoch, gen); entries sorted by index, strictly increasing.
// *ref receives what the root's shard table entry must hold (source 0). EINVAL if an entry
// breaks a rule.
Result<std::string> EncodeShardObject(const ManifestIdentity& id, uint64_t shard, uint64_t epoch, uint64_t gen,
                                      std::span<const ShardEntry> entries, ShardRef* ref);
Result<std::string> EncodeGarbageChunk(const ManifestIdentity& id, uint64_t epoch, uint64_t gen,
                                       std::span<const GarbageEntry> entries, GarbageChunkRef* ref);
// Test-only entry points: the same with a given salt (deterministic samples).
Result<std::string> EncodeShardObjectWithSaltForTest(const ManifestIdentity& id, uint64_t shard, uint64_t epoch,
                                                     uint64_t gen, std::span<const ShardEntry> entries,
                                                     const ObjectSalt& salt, ShardRef* ref);

// Decodes a shard object against what the root expects of it (epoch, gen, checksum, length,
// entry count); source_count is the root's source table size V. EIO naming the volume, the
// shard and the check: "replayed or misplaced object: holds generation E-G, manifest expects
// E'-G'", "stale or replaced object: checksum X, manifest expects Y", ...
Result<std::vector<ShardEntry>> DecodeShardObject(const ManifestIdentity& id, const ShardRef& expect,
                                                  uint32_t source_count, std::string_view object);
Result<std::vector<GarbageEntry>> DecodeGarbageChunk(const ManifestIdentity& id, const GarbageChunkRef& expect,
                                                     std::string_view object);

}  // namespace s3nbd
