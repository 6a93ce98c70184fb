// BlockCodec; see block_codec.h and docs/format.md ("Block object").
#include "cache/codec/block_codec.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "cache/codec/zstd_frame.h"
#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'B'};
constexpr uint8_t kVersion = 1;
constexpr size_t kSealOverhead = kGcmNonceBytes + kGcmTagBytes;

uint64_t VolumeTag(const CodecIdentity& id) {
  return GetLE<uint64_t>(id.uuid.data());
}

// The object checksum: XXH3-64 over the first 40 header bytes and a body, seeded with the
// block number. The body is the plaintext of a plain object and the stored payload of an
// encrypted one (a checksum of the plaintext would let anyone test guesses of it).
class Hasher {
 public:
  Hasher(std::string_view header40, uint64_t block) {
    // Required: reset_withSeed skips deriving its secret when the garbage seed field on the
    // stack happens to equal `seed` (found by the fuzzer: sporadic false checksum mismatches).
    XXH3_INITSTATE(&state_);
    XXH3_64bits_reset_withSeed(&state_, block);
    Update(header40.data(), header40.size());
  }
  void Update(const char* p, size_t n) { XXH3_64bits_update(&state_, p, n); }
  uint64_t Digest() { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

uint64_t Checksum(std::string_view header40, std::string_view body, uint64_t block) {
  Hasher h(header40, block);
  h.Update(body.data(), body.size());
  return h.Digest();
}

// Copies n bytes from src to dest and returns the checksum of header40 + those bytes as they
// now are in dest. Chunked so each piece is hashed while still in cache from the copy: one
// pass over memory instead of two.
uint64_t CopyAndChecksum(std::string_view header40, const char* src, size_t n, char* dest,
                         uint64_t block) {
  constexpr size_t kChunk = 64 * 1024;
  Hasher h(header40, block);
  for (size_t done = 0; done < n; done += kChunk) {
    size_t k = std::min(kChunk, n - done);
    std::memcpy(dest + done, src + done, k);
    h.Update(dest + done, k);
  }
  return h.Digest();
}

// AES-GCM associated data: header bytes 0-39 (block number, generation, lengths, flags)
// and the full volume UUID, so an object moved to another block or volume fails to open.
std::string AssociatedData(const CodecIdentity& id, std::string_view header40) {
  std::string ad(header40);
  ad.append(reinterpret_cast<const char*>(id.uuid.data()), id.uuid.size());
  return ad;
}

Status Corrupt(uint64_t block, const std::string& why) {
  return Status::Error(EIO, "block " + std::to_string(block) + ": " + why);
}

// Per-thread scratch, reused so that decoding costs no allocation: t_frame holds the opened
// zstd frame of an encrypted object, t_plain the plaintext of a partially read block that
// cannot be verified in place, t_object the object BlockCodec reads or writes.
thread_local std::string t_frame, t_plain, t_object;

// At least n bytes of *s, growing it (zero-filled once) but never shrinking it.
char* Room(std::string* s, size_t n) {
  if (s->size() < n) s->resize(n);
  return s->data();
}

// Drops a scratch buffer that a hostile or odd object made much larger than a block.
void KeepSmall(std::string* s, uint32_t block_size) {
  if (s->capacity() > 2 * size_t{block_size} + 65536) std::string().swap(*s);
}

// The header fields DecodeBlock checks before it looks at the payload.
struct ObjectView {
  uint8_t flags = 0;
  std::string_view header40, payload;
  uint64_t sum = 0, generation = 0;
};

Status ParseObject(const CodecIdentity& id, uint64_t block, std::string_view object,
                   ObjectView* v) {
  if (object.size() < kBlockHeaderBytes)
    return Corrupt(block, "object is " + std::to_string(object.size()) + " bytes, shorter than its header (truncated)");
  const char* h = object.data();
  if (std::memcmp(h, kMagic, 4) != 0) return Corrupt(block, "not an s3nbd block object (bad magic)");
  if (static_cast<uint8_t>(h[4]) != kVersion)
    return Corrupt(block, "block format version " + std::to_string(static_cast<uint8_t>(h[4])) + " is not supported");
  uint8_t flags = static_cast<uint8_t>(h[5]);
  uint64_t header_len = GetLE<uint16_t>(h + 6);
  if (header_len < kBlockHeaderBytes || header_len > object.size())
    return Corrupt(block, "bad header length " + std::to_string(header_len));
  uint8_t known = (id.zstd ? kFlagZstd : 0) | (id.key ? kFlagAesGcm : 0);
  if (flags & ~known)
    return Corrupt(block, "object uses codec flags " + std::to_string(flags) + " this volume does not enable");
  if (id.key && !(flags & kFlagAesGcm))
    return Corrupt(block, "object is not encrypted but the volume is (planted or foreign object)");
  uint64_t stored_block = GetLE<uint64_t>(h + 8);
  if (stored_block != block)
    return Corrupt(block, "misplaced object: it holds block " + std::to_string(stored_block));
  if (GetLE<uint64_t>(h + 24) != VolumeTag(id)) return Corrupt(block, "object belongs to another volume");
  uint64_t payload_len = GetLE<uint32_t>(h + 32);
  if (payload_len != object.size() - header_len)
    return Corrupt(block, "object is truncated or padded: payload " + std::to_string(object.size() - header_len) +
                              " bytes, header says " + std::to_string(payload_len));
  uint64_t plain_len = GetLE<uint32_t>(h + 36);
  if (plain_len != id.block_size)
    return Corrupt(block, "object holds " + std::to_string(plain_len) + " bytes, volume block size is " +
                              std::to_string(id.block_size) + " (object of another block size)");
  *v = ObjectView{flags, object.substr(0, 40), object.substr(header_len), GetLE<uint64_t>(h + 40),
                  GetLE<uint64_t>(h + 16)};
  return Status::Ok();
}

// Checks and decodes a parsed object's payload into dest (id.block_size bytes). Plain and
// encrypted-only payloads land in dest directly; only an encrypted zstd frame passes
// through t_frame. The checks and their order are DecodeBlock's.
Status DecodePayload(const CodecIdentity& id, uint64_t block, const ObjectView& v,
                     std::span<char> dest) {
  const bool sealed = v.flags & kFlagAesGcm, zstd = v.flags & kFlagZstd;
  std::string_view body = v.payload;  // the (maybe compressed) plaintext, once opened
  if (sealed) {
    if (v.payload.size() < kSealOverhead)
      return Corrupt(block, "encrypted payload shorter than nonce and tag (truncated)");
    if (Checksum(v.header40, v.payload, block) != v.sum)
      return Corrupt(block, "checksum mismatch (object corrupted)");
    size_t n = v.payload.size() - kSealOverhead;
    char* out = !zstd && n == dest.size() ? dest.data() : Room(&t_frame, n);
    if (!GcmOpen(id.key->bytes, reinterpret_cast<const uint8_t*>(v.payload.data()),
                 AssociatedData(id, v.header40), v.payload.substr(kGcmNonceBytes), out))
      return Corrupt(block, "authentication failed (AES-GCM): object altered, or copied from another block or volume");
    body = std::string_view(out, n);
  }
  if (zstd) {
    if (!ZstdDecompressInto(body, dest))
      return Corrupt(block, "zstd payload does not decompress to exactly " + std::to_string(id.block_size) + " bytes");
    if (!sealed && Checksum(v.header40, std::string_view(dest.data(), dest.size()), block) != v.sum)
      return Corrupt(block, "checksum mismatch (object corrupted)");
    return Status::Ok();
  }
  if (body.size() != dest.size())
    return Corrupt(block, "payload length differs from plaintext length");
  if (!sealed && CopyAndChecksum(v.header40, body.data(), body.size(), dest.data(), block) != v.sum)
    return Corrupt(block, "checksum mismatch (object corrupted)");
  return Status::Ok();  // sealed: GcmOpen wrote and authenticated dest
}

}  // namespace

uint64_t NextGeneration() {
  static std::atomic<uint64_t> last{0};
  uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  uint64_t prev = last.load(std::memory_order_relaxed), next;
  do {
    next = std::max(prev + 1, now);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return next;
}

Result<size_t> EncodeBlockInto(const CodecIdentity& id, uint64_t block, std::string_view plaintext,
                               uint64_t generation, std::string* buffer) {
  const size_t seal = id.key ? kSealOverhead : 0;
  const size_t room =
      id.zstd ? std::max(plaintext.size(), ZstdBound(plaintext.size())) : plaintext.size();
  char* h = Room(buffer, kBlockHeaderBytes + room + seal);
  char* p = h + kBlockHeaderBytes;  // payload: [nonce] body [tag]
  char* body = p + (id.key ? kGcmNonceBytes : 0);
  uint8_t flags = id.key ? kFlagAesGcm : 0;
  size_t body_len = plaintext.size();
  if (id.zstd) {
    if (size_t n = ZstdCompressInto(plaintext, body, room, id.zstd_level)) {
      flags |= kFlagZstd;
      body_len = n;
    }
  }
  const size_t payload = body_len + seal;
  std::memcpy(h, kMagic, 4);
  h[4] = static_cast<char>(kVersion);
  h[5] = static_cast<char>(flags);
  PutLE<uint16_t>(h + 6, kBlockHeaderBytes);
  PutLE<uint64_t>(h + 8, block);
  PutLE<uint64_t>(h + 16, generation);
  PutLE<uint64_t>(h + 24, VolumeTag(id));
  PutLE<uint32_t>(h + 32, static_cast<uint32_t>(payload));
  PutLE<uint32_t>(h + 36, static_cast<uint32_t>(plaintext.size()));
  std::string_view header40(h, 40);
  if (!id.key) {
    PutLE<uint64_t>(h + 40, (flags & kFlagZstd)
                      ? Checksum(header40, plaintext, block)
                      : CopyAndChecksum(header40, plaintext.data(), body_len, body, block));
    return kBlockHeaderBytes + payload;
  }
  if (Status s = RandomBytes(p, kGcmNonceBytes); !s.ok())
    return s.Wrap("block " + std::to_string(block));
  // A compressed frame is sealed in place (OpenSSL allows in == out); raw plaintext is read
  // from the caller's buffer.
  std::string_view clear = (flags & kFlagZstd) ? std::string_view(body, body_len) : plaintext;
  if (Status s = GcmSeal(id.key->bytes, reinterpret_cast<const uint8_t*>(p),
                         AssociatedData(id, header40), clear, body);
      !s.ok())
    return s.Wrap("block " + std::to_string(block));
  PutLE<uint64_t>(h + 40, Checksum(header40, std::string_view(p, payload), block));
  return kBlockHeaderBytes + payload;
}

Result<std::string> EncodeBlock(const CodecIdentity& id, uint64_t block, std::string_view plaintext,
                                uint64_t generation) {
  std::string out;
  Result<size_t> n = EncodeBlockInto(id, block, plaintext, generation, &out);
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

Status DecodeBlock(const CodecIdentity& id, uint64_t block, std::string_view object,
                   std::string* plaintext, uint64_t* generation) {
  ObjectView v;
  if (Status s = ParseObject(id, block, object, &v); !s.ok()) return s;
  std::string plain(id.block_size, '\0');
  Status s = DecodePayload(id, block, v, plain);
  KeepSmall(&t_frame, id.block_size);
  if (!s.ok()) return s;
  if (generation) *generation = v.generation;
  *plaintext = std::move(plain);
  return Status::Ok();
}

Status DecodeBlockInto(const CodecIdentity& id, uint64_t block, std::string_view object,
                       std::span<char> dest, uint64_t* generation) {
  if (dest.size() != id.block_size)
    return Status::Error(EINVAL, "block " + std::to_string(block) + ": decode buffer of " +
                                     std::to_string(dest.size()) + " bytes for a block of " +
                                     std::to_string(id.block_size));
  ObjectView v;
  if (Status s = ParseObject(id, block, object, &v); !s.ok()) return s;
  Status s = DecodePayload(id, block, v, dest);
  KeepSmall(&t_frame, id.block_size);
  if (s.ok() && generation) *generation = v.generation;
  return s;
}

Status DecodeBlockRange(const CodecIdentity& id, uint64_t block, std::string_view object,
                        uint32_t offset, uint32_t len, char* dest) {
  if (uint64_t{offset} + len > id.block_size)
    return Status::Error(EINVAL, "block " + std::to_string(block) + ": range " +
                                     std::to_string(offset) + "+" + std::to_string(len) +
                                     " beyond the block size " + std::to_string(id.block_size));
  if (offset == 0 && len == id.block_size)
    return DecodeBlockInto(id, block, object, std::span<char>(dest, len));
  ObjectView v;
  if (Status s = ParseObject(id, block, object, &v); !s.ok()) return s;
  if (v.flags == 0 && v.payload.size() == id.block_size) {
    if (Checksum(v.header40, v.payload, block) != v.sum)
      return Corrupt(block, "checksum mismatch (object corrupted)");
    std::memcpy(dest, v.payload.data() + offset, len);
    return Status::Ok();
  }
  char* plain = Room(&t_plain, id.block_size);
  Status s = DecodePayload(id, block, v, std::span<char>(plain, id.block_size));
  if (s.ok()) std::memcpy(dest, plain + offset, len);
  KeepSmall(&t_frame, id.block_size);
  KeepSmall(&t_plain, id.block_size);
  return s;
}

Status BlockCodec::Read(uint64_t block, std::string* data) {
  Status s = inner()->Read(block, &t_object);
  if (s.ok()) s = DecodeBlock(id_, block, t_object, data);
  KeepSmall(&t_object, id_.block_size);
  return s;
}

Status BlockCodec::ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) {
  Status s = inner()->Read(block, &t_object);
  if (s.ok()) s = DecodeBlockRange(id_, block, t_object, offset, len, dest);
  KeepSmall(&t_object, id_.block_size);
  return s;
}

Status BlockCodec::Write(uint64_t block, std::string_view data) {
  Result<size_t> n = EncodeBlockInto(id_, block, data, NextGeneration(), &t_object);
  Status s = n.ok() ? inner()->Write(block, std::string_view(t_object.data(), *n)) : n.status();
  KeepSmall(&t_object, id_.block_size);
  return s;
}

}  // namespace s3nbd
