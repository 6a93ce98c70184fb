// CacheFormat implementation: little-endian field packing and XXH3 checksums.
// Stateless; thread-safe.
#include "cache/local/cache_format.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[8] = {'S', '3', 'N', 'B', 'D', 'C', 'F', '1'};
constexpr uint32_t kRecordMagic = 0x52434E53;
constexpr uint64_t kHeaderSeed = 0x5333484452;
constexpr uint64_t kRecordSeed = 0x5333435243;
constexpr size_t kHeaderSumAtV2 = 120;  // versions 1 and 2
constexpr size_t kHeaderSumAt = 248;    // version 3
constexpr size_t kRecordSumAt = 56;
constexpr uint64_t kMinTombstones = 4096;

template <typename T>
void Put(uint8_t* p, T v) { PutLE(p, v); }
template <typename T>
T Get(const uint8_t* p) { return GetLE<T>(p); }
uint64_t RoundUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

CacheHeader MakeCacheHeader(const std::array<uint8_t, 16>& uuid, uint32_t block_size,
                            uint64_t volume_size, uint64_t cache_bytes) {
  CacheHeader h;
  h.volume_uuid = uuid;
  h.block_size = block_size;
  h.slot_stride = static_cast<uint32_t>(RoundUp(block_size, kCacheAlign));
  h.volume_size = volume_size;
  // Each slot costs its stride plus one record, each tombstone one record.
  uint64_t per_slot = h.slot_stride + kCacheRecordSize;
  uint64_t usable = cache_bytes > kCacheHeaderSize ? cache_bytes - kCacheHeaderSize : 0;
  h.slot_count = std::max<uint64_t>(usable / per_slot, 4);
  h.record_count = h.slot_count + std::max<uint64_t>(h.slot_count / 4, kMinTombstones);
  h.index_offset = kCacheHeaderSize;
  h.data_offset = h.index_offset + RoundUp(h.record_count * kCacheRecordSize, kCacheAlign);
  return h;
}

uint64_t CacheFileSize(const CacheHeader& h) {
  return h.data_offset + h.slot_count * h.slot_stride;
}

void PutHeaderFields(const CacheHeader& h, uint32_t version, uint8_t* p) {
  std::memcpy(p, kMagic, 8);
  Put<uint32_t>(p + 8, version);
  Put<uint32_t>(p + 12, kCacheHeaderSize);
  std::memcpy(p + 16, h.volume_uuid.data(), 16);
  Put<uint32_t>(p + 32, h.block_size);
  Put<uint32_t>(p + 36, h.slot_stride);
  Put<uint64_t>(p + 40, h.slot_count);
  Put<uint64_t>(p + 48, h.record_count);
  Put<uint64_t>(p + 56, h.index_offset);
  Put<uint64_t>(p + 64, h.data_offset);
  Put<uint64_t>(p + 72, h.flushed_seq);
  Put<uint64_t>(p + 80, h.volume_size);
  Put<uint64_t>(p + 88, h.uploaded_below);
  std::memcpy(p + 96, h.writer_token.data(), 16);
  std::memcpy(p + 112, h.prev_writer_token.data(), 16);
}

void SealHeader(uint8_t* p) {
  Put<uint64_t>(p + kHeaderSumAt, XXH3_64bits_withSeed(p, kHeaderSumAt, kHeaderSeed));
}

bool HeaderSealed(const uint8_t* p) {
  return Get<uint64_t>(p + kHeaderSumAt) == XXH3_64bits_withSeed(p, kHeaderSumAt, kHeaderSeed);
}

void EncodeHeader(const CacheHeader& h, std::span<uint8_t, kCacheHeaderSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  PutHeaderFields(h, kCacheFormatVersion, p);
  SealHeader(p);
}

void GetHeaderFields(const uint8_t* p, CacheHeader* h) {
  *h = CacheHeader{};
  std::memcpy(h->volume_uuid.data(), p + 16, 16);
  h->block_size = Get<uint32_t>(p + 32);
  h->slot_stride = Get<uint32_t>(p + 36);
  h->slot_count = Get<uint64_t>(p + 40);
  h->record_count = Get<uint64_t>(p + 48);
  h->index_offset = Get<uint64_t>(p + 56);
  h->data_offset = Get<uint64_t>(p + 64);
  h->flushed_seq = Get<uint64_t>(p + 72);
  h->volume_size = Get<uint64_t>(p + 80);
  h->uploaded_below = Get<uint64_t>(p + 88);
  std::memcpy(h->writer_token.data(), p + 96, 16);
  std::memcpy(h->prev_writer_token.data(), p + 112, 16);
}

Status CheckHeaderGeometry(const CacheHeader& h) {
  if (h.block_size == 0 || h.slot_stride < h.block_size || h.slot_stride % kCacheAlign != 0 ||
      h.slot_count == 0 || h.record_count < h.slot_count ||
      h.index_offset != kCacheHeaderSize ||
      h.data_offset < h.index_offset + h.record_count * kCacheRecordSize ||
      h.data_offset % kCacheAlign != 0)
    return Status::Error(EINVAL, "header geometry is inconsistent");
  return Status::Ok();
}

Result<HeaderState> DecodeHeader(std::span<const uint8_t> in, CacheHeader* h) {
  if (in.size() < kCacheHeaderSize) return Status::Error(EINVAL, "header too short");
  const uint8_t* p = in.data();
  if (IsAllZero(in.first(kCacheHeaderSize))) return HeaderState::kEmpty;
  if (std::memcmp(p, kMagic, 8) != 0)
    return Status::Error(EINVAL, "not an s3nbd cache file (bad magic)");
  uint32_t version = Get<uint32_t>(p + 8);
  if (version > kCacheFormatVersion)  // EPROTONOSUPPORT: never discarded (discard-bad-cache)
    return Status::Error(EPROTONOSUPPORT, "unsupported cache format version " + std::to_string(version) +
                                     " (written by a newer s3nbd, which this one cannot read: "
                                     "use that s3nbd, or delete the file)");
  if (version < 1)
    return Status::Error(EINVAL, "unsupported cache format version " + std::to_string(version));
  const size_t sum_at = version >= 3 ? kHeaderSumAt : kHeaderSumAtV2;
  if (Get<uint64_t>(p + sum_at) != XXH3_64bits_withSeed(p, sum_at, kHeaderSeed))
    return Status::Error(EINVAL, "header checksum mismatch");
  GetHeaderFields(p, h);
  if (version < 3) {  // bytes 88..119 were reserved (zero) and 120 held the checksum
    h->uploaded_below = 0;
    h->writer_token = {};
    h->prev_writer_token = {};
  }
  if (Status g = CheckHeaderGeometry(*h); !g.ok()) return g;
  return HeaderState::kValid;
}

void EncodeRecord(const CacheRecord& r, std::span<uint8_t, kCacheRecordSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  Put<uint32_t>(p, kRecordMagic);
  p[4] = static_cast<uint8_t>(r.kind);
  p[5] = r.flags;
  Put<uint64_t>(p + 8, r.block);
  Put<uint64_t>(p + 16, r.seq);
  Put<uint64_t>(p + 24, r.epoch);
  Put<uint64_t>(p + 32, r.hash);
  Put<uint64_t>(p + kRecordSumAt, XXH3_64bits_withSeed(p, kRecordSumAt, kRecordSeed));
}

Status DecodeRecord(std::span<const uint8_t> in, CacheRecord* r) {
  return DecodeRecord(in, r, kRecordOpen);
}

Status DecodeRecord(std::span<const uint8_t> in, CacheRecord* r, uint8_t allowed_flags) {
  if (in.size() < kCacheRecordSize) return Status::Error(EINVAL, "record too short");
  const uint8_t* p = in.data();
  if (IsAllZero(in.first(kCacheRecordSize))) {
    *r = CacheRecord{};
    return Status::Ok();
  }
  if (Get<uint32_t>(p) != kRecordMagic) return Status::Error(EINVAL, "bad record magic");
  if (Get<uint64_t>(p + kRecordSumAt) != XXH3_64bits_withSeed(p, kRecordSumAt, kRecordSeed))
    return Status::Error(EINVAL, "record checksum mismatch");
  if (p[4] > static_cast<uint8_t>(RecordKind::kErase))
    return Status::Error(EINVAL, "bad record kind");
  if ((p[5] & ~allowed_flags) != 0 ||
      (p[5] != 0 && p[4] != static_cast<uint8_t>(RecordKind::kDirty)))
    return Status::Error(EINVAL, "bad record flags");
  r->kind = static_cast<RecordKind>(p[4]);
  r->block = Get<uint64_t>(p + 8);
  r->seq = Get<uint64_t>(p + 16);
  r->epoch = Get<uint64_t>(p + 24);
  r->hash = Get<uint64_t>(p + 32);
  r->flags = p[5];
  return Status::Ok();
}

std::string UuidString(const std::array<uint8_t, 16>& u) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < u.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += d[u[i] >> 4];
    s += d[u[i] & 15];
  }
  return s;
}

uint64_t BlockHash(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

}  // namespace s3nbd
