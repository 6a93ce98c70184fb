// The manifest root of a versioned volume (docs/format.md, "Manifest root"): the body of a
// CHECKPOINT record. A 144-byte fixed part, then the source table, the shard table, the epoch
// markers, the garbage chunk table and the inline garbage entries. It has no checksum of its
// own: the record's checksum (and the record area's GCM tag) covers it. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/util/status.h"
#include "cache/versioned/shard_object.h"

namespace s3nbd {

constexpr size_t kRootFixedBytes = 144;
constexpr uint32_t kMaxInlineGarbage = 4096;

// A volume whose prefix holds objects this manifest refers to (entry 0: this volume).
struct SourceEntry {
  std::array<uint8_t, 16> uuid{};
  uint8_t key_layout = 0;      // 0 flat, 1 hashed
  std::string prefix;          // empty for entry 0 (its own prefix)
  bool operator==(const SourceEntry&) const = default;
};

// The LSN of an EPOCH segment and the epoch it started.
struct EpochMarker {
  uint64_t lsn = 0, epoch = 0;
  bool operator==(const EpochMarker&) const = default;
};

struct ManifestRoot {
  uint64_t checkpoint = 0;         // k: 1 for the first checkpoint of the chain
  uint64_t epoch = 0;              // the writer's (= the segment's)
  uint64_t max_epoch = 0;
  uint64_t log_start = 0;          // the first LSN replay reads
  uint64_t fold_point = 0;
  uint64_t volume_size = 0;
  uint32_t block_size = 0;
  uint32_t shard_blocks = 0;
  uint64_t trim_from = 0, trim_to = 0;
  uint64_t prev_checkpoint_lsn = ~uint64_t{0};  // 2^64-1 for the first
  uint64_t time_us = 0;
  uint64_t log_start_epoch = 0;
  uint64_t log_start_prev = 0;
  std::vector<SourceEntry> sources;          // V >= 1
  std::vector<ShardRef> shards;              // S, by shard index strictly increasing
  std::vector<EpochMarker> epoch_markers;    // M, by LSN strictly increasing
  std::vector<GarbageChunkRef> garbage_chunks;  // C
  std::vector<GarbageEntry> garbage;         // G <= 4096
  bool operator==(const ManifestRoot&) const = default;
};

// The root's bytes, checked by the decoder's rules first (EINVAL naming the rule).
Result<std::string> EncodeManifestRoot(const ManifestIdentity& id, const ManifestRoot& root);

// Decodes the body of the CHECKPOINT record of segment `lsn` (named in messages: "volume V:
// log segment L: manifest root: <check>"). Checks the fixed part against the volume (size,
// block size, shard blocks, UUID of source 0), every count against the body's length before
// allocating, the order of the tables, reserved bytes and every entry.
Result<ManifestRoot> DecodeManifestRoot(const ManifestIdentity& id, uint64_t lsn, std::string_view body);

}  // namespace s3nbd
