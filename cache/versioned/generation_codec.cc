// Block generation objects; see generation_codec.h and docs/format.md ("Block generation
// object"). Every check of the decoder is in the order the format page lists.
#include "cache/versioned/generation_codec.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cache/codec/zstd_frame.h"
#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'B'};
constexpr size_t kCovered = 88;  // header bytes 0-87: checksummed, and the AES-GCM associated data
constexpr uint8_t kKnownFlags = kFlagZstd | kFlagAesGcm;

std::string Hex16(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string Gen(uint64_t epoch, uint64_t gen) {
  return std::to_string(epoch) + "-" + std::to_string(gen);
}

Status Bad(const GenerationIdentity& id, uint64_t block, const std::string& why) {
  return Status::Error(EIO, "volume " + id.volume + "/block " + std::to_string(block) + ": " + why);
}

// XXH3-64 seeded with the block number over header bytes 0-87 and a body.
class Hasher {
 public:
  Hasher(const char* header, uint64_t block) {
    XXH3_INITSTATE(&state_);  // see block_codec.cc: reset_withSeed needs an initialised state
    XXH3_64bits_reset_withSeed(&state_, block);
    Update(header, kCovered);
  }
  void Update(const char* p, size_t n) { XXH3_64bits_update(&state_, p, n); }
  uint64_t Digest() { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

uint64_t Checksum(const char* header, std::string_view body, uint64_t block) {
  Hasher h(header, block);
  h.Update(body.data(), body.size());
  return h.Digest();
}

// Copies n bytes to dest and hashes them in chunks while they are in cache: one pass.
uint64_t CopyAndChecksum(const char* header, const char* src, size_t n, char* dest,
                         uint64_t block) {
  constexpr size_t kChunk = 64 * 1024;
  Hasher h(header, block);
  for (size_t done = 0; done < n; done += kChunk) {
    size_t k = std::min(kChunk, n - done);
    std::memcpy(dest + done, src + done, k);
    h.Update(dest + done, k);
  }
  return h.Digest();
}

thread_local std::string t_frame;  // an opened zstd frame of a sealed object

char* Room(std::string* s, size_t n) {
  if (s->size() < n) s->resize(n);
  return s->data();
}

Result<size_t> Encode(const GenerationIdentity& id, uint64_t block, uint64_t epoch, uint64_t gen,
                      std::string_view plaintext, const ObjectSalt* salt, std::string* buffer,
                      uint64_t* checksum) {
  const CodecIdentity& c = id.codec;
  if (plaintext.size() != c.block_size)
    return Status::Error(EINVAL, "volume " + id.volume + "/block " + std::to_string(block) +
                                     ": encode " + std::to_string(plaintext.size()) +
                                     " bytes, the block size is " + std::to_string(c.block_size));
  const size_t tag = c.key ? kGcmTagBytes : 0;
  const size_t room =
      c.zstd ? std::max(plaintext.size(), ZstdBound(plaintext.size())) : plaintext.size();
  char* h = Room(buffer, kGenerationHeaderBytes + room + tag);
  char* body = h + kGenerationHeaderBytes;
  uint8_t flags = c.key ? kFlagAesGcm : 0;
  size_t body_len = plaintext.size();
  if (c.zstd) {
    if (size_t n = ZstdCompressInto(plaintext, body, room, c.zstd_level)) {
      flags |= kFlagZstd;
      body_len = n;
    }
  }
  const size_t payload = body_len + tag;
  std::memset(h, 0, kGenerationHeaderBytes);
  std::memcpy(h, kMagic, 4);
  h[4] = static_cast<char>(kGenerationVersion);
  h[5] = static_cast<char>(flags);
  PutLE<uint16_t>(h + 6, kGenerationHeaderBytes);
  PutLE<uint64_t>(h + 8, block);
  PutLE<uint64_t>(h + 16, epoch);
  PutLE<uint64_t>(h + 24, gen);
  std::memcpy(h + 32, c.uuid.data(), 16);
  PutLE<uint32_t>(h + 48, static_cast<uint32_t>(payload));
  PutLE<uint32_t>(h + 52, static_cast<uint32_t>(plaintext.size()));
  uint64_t sum;
  if (!c.key) {
    sum = (flags & kFlagZstd) ? Checksum(h, plaintext, block)
                              : CopyAndChecksum(h, plaintext.data(), body_len, body, block);
  } else {
    ObjectSalt fresh;
    if (!salt) {
      auto s = NewObjectSalt();
      if (!s.ok())
        return s.status().Wrap("volume " + id.volume + "/block " + std::to_string(block));
      fresh = *s;
      salt = &fresh;
    }
    std::memcpy(h + 56, salt->data(), kObjectSaltBytes);
    auto sub = DeriveObjectSubkey(c.key->bytes, *salt, SubkeyLabel::kBlock);
    if (!sub.ok())
      return sub.status().Wrap("volume " + id.volume + "/block " + std::to_string(block));
    // A compressed frame is sealed in place (OpenSSL allows in == out).
    std::string_view clear = (flags & kFlagZstd) ? std::string_view(body, body_len) : plaintext;
    if (Status s = GcmSeal(sub->key, sub->nonce.data(), std::string_view(h, kCovered), clear, body);
        !s.ok())
      return s.Wrap("volume " + id.volume + "/block " + std::to_string(block));
    sum = Checksum(h, std::string_view(body, payload), block);
  }
  PutLE<uint64_t>(h + 88, sum);
  if (checksum) *checksum = sum;
  return kGenerationHeaderBytes + payload;
}

// The header checks, in the documented order, up to and including the expected checksum.
Status CheckHeader(const GenerationIdentity& id, const GenerationExpect& want,
                   std::string_view object, GenerationHeader* hd) {
  const CodecIdentity& c = id.codec;
  const uint64_t b = want.block;
  if (object.size() < kGenerationHeaderBytes)
    return Bad(id, b,
               "object is " + std::to_string(object.size()) +
                   " bytes, shorter than its 96-byte header (truncated)");
  const char* h = object.data();
  if (std::memcmp(h, kMagic, 4) != 0) return Bad(id, b, "not an s3nbd block object (bad magic)");
  if (static_cast<uint8_t>(h[4]) != kGenerationVersion)
    return Bad(id, b,
               "block object version " + std::to_string(static_cast<uint8_t>(h[4])) +
                   " where the manifest expects a version-2 generation");
  if (GetLE<uint16_t>(h + 6) != kGenerationHeaderBytes)
    return Bad(id, b,
               "bad header length " + std::to_string(GetLE<uint16_t>(h + 6)) + " (expected 96)");
  const uint8_t flags = static_cast<uint8_t>(h[5]);
  if (flags & ~kKnownFlags)
    return Bad(id, b, "unknown format: reserved flag bits " + std::to_string(flags) + " set");
  const uint8_t enabled = (c.zstd ? kFlagZstd : 0) | (c.key ? kFlagAesGcm : 0);
  if (flags & ~enabled)
    return Bad(id, b,
               "object uses codec flags " + std::to_string(flags) + " this volume does not enable");
  if (c.key && !(flags & kFlagAesGcm))
    return Bad(id, b, "object is not encrypted but the volume is (planted or foreign object)");
  *hd = *ReadGenerationHeader(object);
  if (hd->block != b)
    return Bad(id, b, "misplaced object: it holds block " + std::to_string(hd->block));
  if (hd->epoch != want.epoch || hd->gen != want.gen)
    return Bad(id, b,
               "replayed or misplaced object: holds generation " + Gen(hd->epoch, hd->gen) +
                   ", manifest expects " + Gen(want.epoch, want.gen));
  if (hd->uuid != c.uuid) return Bad(id, b, "object belongs to another volume (UUID differs)");
  if (hd->payload_len != object.size() - kGenerationHeaderBytes)
    return Bad(id, b,
               "object is truncated or padded: payload " +
                   std::to_string(object.size() - kGenerationHeaderBytes) + " bytes, header says " +
                   std::to_string(hd->payload_len));
  if (hd->plain_len != c.block_size)
    return Bad(id, b,
               "object holds " + std::to_string(hd->plain_len) + " bytes, volume block size is " +
                   std::to_string(c.block_size) + " (object of another block size)");
  if (!c.key && hd->salt != ObjectSalt{})
    return Bad(id, b, "unknown format: salt set on an unencrypted object");
  if (hd->checksum != want.checksum)
    return Bad(id, b,
               "stale or replaced object: checksum " + Hex16(hd->checksum) + ", manifest expects " +
                   Hex16(want.checksum));
  return Status::Ok();
}

const char* kCorrupted = "checksum mismatch (object corrupted)";

}  // namespace

Result<size_t> EncodeGenerationInto(const GenerationIdentity& id, uint64_t block, uint64_t epoch,
                                    uint64_t gen, std::string_view plaintext, std::string* buffer,
                                    uint64_t* checksum) {
  return Encode(id, block, epoch, gen, plaintext, nullptr, buffer, checksum);
}

Result<size_t> EncodeGenerationWithSaltForTest(const GenerationIdentity& id, uint64_t block,
                                               uint64_t epoch, uint64_t gen,
                                               std::string_view plaintext, const ObjectSalt& salt,
                                               std::string* buffer, uint64_t* checksum) {
  return Encode(id, block, epoch, gen, plaintext, &salt, buffer, checksum);
}

Result<GenerationHeader> ReadGenerationHeader(std::string_view object) {
  if (object.size() < kGenerationHeaderBytes || std::memcmp(object.data(), kMagic, 4) != 0 ||
      static_cast<uint8_t>(object[4]) != kGenerationVersion)
    return Status::Error(EIO,
                         "not a version-2 block generation object (short, bad magic or version)");
  const char* h = object.data();
  GenerationHeader hd;
  hd.flags = static_cast<uint8_t>(h[5]);
  hd.block = GetLE<uint64_t>(h + 8);
  hd.epoch = GetLE<uint64_t>(h + 16);
  hd.gen = GetLE<uint64_t>(h + 24);
  std::memcpy(hd.uuid.data(), h + 32, 16);
  hd.payload_len = GetLE<uint32_t>(h + 48);
  hd.plain_len = GetLE<uint32_t>(h + 52);
  std::memcpy(hd.salt.data(), h + 56, kObjectSaltBytes);
  hd.checksum = GetLE<uint64_t>(h + 88);
  return hd;
}

Status DecodeGenerationInto(const GenerationIdentity& id, const GenerationExpect& expect,
                            std::string_view object, std::span<char> dest) {
  const uint64_t b = expect.block;
  if (dest.size() != id.codec.block_size)
    return Status::Error(EINVAL, "volume " + id.volume + "/block " + std::to_string(b) +
                                     ": decode buffer of " + std::to_string(dest.size()) +
                                     " bytes for a block of " +
                                     std::to_string(id.codec.block_size));
  GenerationHeader hd;
  if (Status s = CheckHeader(id, expect, object, &hd); !s.ok()) return s;
  const char* h = object.data();
  const std::string_view payload = object.substr(kGenerationHeaderBytes);
  const bool sealed = hd.flags & kFlagAesGcm, zstd = hd.flags & kFlagZstd;
  std::string_view body = payload;
  if (sealed) {
    if (Checksum(h, payload, b) != hd.checksum) return Bad(id, b, kCorrupted);
    if (payload.size() < kGcmTagBytes)
      return Bad(id, b, "encrypted payload shorter than its tag (truncated)");
    auto sub = DeriveObjectSubkey(id.codec.key->bytes, hd.salt, SubkeyLabel::kBlock);
    if (!sub.ok()) return sub.status().Wrap("volume " + id.volume + "/block " + std::to_string(b));
    const size_t n = payload.size() - kGcmTagBytes;
    char* out = !zstd && n == dest.size() ? dest.data() : Room(&t_frame, n);
    if (!GcmOpen(sub->key, sub->nonce.data(), std::string_view(h, kCovered), payload, out))
      return Bad(id, b,
                 "authentication failed (AES-GCM): object altered, or sealed under another key");
    body = std::string_view(out, n);
  }
  Status result;
  if (zstd) {
    if (!ZstdDecompressInto(body, dest))
      result = Bad(
          id, b,
          "zstd payload does not decompress to exactly " + std::to_string(dest.size()) + " bytes");
    else if (!sealed && Checksum(h, std::string_view(dest.data(), dest.size()), b) != hd.checksum)
      result = Bad(id, b, kCorrupted);
  } else if (body.size() != dest.size()) {
    result = Bad(id, b, "payload length differs from plaintext length");
  } else if (!sealed &&
             CopyAndChecksum(h, body.data(), body.size(), dest.data(), b) != hd.checksum) {
    result = Bad(id, b, kCorrupted);
  }
  // Drop scratch that a hostile or odd object made much larger than a block.
  if (t_frame.capacity() > 2 * size_t{id.codec.block_size} + 65536) std::string().swap(t_frame);
  return result;
}

}  // namespace s3nbd
