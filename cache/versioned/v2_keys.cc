// V2Keys; see v2_keys.h and docs/format.md (the key table).
#include "cache/versioned/v2_keys.h"

#include <cstdio>
#include <optional>

namespace s3nbd {
namespace {

constexpr size_t kHex64 = 16, kHex32 = 8, kMaxSnapshotName = 128;
constexpr size_t kEpochGen = 2 * kHex64 + 1;  // "<16 hex>-<16 hex>"

std::string Hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

std::string EpochGen(uint64_t epoch, uint64_t gen) {
  return Hex(epoch, kHex64) + "-" + Hex(gen, kHex64);
}

// Exactly `digits` lowercase hex digits.
std::optional<uint64_t> ParseHex(std::string_view s, size_t digits) {
  if (s.size() != digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

bool ParseEpochGen(std::string_view s, V2Key* k) {
  if (s.size() != kEpochGen || s[kHex64] != '-') return false;
  auto e = ParseHex(s.substr(0, kHex64), kHex64), g = ParseHex(s.substr(kHex64 + 1), kHex64);
  if (!e || !g) return false;
  k->epoch = *e;
  k->gen = *g;
  return true;
}

bool Consume(std::string_view* s, std::string_view head) {
  if (s->substr(0, head.size()) != head) return false;
  s->remove_prefix(head.size());
  return true;
}

}  // namespace

const char* V2KeyKindName(V2KeyKind kind) {
  switch (kind) {
    case V2KeyKind::kDescriptor:
      return "descriptor";
    case V2KeyKind::kLease:
      return "writer lease";
    case V2KeyKind::kWriterToken:
      return "writer token";
    case V2KeyKind::kLogSegment:
      return "log segment";
    case V2KeyKind::kCheckpointPointer:
      return "checkpoint pointer";
    case V2KeyKind::kBlockGeneration:
      return "block generation";
    case V2KeyKind::kLegacyBlock:
      return "legacy block";
    case V2KeyKind::kShard:
      return "manifest shard";
    case V2KeyKind::kGarbageChunk:
      return "garbage chunk";
    case V2KeyKind::kSnapshot:
      return "snapshot pin";
  }
  return "?";
}

Status ValidateSnapshotName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::Error(
        EINVAL, "snapshot name '" + std::string(name.substr(0, kMaxSnapshotName)) + "' " + why);
  };
  if (name.empty() || name.size() > kMaxSnapshotName) return bad("must be 1 to 128 characters");
  if (name[0] == '.' || name[0] == '-') return bad("must not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return Status::Error(EINVAL, "snapshot name: only A-Z a-z 0-9 . _ - are allowed");
  }
  return Status::Ok();
}

std::string V2Keys::LogSegment(uint64_t lsn) const { return prefix_ + "l/" + Hex(lsn, kHex64); }

std::string V2Keys::CheckpointPointer(uint64_t lsn) const {
  return prefix_ + "m/" + Hex(lsn, kHex64);
}

std::string V2Keys::BlockGeneration(uint64_t block, uint64_t epoch, uint64_t gen) const {
  return v1_.BlockKey(block) + "/" + EpochGen(epoch, gen);
}

std::string V2Keys::Shard(uint32_t shard, uint64_t epoch, uint64_t gen) const {
  return prefix_ + "s/" + Hex(shard, kHex32) + "/" + EpochGen(epoch, gen);
}

std::string V2Keys::GarbageChunk(uint64_t epoch, uint64_t gen) const {
  return prefix_ + "s/g/" + EpochGen(epoch, gen);
}

Result<V2Key> V2Keys::Parse(std::string_view key) const {
  const Status foreign = Status::Error(EINVAL, "not an s3nbd version-2 key of this volume: '" +
                                                   std::string(key.substr(0, 1100)) + "'");
  std::string_view rest = key;
  if (!Consume(&rest, prefix_)) return foreign;
  V2Key k;
  if (rest == "volume.s3nbd" || rest == "lease.s3nbd" || rest == "writer.s3nbd") {
    k.kind = rest[0] == 'v'   ? V2KeyKind::kDescriptor
             : rest[0] == 'l' ? V2KeyKind::kLease
                              : V2KeyKind::kWriterToken;
    return k;
  }
  if (Consume(&rest, "l/") || Consume(&rest, "m/")) {
    auto lsn = ParseHex(rest, kHex64);
    if (!lsn) return foreign;
    k.kind = key[prefix_.size()] == 'l' ? V2KeyKind::kLogSegment : V2KeyKind::kCheckpointPointer;
    k.lsn = *lsn;
    return k;
  }
  if (Consume(&rest, "snap/")) {
    if (!ValidateSnapshotName(rest).ok()) return foreign;
    k.kind = V2KeyKind::kSnapshot;
    k.snapshot = rest;
    return k;
  }
  if (Consume(&rest, "s/")) {
    if (Consume(&rest, "g/")) {
      if (!ParseEpochGen(rest, &k)) return foreign;
      k.kind = V2KeyKind::kGarbageChunk;
      return k;
    }
    auto shard = ParseHex(rest.substr(0, kHex32), kHex32);
    if (!shard || rest.size() != kHex32 + 1 + kEpochGen || rest[kHex32] != '/' ||
        !ParseEpochGen(rest.substr(kHex32 + 1), &k))
      return foreign;
    k.kind = V2KeyKind::kShard;
    k.shard = static_cast<uint32_t>(*shard);
    return k;
  }
  // A block key of this layout (v1's parse checks the hashed digits), maybe with /E-G.
  std::string_view block_key = key;
  if (key.size() > kEpochGen + 1 && key[key.size() - kEpochGen - 1] == '/' &&
      ParseEpochGen(key.substr(key.size() - kEpochGen), &k)) {
    block_key = key.substr(0, key.size() - kEpochGen - 1);
    k.kind = V2KeyKind::kBlockGeneration;
  } else {
    k.kind = V2KeyKind::kLegacyBlock;
  }
  auto block = v1_.ParseBlockKey(block_key);
  if (!block) return foreign;
  k.block = *block;
  return k;
}

}  // namespace s3nbd
