// V2Keys: the names of every object of a version-2 volume under its prefix (docs/format.md,
// the key table): log segments l/, checkpoint pointers m/, block generations b/…/E-G (or
// hashed h/…/E-G, the v1 hashed digits), shards s/, garbage chunks s/g/, snapshot pins snap/;
// and the parse of a listed key back to its kind and numbers (fsck, listings). Immutable
// after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cache/s3/block_key.h"
#include "cache/util/status.h"

namespace s3nbd {

enum class V2KeyKind {
  kDescriptor,         // volume.s3nbd
  kLease,              // lease.s3nbd (as v1)
  kWriterToken,        // writer.s3nbd (as v1)
  kLogSegment,         // l/<LSN>
  kCheckpointPointer,  // m/<LSN>
  kBlockGeneration,    // b/<block>/<epoch>-<gen> or h/<hash>/<block>/<epoch>-<gen>
  kLegacyBlock,        // b/<block> or h/<hash>/<block>: a v1 object of an upgraded volume
  kShard,              // s/<shard>/<epoch>-<gen>
  kGarbageChunk,       // s/g/<epoch>-<gen>
  kSnapshot,           // snap/<name>
};

const char* V2KeyKindName(V2KeyKind kind);

// What a key names; the fields its kind does not use are 0 (or empty).
struct V2Key {
  V2KeyKind kind = V2KeyKind::kDescriptor;
  uint64_t lsn = 0;    // log segment, checkpoint pointer
  uint64_t block = 0;  // block generation, legacy block
  uint32_t shard = 0;  // shard
  uint64_t epoch = 0;  // block generation, shard, garbage chunk
  uint64_t gen = 0;
  std::string snapshot;  // snapshot pin name
};

// Snapshot names: 1-128 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'
// (docs/format.md). EINVAL naming the name otherwise.
Status ValidateSnapshotName(std::string_view name);

class V2Keys {
 public:
  // normalized_prefix as from NormalizePrefix; layout from the descriptor's key-layout.
  V2Keys(std::string normalized_prefix, KeyLayout layout)
      : prefix_(std::move(normalized_prefix)), layout_(layout), v1_(prefix_, layout) {}

  std::string Descriptor() const { return v1_.DescriptorKey(); }
  std::string LogSegment(uint64_t lsn) const;
  std::string CheckpointPointer(uint64_t lsn) const;
  std::string BlockGeneration(uint64_t block, uint64_t epoch, uint64_t gen) const;
  std::string LegacyBlock(uint64_t block) const { return v1_.BlockKey(block); }
  std::string Shard(uint32_t shard, uint64_t epoch, uint64_t gen) const;
  std::string GarbageChunk(uint64_t epoch, uint64_t gen) const;
  // The caller validates name (ValidateSnapshotName) before it writes a pin.
  std::string Snapshot(std::string_view name) const {
    return prefix_ + "snap/" + std::string(name);
  }

  // Listing prefixes. Zero-padded hex: a listing returns segments and pointers in LSN order.
  std::string LogListPrefix() const { return prefix_ + "l/"; }
  std::string CheckpointListPrefix() const { return prefix_ + "m/"; }
  std::string BlockListPrefix() const { return v1_.BlockListPrefix(); }  // generations and legacy
  std::string ShardListPrefix() const { return prefix_ + "s/"; }         // shards and garbage
  std::string SnapshotListPrefix() const { return prefix_ + "snap/"; }

  // Parses a key of this volume. EINVAL "not an s3nbd version-2 key of this volume: KEY" for
  // anything else: another prefix, the other key layout, bad digits (uppercase, wrong count),
  // hashed digits that do not match the block, a bad snapshot name.
  Result<V2Key> Parse(std::string_view key) const;

  const std::string& prefix() const { return prefix_; }
  KeyLayout layout() const { return layout_; }

 private:
  std::string prefix_;
  KeyLayout layout_;
  BlockKeys v1_;  // the v1 block key (and its hashed digits) that generation keys extend
};

}  // namespace s3nbd
