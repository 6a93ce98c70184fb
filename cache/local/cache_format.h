// CacheFormat: encode/decode of the cache file header and index records (docs/cache-format.md).
// Pure functions over byte buffers; no I/O, no state, no locking.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

constexpr uint32_t kCacheFormatVersion = 3;  // writes 3; reads 1 (no record flags), 2 (no watermark, tokens)
constexpr uint64_t kCacheHeaderSize = 4096;
constexpr uint64_t kCacheRecordSize = 64;
constexpr uint64_t kCacheAlign = 4096;

struct CacheHeader {
  std::array<uint8_t, 16> volume_uuid{};
  uint32_t block_size = 0;
  uint32_t slot_stride = 0;
  uint64_t slot_count = 0;
  uint64_t record_count = 0;
  uint64_t index_offset = 0;
  uint64_t data_offset = 0;
  uint64_t flushed_seq = 0;
  uint64_t volume_size = 0;
  // v3: every DIRTY/ERASE version with seq < uploaded_below is in the store (or superseded).
  uint64_t uploaded_below = 0;
  // v3: the bucket's writer session token of this file's session and of the one before it
  // (zero: unknown, e.g. a v1/v2 file). See docs/cache-format.md "Writer tokens".
  std::array<uint8_t, 16> writer_token{};
  std::array<uint8_t, 16> prev_writer_token{};
};

enum class RecordKind : uint8_t { kFree = 0, kClean = 1, kDirty = 2, kErase = 3 };

// Record flag: a DIRTY slot written in place by partial writes since its record was
// written. Its content hash is not maintained (hash = 0) until it is uploaded or sealed.
constexpr uint8_t kRecordOpen = 1;

struct CacheRecord {
  RecordKind kind = RecordKind::kFree;
  uint64_t block = 0;
  uint64_t seq = 0;
  uint64_t epoch = 0;
  uint64_t hash = 0;
  uint8_t flags = 0;  // kRecordOpen (DIRTY only)
};

// Geometry of a new cache of `cache_bytes` for blocks of `block_size`.
CacheHeader MakeCacheHeader(const std::array<uint8_t, 16>& uuid, uint32_t block_size,
                            uint64_t volume_size, uint64_t cache_bytes);
// Bytes the file needs for this geometry.
uint64_t CacheFileSize(const CacheHeader& h);

void EncodeHeader(const CacheHeader& h, std::span<uint8_t, kCacheHeaderSize> out);
// The pieces of EncodeHeader/DecodeHeader that version 4 (cache_format_v4.h) shares: the
// fields of bytes 0..127 with a given version number (no checksum), the checksum at 248 over
// bytes 0..247, the fields read back, and the geometry check of the data slots.
void PutHeaderFields(const CacheHeader& h, uint32_t version, uint8_t* p);
void SealHeader(uint8_t* p);
bool HeaderSealed(const uint8_t* p);
void GetHeaderFields(const uint8_t* p, CacheHeader* h);
Status CheckHeaderGeometry(const CacheHeader& h);
// kEmpty: all-zero header (a new file). Errors name the cause (bad magic/version/checksum).
enum class HeaderState { kValid, kEmpty };
Result<HeaderState> DecodeHeader(std::span<const uint8_t> in, CacheHeader* h);

void EncodeRecord(const CacheRecord& r, std::span<uint8_t, kCacheRecordSize> out);
// An all-zero record decodes as FREE. A bad magic/checksum/kind is an error.
Status DecodeRecord(std::span<const uint8_t> in, CacheRecord* r);
// The same with the flag bits a format version allows (flags only on DIRTY records);
// DecodeRecord allows kRecordOpen (version 3).
Status DecodeRecord(std::span<const uint8_t> in, CacheRecord* r, uint8_t allowed_flags);

// "0a0b0c0d-..." form of a volume UUID, for messages.
std::string UuidString(const std::array<uint8_t, 16>& uuid);

// Content hash of a block's bytes.
uint64_t BlockHash(std::string_view data);

}  // namespace s3nbd
