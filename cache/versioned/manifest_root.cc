// The manifest root; see manifest_root.h and docs/format.md ("Manifest root").
#include "cache/versioned/manifest_root.h"

#include <cstring>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'M'};
constexpr uint8_t kVersion = 1;
constexpr size_t kSourceFixed = 20, kShardRefBytes = 48, kMarkerBytes = 16, kChunkRefBytes = 40;

void EncodeShardRef(const ShardRef& r, char* p) {
  PutLE<uint64_t>(p, r.shard);
  PutLE<uint16_t>(p + 8, r.source);
  PutLE<uint16_t>(p + 10, 0);
  PutLE<uint32_t>(p + 12, r.entries);
  PutLE<uint64_t>(p + 16, r.epoch);
  PutLE<uint64_t>(p + 24, r.gen);
  PutLE<uint64_t>(p + 32, r.checksum);
  PutLE<uint64_t>(p + 40, r.length);
}

void EncodeChunkRef(const GarbageChunkRef& r, char* p) {
  PutLE<uint64_t>(p, r.epoch);
  PutLE<uint64_t>(p + 8, r.gen);
  PutLE<uint64_t>(p + 16, r.checksum);
  PutLE<uint64_t>(p + 24, r.length);
  PutLE<uint32_t>(p + 32, r.entries);
  PutLE<uint32_t>(p + 36, 0);
}

std::string Encode(const ManifestRoot& r) {
  std::string out(kRootFixedBytes, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 4);
  p[4] = static_cast<char>(kVersion);
  PutLE<uint16_t>(p + 6, kRootFixedBytes);
  PutLE<uint64_t>(p + 8, r.checkpoint);
  PutLE<uint64_t>(p + 16, r.epoch);
  PutLE<uint64_t>(p + 24, r.max_epoch);
  PutLE<uint64_t>(p + 32, r.log_start);
  PutLE<uint64_t>(p + 40, r.fold_point);
  PutLE<uint64_t>(p + 48, r.volume_size);
  PutLE<uint32_t>(p + 56, r.block_size);
  PutLE<uint32_t>(p + 60, r.shard_blocks);
  PutLE<uint32_t>(p + 64, static_cast<uint32_t>(r.shards.size()));
  PutLE<uint32_t>(p + 68, static_cast<uint32_t>(r.garbage.size()));
  PutLE<uint32_t>(p + 72, static_cast<uint32_t>(r.garbage_chunks.size()));
  PutLE<uint32_t>(p + 76, static_cast<uint32_t>(r.sources.size()));
  PutLE<uint32_t>(p + 80, static_cast<uint32_t>(r.epoch_markers.size()));
  PutLE<uint64_t>(p + 88, r.trim_from);
  PutLE<uint64_t>(p + 96, r.trim_to);
  PutLE<uint64_t>(p + 104, r.prev_checkpoint_lsn);
  PutLE<uint64_t>(p + 112, r.time_us);
  PutLE<uint64_t>(p + 120, r.log_start_epoch);
  PutLE<uint64_t>(p + 128, r.log_start_prev);
  for (const SourceEntry& s : r.sources) {
    char f[kSourceFixed] = {};
    std::memcpy(f, s.uuid.data(), 16);
    f[16] = static_cast<char>(s.key_layout);
    PutLE<uint16_t>(f + 18, static_cast<uint16_t>(s.prefix.size()));
    out.append(f, kSourceFixed);
    out.append(s.prefix);
  }
  auto append = [&](size_t n, auto&& fill) {
    size_t at = out.size();
    out.resize(at + n);
    fill(out.data() + at);
  };
  for (const ShardRef& s : r.shards) append(kShardRefBytes, [&](char* q) { EncodeShardRef(s, q); });
  for (const EpochMarker& m : r.epoch_markers)
    append(kMarkerBytes, [&](char* q) {
      PutLE<uint64_t>(q, m.lsn);
      PutLE<uint64_t>(q + 8, m.epoch);
    });
  for (const GarbageChunkRef& c : r.garbage_chunks) append(kChunkRefBytes, [&](char* q) { EncodeChunkRef(c, q); });
  for (const GarbageEntry& g : r.garbage) append(kGarbageEntryBytes, [&](char* q) { EncodeGarbageEntry(g, q); });
  return out;
}

// A cursor over the tables after the fixed part (callers check left() before Take).
class Tables {
 public:
  Tables(std::string_view body, size_t pos) : body_(body), pos_(pos) {}
  size_t left() const { return body_.size() - pos_; }
  const char* Take(size_t n) {
    const char* p = body_.data() + pos_;
    pos_ += n;
    return p;
  }

 private:
  std::string_view body_;
  size_t pos_;
};

}  // namespace

Result<std::string> EncodeManifestRoot(const ManifestIdentity& id, const ManifestRoot& root) {
  if (root.sources.size() > 0xffffffffu || root.shards.size() > 0xffffffffu)
    return Status::Error(EINVAL, "building the manifest root: too many entries");
  std::string body = Encode(root);
  // The decoder's rules are the encoder's: a root that would not decode is never written.
  auto back = DecodeManifestRoot(id, 0, body);
  if (!back.ok()) return Status::Error(EINVAL, "building " + back.status().message());
  return body;
}

Result<ManifestRoot> DecodeManifestRoot(const ManifestIdentity& id, uint64_t lsn, std::string_view body) {
  const std::string what = "volume " + id.volume + ": log segment " + std::to_string(lsn) + ": manifest root";
  auto bad = [&](const std::string& why) { return Status::Error(EIO, what + ": " + why); };
  if (body.size() < kRootFixedBytes)
    return bad("body is " + std::to_string(body.size()) + " bytes, shorter than the fixed part");
  const char* p = body.data();
  if (std::memcmp(p, kMagic, 4) != 0) return bad("not a manifest root (bad magic)");
  if (static_cast<uint8_t>(p[4]) != kVersion)
    return bad("manifest version " + std::to_string(static_cast<uint8_t>(p[4])) + " is not supported");
  if (p[5] != 0) return bad("unknown flags");
  if (GetLE<uint16_t>(p + 6) != kRootFixedBytes) return bad("bad fixed part length");
  if (GetLE<uint32_t>(p + 84) != 0 || GetLE<uint64_t>(p + 136) != 0) return bad("reserved fields are not zero");
  ManifestRoot r;
  r.checkpoint = GetLE<uint64_t>(p + 8);
  r.epoch = GetLE<uint64_t>(p + 16);
  r.max_epoch = GetLE<uint64_t>(p + 24);
  r.log_start = GetLE<uint64_t>(p + 32);
  r.fold_point = GetLE<uint64_t>(p + 40);
  r.volume_size = GetLE<uint64_t>(p + 48);
  r.block_size = GetLE<uint32_t>(p + 56);
  r.shard_blocks = GetLE<uint32_t>(p + 60);
  const uint64_t S = GetLE<uint32_t>(p + 64), G = GetLE<uint32_t>(p + 68), C = GetLE<uint32_t>(p + 72),
                 V = GetLE<uint32_t>(p + 76), M = GetLE<uint32_t>(p + 80);
  r.trim_from = GetLE<uint64_t>(p + 88);
  r.trim_to = GetLE<uint64_t>(p + 96);
  r.prev_checkpoint_lsn = GetLE<uint64_t>(p + 104);
  r.time_us = GetLE<uint64_t>(p + 112);
  r.log_start_epoch = GetLE<uint64_t>(p + 120);
  r.log_start_prev = GetLE<uint64_t>(p + 128);
  if (r.volume_size != id.volume_size || r.block_size != id.block_size || r.shard_blocks != id.shard_blocks)
    return bad("describes a volume of " + std::to_string(r.volume_size) + " bytes, block size " +
               std::to_string(r.block_size) + ", shard blocks " + std::to_string(r.shard_blocks) +
               "; the descriptor says " + std::to_string(id.volume_size) + ", " + std::to_string(id.block_size) +
               ", " + std::to_string(id.shard_blocks));
  if (r.checkpoint == 0) return bad("checkpoint number 0");
  if ((r.checkpoint == 1) != (r.prev_checkpoint_lsn == ~uint64_t{0}))
    return bad("checkpoint " + std::to_string(r.checkpoint) + " and its previous checkpoint's LSN disagree");
  if (r.epoch == 0 || r.epoch > r.max_epoch) return bad("epoch " + std::to_string(r.epoch) + " is not in 1..max epoch");
  if (r.trim_from > r.trim_to || r.trim_to > r.log_start) return bad("trim range is not below log start");
  if (G > kMaxInlineGarbage) return bad(std::to_string(G) + " inline garbage entries, at most 4096");
  if (V == 0) return bad("empty source table");
  if (S > id.shard_count()) return bad(std::to_string(S) + " shard entries, the volume has " + std::to_string(id.shard_count()) + " shards");
  // Every count against the bytes left, before anything is allocated.
  Tables t(body, kRootFixedBytes);
  if (V > t.left() / kSourceFixed) return bad("source table runs past the body");
  r.sources.resize(V);
  for (uint64_t i = 0; i < V; i++) {
    if (t.left() < kSourceFixed) return bad("source table runs past the body");
    const char* s = t.Take(kSourceFixed);
    SourceEntry& e = r.sources[i];
    std::memcpy(e.uuid.data(), s, 16);
    e.key_layout = static_cast<uint8_t>(s[16]);
    size_t n = GetLE<uint16_t>(s + 18);
    if (e.key_layout > 1 || s[17] != 0) return bad("source " + std::to_string(i) + ": unknown key layout or reserved byte");
    if (n > t.left()) return bad("source " + std::to_string(i) + ": prefix runs past the body");
    e.prefix.assign(t.Take(n), n);
    if (i == 0 && (n != 0 || e.uuid != id.uuid)) return bad("source 0 is not this volume");
  }
  const uint64_t rest = S * kShardRefBytes + M * kMarkerBytes + C * kChunkRefBytes + G * kGarbageEntryBytes;
  if (rest != t.left())
    return bad("tables take " + std::to_string(rest) + " bytes after the sources, the body has " + std::to_string(t.left()));
  r.shards.resize(S);
  for (uint64_t i = 0; i < S; i++) {
    const char* s = t.Take(kShardRefBytes);
    ShardRef& e = r.shards[i];
    e = ShardRef{GetLE<uint64_t>(s), GetLE<uint16_t>(s + 8), GetLE<uint32_t>(s + 12), GetLE<uint64_t>(s + 16),
                 GetLE<uint64_t>(s + 24), GetLE<uint64_t>(s + 32), GetLE<uint64_t>(s + 40)};
    const std::string at = "shard table entry " + std::to_string(i) + ": ";
    if (i > 0 && e.shard <= r.shards[i - 1].shard) return bad(at + "shard indexes are not strictly increasing");
    if (e.shard >= id.shard_count()) return bad(at + "shard " + std::to_string(e.shard) + " is beyond the volume");
    if (e.source >= V) return bad(at + "source " + std::to_string(e.source) + " is not in the source table");
    if (GetLE<uint16_t>(s + 10) != 0) return bad(at + "reserved field is not zero");
    if (e.entries > id.shard_blocks) return bad(at + "more entries than the shard has blocks");
    if (e.length < kShardHeaderBytes) return bad(at + "object length is shorter than a header");
  }
  r.epoch_markers.resize(M);
  for (uint64_t i = 0; i < M; i++) {
    const char* s = t.Take(kMarkerBytes);
    EpochMarker& m = r.epoch_markers[i];
    m = EpochMarker{GetLE<uint64_t>(s), GetLE<uint64_t>(s + 8)};
    const std::string at = "epoch marker " + std::to_string(i) + ": ";
    if (i > 0 && (m.lsn <= r.epoch_markers[i - 1].lsn || m.epoch <= r.epoch_markers[i - 1].epoch))
      return bad(at + "LSNs and epochs are not strictly increasing");
    if (m.epoch == 0 || m.epoch > r.max_epoch) return bad(at + "epoch " + std::to_string(m.epoch) + " is not in 1..max epoch");
  }
  r.garbage_chunks.resize(C);
  for (uint64_t i = 0; i < C; i++) {
    const char* s = t.Take(kChunkRefBytes);
    GarbageChunkRef& c = r.garbage_chunks[i];
    c = GarbageChunkRef{GetLE<uint64_t>(s), GetLE<uint64_t>(s + 8), GetLE<uint64_t>(s + 16), GetLE<uint64_t>(s + 24),
                        GetLE<uint32_t>(s + 32)};
    const std::string at = "garbage chunk entry " + std::to_string(i) + ": ";
    if (GetLE<uint32_t>(s + 36) != 0) return bad(at + "reserved field is not zero");
    if (c.entries == 0 || c.entries > kMaxGarbageChunkEntries) return bad(at + "entry count is not in 1..65536");
    if (c.length < kShardHeaderBytes) return bad(at + "object length is shorter than a header");
  }
  r.garbage.resize(G);
  for (uint64_t i = 0; i < G; i++) {
    if (Status s = DecodeGarbageEntry(id, std::string_view(t.Take(kGarbageEntryBytes), kGarbageEntryBytes), &r.garbage[i]);
        !s.ok())
      return bad("inline " + s.message() + " (entry " + std::to_string(i) + ")");
  }
  return r;
}

}  // namespace s3nbd
