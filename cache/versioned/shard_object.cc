// Manifest shard objects and garbage chunks; see shard_object.h and docs/format.md.
#include "cache/versioned/shard_object.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <optional>

#include "cache/codec/aes_gcm.h"
#include "cache/codec/zstd_frame.h"
#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'S'};
constexpr uint8_t kVersion = 1;

std::string Hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}
std::string Gen(uint64_t epoch, uint64_t gen) { return Hex16(epoch) + "-" + Hex16(gen); }

// "volume V: shard S" or "volume V: garbage chunk E-G".
std::string Name(const ManifestIdentity& id, uint64_t shard, uint64_t epoch, uint64_t gen) {
  return "volume " + id.volume + ": " +
         (shard == kGarbageChunkShard ? "garbage chunk " + Gen(epoch, gen) : "shard " + std::to_string(shard));
}

// XXH3-64 over header bytes 0-87 and a body, seeded with the shard index.
uint64_t Checksum(const char* header88, std::string_view body, uint64_t seed) {
  XXH3_state_t st;
  XXH3_INITSTATE(&st);  // see cache/codec/block_codec.cc: reset_withSeed needs it
  XXH3_64bits_reset_withSeed(&st, seed);
  XXH3_64bits_update(&st, header88, 88);
  XXH3_64bits_update(&st, body.data(), body.size());
  return XXH3_64bits_digest(&st);
}


// The zstd frame of plain if it is smaller, else nothing (stored plain).
std::optional<std::string> Compress(std::string_view plain, int level) {
  if (plain.empty()) return std::nullopt;
  std::string out(ZstdBound(plain.size()), '\0');
  size_t n = ZstdCompressInto(plain, out.data(), out.size(), level);
  if (n == 0) return std::nullopt;
  out.resize(n);
  return out;
}

// Decompresses exactly out.size() bytes; false for anything else.
bool Decompress(std::string_view frame, std::string* out) {
  return ZstdDecompressInto(frame, std::span<char>(out->data(), out->size()));
}

// The entries object around a plaintext of entries: header, payload (zstd if smaller, then
// sealed), checksum.
Result<std::string> EncodeObject(const ManifestIdentity& id, uint64_t shard, uint64_t epoch, uint64_t gen,
                                 std::string_view plain, const ObjectSalt& salt) {
  uint8_t flags = id.key ? kShardFlagAesGcm : 0;
  std::optional<std::string> frame = id.zstd ? Compress(plain, id.zstd_level) : std::nullopt;
  if (frame) flags |= kShardFlagZstd;
  std::string_view body = frame ? std::string_view(*frame) : plain;
  const size_t payload = body.size() + (id.key ? kGcmTagBytes : 0);
  std::string obj(kShardHeaderBytes + payload, '\0');
  char* h = obj.data();
  std::memcpy(h, kMagic, 4);
  h[4] = static_cast<char>(kVersion);
  h[5] = static_cast<char>(flags);
  PutLE<uint16_t>(h + 6, kShardHeaderBytes);
  PutLE<uint64_t>(h + 8, shard);
  PutLE<uint64_t>(h + 16, epoch);
  PutLE<uint64_t>(h + 24, gen);
  std::memcpy(h + 32, id.uuid.data(), 16);
  PutLE<uint32_t>(h + 48, static_cast<uint32_t>(payload));
  PutLE<uint32_t>(h + 52, static_cast<uint32_t>(plain.size()));
  if (id.key) std::memcpy(h + 56, salt.data(), salt.size());
  char* p = h + kShardHeaderBytes;
  if (!id.key) {
    std::memcpy(p, body.data(), body.size());
    PutLE<uint64_t>(h + 88, Checksum(h, plain, shard));
    return obj;
  }
  auto sub = DeriveObjectSubkey(id.key->bytes, salt, SubkeyLabel::kShard);
  if (!sub.ok()) return sub.status().Wrap(Name(id, shard, epoch, gen));
  if (Status s = GcmSeal(sub->key, sub->nonce.data(), std::string_view(h, 88), body, p); !s.ok())
    return s.Wrap(Name(id, shard, epoch, gen));
  PutLE<uint64_t>(h + 88, Checksum(h, std::string_view(p, payload), shard));
  return obj;
}

void EncodeShardEntry(const ShardEntry& e, char* p) {
  PutLE<uint32_t>(p, e.index);
  p[4] = static_cast<char>((e.present ? kShardEntryPresent : 0) | (e.legacy ? kShardEntryLegacy : 0));
  p[5] = 0;
  PutLE<uint16_t>(p + 6, e.source);
  PutLE<uint64_t>(p + 8, e.epoch);
  PutLE<uint64_t>(p + 16, e.gen);
  PutLE<uint64_t>(p + 24, e.checksum);
  PutLE<uint64_t>(p + 32, e.through);
  PutLE<uint64_t>(p + 40, e.born);
}

// One shard entry, checked against the shard (index range, order after `prev`, sources).
Status DecodeShardEntry(const ManifestIdentity& id, uint64_t shard, uint32_t max_source, const char* p,
                        const ShardEntry* prev, ShardEntry* e) {
  e->index = GetLE<uint32_t>(p);
  uint8_t flags = static_cast<uint8_t>(p[4]);
  e->present = flags & kShardEntryPresent;
  e->legacy = flags & kShardEntryLegacy;
  e->source = GetLE<uint16_t>(p + 6);
  e->epoch = GetLE<uint64_t>(p + 8);
  e->gen = GetLE<uint64_t>(p + 16);
  e->checksum = GetLE<uint64_t>(p + 24);
  e->through = GetLE<uint64_t>(p + 32);
  e->born = GetLE<uint64_t>(p + 40);
  auto bad = [&](const std::string& why) {
    return Status::Error(EIO, "entry for index " + std::to_string(e->index) + ": " + why);
  };
  if (prev && e->index <= prev->index) return bad("entries are not sorted strictly by index");
  if (e->index >= id.shard_blocks || shard * id.shard_blocks + e->index >= id.block_count())
    return bad("index is beyond the shard or the volume");
  if (flags & ~(kShardEntryPresent | kShardEntryLegacy) || p[5] != 0)
    return bad("unknown flags or reserved byte not zero");
  if (e->legacy && !e->present) return bad("LEGACY without PRESENT");
  if (!e->present && (e->epoch || e->gen || e->checksum)) return bad("ZERO entry with a generation");
  if (e->legacy && e->epoch != 0) return bad("LEGACY entry with an epoch");
  if (e->source >= max_source) return bad("source " + std::to_string(e->source) + " is not in the source table");
  return Status::Ok();
}

// The checks of the header of an entries object (docs/format.md, in the block generation
// object's order), then checksum, GCM and zstd: the plaintext of the entries.
Result<std::string> OpenObject(const ManifestIdentity& id, uint64_t shard, uint64_t epoch, uint64_t gen,
                               uint64_t checksum, uint64_t length, uint64_t plain_len, std::string_view obj) {
  const std::string what = Name(id, shard, epoch, gen);
  auto bad = [&](const std::string& why) { return Status::Error(EIO, what + ": " + why); };
  if (obj.size() < kShardHeaderBytes)
    return bad("object is " + std::to_string(obj.size()) + " bytes, shorter than its header (truncated)");
  const char* h = obj.data();
  if (std::memcmp(h, kMagic, 4) != 0) return bad("not a manifest shard object (bad magic)");
  if (static_cast<uint8_t>(h[4]) != kVersion)
    return bad("shard format version " + std::to_string(static_cast<uint8_t>(h[4])) + " is not supported");
  if (GetLE<uint16_t>(h + 6) != kShardHeaderBytes) return bad("bad header length");
  uint8_t flags = static_cast<uint8_t>(h[5]);
  uint8_t known = (id.zstd ? kShardFlagZstd : 0) | (id.key ? kShardFlagAesGcm : 0);
  if (flags & ~known) return bad("object uses flags " + std::to_string(flags) + " this volume does not enable");
  if (id.key && !(flags & kShardFlagAesGcm)) return bad("object is not encrypted but the volume is (planted or foreign object)");
  if (GetLE<uint64_t>(h + 8) != shard) return bad("misplaced object: it holds shard index " + std::to_string(GetLE<uint64_t>(h + 8)));
  uint64_t e = GetLE<uint64_t>(h + 16), g = GetLE<uint64_t>(h + 24);
  if (e != epoch || g != gen)
    return bad("replayed or misplaced object: holds generation " + Gen(e, g) + ", manifest expects " + Gen(epoch, gen));
  if (std::memcmp(h + 32, id.uuid.data(), 16) != 0) return bad("object of another volume (UUID)");
  if (GetLE<uint32_t>(h + 48) != obj.size() - kShardHeaderBytes)
    return bad("object is truncated or padded: payload " + std::to_string(obj.size() - kShardHeaderBytes) +
               " bytes, header says " + std::to_string(GetLE<uint32_t>(h + 48)));
  if (obj.size() != length)
    return bad("object is " + std::to_string(obj.size()) + " bytes, manifest expects " + std::to_string(length));
  if (GetLE<uint32_t>(h + 52) != plain_len)
    return bad("plaintext length " + std::to_string(GetLE<uint32_t>(h + 52)) + ", manifest expects " +
               std::to_string(plain_len));
  if (!id.key && !IsAllZero(h + 56, 32)) return bad("salt of an unencrypted object is not zero");
  uint64_t sum = GetLE<uint64_t>(h + 88);
  if (sum != checksum)
    return bad("stale or replaced object: checksum " + Hex16(sum) + ", manifest expects " + Hex16(checksum));
  std::string_view payload = obj.substr(kShardHeaderBytes);
  std::string body;
  if (flags & kShardFlagAesGcm) {
    if (payload.size() < kGcmTagBytes) return bad("encrypted payload shorter than its tag (truncated)");
    if (Checksum(h, payload, shard) != sum) return bad("checksum mismatch (object corrupted)");
    ObjectSalt salt;
    std::memcpy(salt.data(), h + 56, salt.size());
    auto sub = DeriveObjectSubkey(id.key->bytes, salt, SubkeyLabel::kShard);
    if (!sub.ok()) return sub.status().Wrap(what);
    body.resize(payload.size() - kGcmTagBytes);
    if (!GcmOpen(sub->key, sub->nonce.data(), std::string_view(h, 88), payload, body.data()))
      return bad("authentication failed (AES-GCM): object altered, or of another volume or key");
  } else {
    body.assign(payload);
  }
  if (flags & kShardFlagZstd) {
    std::string plain(plain_len, '\0');
    if (!Decompress(body, &plain))
      return bad("zstd payload does not decompress to exactly " + std::to_string(plain_len) + " bytes");
    body = std::move(plain);
  } else if (body.size() != plain_len) {
    return bad("payload length differs from plaintext length");
  }
  if (!(flags & kShardFlagAesGcm) && Checksum(h, body, shard) != sum) return bad("checksum mismatch (object corrupted)");
  return body;
}

}  // namespace

void EncodeGarbageEntry(const GarbageEntry& g, char* p) {
  std::memset(p, 0, kGarbageEntryBytes);
  p[0] = static_cast<char>(g.kind);
  PutLE<uint64_t>(p + 8, g.id);
  PutLE<uint64_t>(p + 16, g.epoch);
  PutLE<uint64_t>(p + 24, g.gen);
  PutLE<uint64_t>(p + 32, g.born);
  PutLE<uint64_t>(p + 40, g.dropped);
  PutLE<uint64_t>(p + 48, g.dropped_time_us);
}

Status DecodeGarbageEntry(const ManifestIdentity& id, std::string_view e, GarbageEntry* g) {
  const char* p = e.data();
  uint8_t kind = static_cast<uint8_t>(p[0]);
  g->kind = static_cast<GarbageKind>(kind);
  g->id = GetLE<uint64_t>(p + 8);
  g->epoch = GetLE<uint64_t>(p + 16);
  g->gen = GetLE<uint64_t>(p + 24);
  g->born = GetLE<uint64_t>(p + 32);
  g->dropped = GetLE<uint64_t>(p + 40);
  g->dropped_time_us = GetLE<uint64_t>(p + 48);
  auto bad = [&](const std::string& why) { return Status::Error(EIO, "garbage entry: " + why); };
  if (kind < 1 || kind > 4) return bad("unknown kind " + std::to_string(kind));
  if (p[1] != 0 || GetLE<uint32_t>(p + 4) != 0) return bad("reserved bytes are not zero");
  if (GetLE<uint16_t>(p + 2) != 0) return bad("source is not 0 (a volume deletes only its own objects)");
  switch (g->kind) {
    case GarbageKind::kGeneration:
    case GarbageKind::kLegacy:
      if (g->id >= id.block_count()) return bad("block " + std::to_string(g->id) + " is beyond the volume");
      if (g->kind == GarbageKind::kLegacy && g->epoch != 0) return bad("LEGACY object with an epoch");
      break;
    case GarbageKind::kShard:
      if (g->id >= id.shard_count()) return bad("shard " + std::to_string(g->id) + " is beyond the volume");
      break;
    case GarbageKind::kChunk:
      if (g->id != kGarbageChunkShard) return bad("garbage chunk entry with an index");
      break;
  }
  return Status::Ok();
}

Result<std::string> EncodeShardObjectWithSaltForTest(const ManifestIdentity& id, uint64_t shard, uint64_t epoch,
                                                     uint64_t gen, std::span<const ShardEntry> entries,
                                                     const ObjectSalt& salt, ShardRef* ref) {
  const std::string what = "building " + Name(id, shard, epoch, gen);
  if (shard >= id.shard_count()) return Status::Error(EINVAL, what + ": shard is beyond the volume");
  std::string plain(entries.size() * kShardEntryBytes, '\0');
  for (size_t i = 0; i < entries.size(); i++) {
    char* p = plain.data() + i * kShardEntryBytes;
    EncodeShardEntry(entries[i], p);
    ShardEntry back;
    if (Status s = DecodeShardEntry(id, shard, 65536, p, i ? &entries[i - 1] : nullptr, &back); !s.ok())
      return Status::Error(EINVAL, what + ": " + s.message());
  }
  auto obj = EncodeObject(id, shard, epoch, gen, plain, salt);
  if (obj.ok() && ref)
    *ref = ShardRef{shard, 0, static_cast<uint32_t>(entries.size()), epoch, gen,
                    GetLE<uint64_t>(obj->data() + 88), obj->size()};
  return obj;
}

Result<std::string> EncodeShardObject(const ManifestIdentity& id, uint64_t shard, uint64_t epoch, uint64_t gen,
                                      std::span<const ShardEntry> entries, ShardRef* ref) {
  ObjectSalt salt{};
  if (id.key) {
    auto fresh = NewObjectSalt();
    if (!fresh.ok()) return fresh.status().Wrap("building " + Name(id, shard, epoch, gen));
    salt = *fresh;
  }
  return EncodeShardObjectWithSaltForTest(id, shard, epoch, gen, entries, salt, ref);
}

Result<std::string> EncodeGarbageChunk(const ManifestIdentity& id, uint64_t epoch, uint64_t gen,
                                       std::span<const GarbageEntry> entries, GarbageChunkRef* ref) {
  const std::string what = "building " + Name(id, kGarbageChunkShard, epoch, gen);
  if (entries.empty() || entries.size() > kMaxGarbageChunkEntries)
    return Status::Error(EINVAL, what + ": a garbage chunk holds 1 to 65536 entries, not " +
                                     std::to_string(entries.size()));
  std::string plain(entries.size() * kGarbageEntryBytes, '\0');
  for (size_t i = 0; i < entries.size(); i++) {
    char* p = plain.data() + i * kGarbageEntryBytes;
    EncodeGarbageEntry(entries[i], p);
    GarbageEntry back;
    if (Status s = DecodeGarbageEntry(id, std::string_view(p, kGarbageEntryBytes), &back); !s.ok())
      return Status::Error(EINVAL, what + ": " + s.message());
  }
  ObjectSalt salt{};
  if (id.key) {
    auto fresh = NewObjectSalt();
    if (!fresh.ok()) return fresh.status().Wrap(what);
    salt = *fresh;
  }
  auto obj = EncodeObject(id, kGarbageChunkShard, epoch, gen, plain, salt);
  if (obj.ok() && ref)
    *ref = GarbageChunkRef{epoch, gen, GetLE<uint64_t>(obj->data() + 88), obj->size(),
                           static_cast<uint32_t>(entries.size())};
  return obj;
}

Result<std::vector<ShardEntry>> DecodeShardObject(const ManifestIdentity& id, const ShardRef& expect,
                                                  uint32_t source_count, std::string_view object) {
  const std::string what = Name(id, expect.shard, expect.epoch, expect.gen);
  if (expect.entries > id.shard_blocks)
    return Status::Error(EIO, what + ": manifest expects " + std::to_string(expect.entries) +
                                  " entries, more than the shard's " + std::to_string(id.shard_blocks) + " blocks");
  auto plain = OpenObject(id, expect.shard, expect.epoch, expect.gen, expect.checksum, expect.length,
                          uint64_t{expect.entries} * kShardEntryBytes, object);
  if (!plain.ok()) return plain.status();
  std::vector<ShardEntry> out(expect.entries);
  const uint32_t max_source = source_count > expect.source ? source_count - expect.source : 0;
  for (size_t i = 0; i < out.size(); i++) {
    if (Status s = DecodeShardEntry(id, expect.shard, max_source, plain->data() + i * kShardEntryBytes,
                                    i ? &out[i - 1] : nullptr, &out[i]);
        !s.ok())
      return s.Wrap(what);
  }
  return out;
}

Result<std::vector<GarbageEntry>> DecodeGarbageChunk(const ManifestIdentity& id, const GarbageChunkRef& expect,
                                                     std::string_view object) {
  const std::string what = Name(id, kGarbageChunkShard, expect.epoch, expect.gen);
  if (expect.entries == 0 || expect.entries > kMaxGarbageChunkEntries)
    return Status::Error(EIO, what + ": manifest expects " + std::to_string(expect.entries) +
                                  " entries, a chunk holds 1 to 65536");
  auto plain = OpenObject(id, kGarbageChunkShard, expect.epoch, expect.gen, expect.checksum, expect.length,
                          uint64_t{expect.entries} * kGarbageEntryBytes, object);
  if (!plain.ok()) return plain.status();
  std::vector<GarbageEntry> out(expect.entries);
  for (size_t i = 0; i < out.size(); i++) {
    if (Status s = DecodeGarbageEntry(id, std::string_view(plain->data() + i * kGarbageEntryBytes, kGarbageEntryBytes),
                                      &out[i]);
        !s.ok())
      return s.Wrap(what);
  }
  return out;
}

}  // namespace s3nbd
