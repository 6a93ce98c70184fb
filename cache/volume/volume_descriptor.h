// VolumeDescriptor: the volume.s3nbd object (format in docs/format.md): what a volume is
// (uuid, size, block size, key layout, codec choices; a version-2 descriptor adds the fields
// of versioned volumes: shard-blocks, log-window, ...). Plain value; parsing is strict and
// safe on hostile input (it is a fuzz target). An encrypted volume also carries its wrapped
// data key (KeyWrap; cache/codec/volume_key.h derives and unwraps it).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/s3/block_key.h"
#include "cache/util/status.h"

namespace s3nbd {

constexpr uint32_t kMinBlockSize = 4096;
constexpr uint32_t kMaxBlockSize = 8u << 20;
constexpr size_t kMaxDescriptorBytes = 64 << 10;

// scrypt parameters; decoding caps them so a hostile descriptor cannot demand huge memory.
struct KdfParams {
  uint64_t n = uint64_t{1} << 16;  // CPU/memory cost, a power of two; 128*r*n bytes of memory
  uint32_t r = 8;
  uint32_t p = 1;
};

// How an encrypted volume keeps its data key (docs/format.md, "Encryption").
struct KeyWrap {
  std::string kdf = "scrypt";
  KdfParams params;
  std::string salt;     // 16 random bytes
  std::string wrapped;  // nonce(12) || AES-256-GCM(data key)(32) || tag(16)
  std::string check;    // 16 bytes: HMAC-SHA256(KEK, "s3nbd key check")[0..16)
};

// Version 2 (docs/format.md, "Volume descriptor, format version 2").
constexpr uint32_t kMinShardBlocks = 4096;
constexpr uint32_t kMaxShardBlocks = 1u << 24;
constexpr uint32_t kMaxLogWindow = 64;
constexpr uint32_t kDefaultLogWindow = 8;
constexpr std::string_view kObjectKeysHkdf = "hkdf-sha256";

struct VolumeDescriptor {
  int format = 1;  // the version of the first line: 1 or 2 (versioned volume)
  std::array<uint8_t, 16> uuid{};
  uint64_t size = 0;
  uint32_t block_size = 0;
  KeyLayout key_layout = KeyLayout::kFlat;
  std::string compression = "none";  // "none" or "zstd"
  int compression_level = 0;         // zstd level recorded at create (0: library default)
  std::string encryption = "none";   // "none" or "aes-256-gcm" (then key is set)
  KeyWrap key;
  std::string created;  // ISO 8601 UTC, informational
  // Version 2 only (0 / empty on version 1):
  uint32_t shard_blocks = 0;    // blocks per manifest shard
  uint32_t log_window = 0;      // most log segments a writer may have in flight
  std::string object_keys;      // "hkdf-sha256" on encrypted volumes, else empty
  int upgraded_from = 0;        // 1: converted from version 1 by 's3nbd upgrade'
  std::string upgraded;         // ISO 8601 UTC time of the conversion (only with upgraded_from)

  bool encrypted() const { return encryption != "none"; }
  bool compressed() const { return compression != "none"; }
  uint64_t block_count() const { return (size + block_size - 1) / block_size; }
  std::string UuidString() const;
};

// Checks block size and volume size rules; messages name the value.
Status ValidateGeometry(uint64_t size, uint64_t block_size);

// A fresh descriptor with a random UUID and the current time.
Result<VolumeDescriptor> NewDescriptor(uint64_t size, uint32_t block_size, KeyLayout layout);

// Parses a compression choice: "none", "zstd" or "zstd:LEVEL" (1-19).
Status ParseCompression(std::string_view text, std::string* algorithm, int* level);
std::string CompressionName(const VolumeDescriptor& d);  // "none", "zstd", "zstd:3"

// The shard-blocks a create or upgrade fixes for a volume of `blocks` blocks:
// min(2^24, max(65536, the power of two >= ceil(blocks / 4096))).
uint32_t DefaultShardBlocks(uint64_t blocks);

// Turns a fresh version-1 descriptor (after its codec choices) into version 2 with the
// defaults of create: shard-blocks from the block count, log-window 8, object-keys on
// encrypted volumes.
void MakeVersion2(VolumeDescriptor* d);

// Version 1 is written byte for byte as before version 2 existed.
std::string EncodeDescriptor(const VolumeDescriptor& d);
Result<VolumeDescriptor> DecodeDescriptor(std::string_view text);

}  // namespace s3nbd
