// BlockCodec; see block_codec.h and docs/format.md ("Block object").
#include "cache/block_codec.h"

// Inlined XXH3 (SSE2 code compiled here), not libxxhash's runtime dispatch: in nbdkit's process
// the library's AVX-512 variant returned wrong, run-to-run varying hashes of 1 MiB blocks on our
// 2-core VMs (every read of some blocks failed with "checksum mismatch"); same values, by spec.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>


namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'B'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKnownFlags = 0;  // v1 writes and reads only plain payloads

void Put16(char* p, uint16_t v) { for (int i = 0; i < 2; i++) p[i] = static_cast<char>(v >> (8 * i)); }
void Put32(char* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i)); }
void Put64(char* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = static_cast<char>(v >> (8 * i)); }
uint64_t GetLE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t VolumeTag(const CodecIdentity& id) {
  return GetLE(reinterpret_cast<const char*>(id.uuid.data()), 8);
}

// XXH3-64 over the first 40 header bytes and the plaintext, seeded with the block number.
uint64_t Checksum(std::string_view header40, std::string_view plaintext, uint64_t block) {
  XXH3_state_t state{};  // zeroed: keeps -Wmaybe-uninitialized quiet with the inlined reset
  XXH3_64bits_reset_withSeed(&state, block);
  XXH3_64bits_update(&state, header40.data(), header40.size());
  XXH3_64bits_update(&state, plaintext.data(), plaintext.size());
  return XXH3_64bits_digest(&state);
}

Status Corrupt(uint64_t block, const std::string& why) {
  return Status::Error(EIO, "block " + std::to_string(block) + ": " + why);
}

}  // namespace

std::string EncodeBlock(const CodecIdentity& id, uint64_t block, std::string_view plaintext) {
  std::string out(kBlockHeaderBytes + plaintext.size(), '\0');
  char* h = out.data();
  std::memcpy(h, kMagic, 4);
  h[4] = static_cast<char>(kVersion);
  h[5] = 0;
  Put16(h + 6, kBlockHeaderBytes);
  Put64(h + 8, block);
  Put64(h + 16, 0);
  Put64(h + 24, VolumeTag(id));
  Put32(h + 32, static_cast<uint32_t>(plaintext.size()));
  Put32(h + 36, static_cast<uint32_t>(plaintext.size()));
  std::memcpy(h + kBlockHeaderBytes, plaintext.data(), plaintext.size());
  Put64(h + 40, Checksum(std::string_view(h, 40), plaintext, block));
  return out;
}

Status DecodeBlock(const CodecIdentity& id, uint64_t block, std::string_view object,
                   std::string* plaintext) {
  if (object.size() < kBlockHeaderBytes)
    return Corrupt(block, "object is " + std::to_string(object.size()) + " bytes, shorter than its header (truncated)");
  const char* h = object.data();
  if (std::memcmp(h, kMagic, 4) != 0) return Corrupt(block, "not an s3nbd block object (bad magic)");
  if (static_cast<uint8_t>(h[4]) != kVersion)
    return Corrupt(block, "block format version " + std::to_string(static_cast<uint8_t>(h[4])) + " is not supported");
  uint8_t flags = static_cast<uint8_t>(h[5]);
  uint64_t header_len = GetLE(h + 6, 2);
  if (header_len < kBlockHeaderBytes || header_len > object.size())
    return Corrupt(block, "bad header length " + std::to_string(header_len));
  if (flags & ~kKnownFlags)
    return Corrupt(block, "object uses codec flags " + std::to_string(flags) + " this volume does not enable");
  uint64_t stored_block = GetLE(h + 8, 8);
  if (stored_block != block)
    return Corrupt(block, "misplaced object: it holds block " + std::to_string(stored_block));
  if (GetLE(h + 24, 8) != VolumeTag(id)) return Corrupt(block, "object belongs to another volume");
  uint64_t payload_len = GetLE(h + 32, 4);
  if (payload_len != object.size() - header_len)
    return Corrupt(block, "object is truncated or padded: payload " + std::to_string(object.size() - header_len) +
                              " bytes, header says " + std::to_string(payload_len));
  uint64_t plain_len = GetLE(h + 36, 4);
  if (plain_len != id.block_size)
    return Corrupt(block, "object holds " + std::to_string(plain_len) + " bytes, volume block size is " +
                              std::to_string(id.block_size) + " (object of another block size)");
  if (payload_len != plain_len) return Corrupt(block, "payload length differs from plaintext length");
  std::string_view payload = object.substr(header_len);
  if (Checksum(object.substr(0, 40), payload, block) != GetLE(h + 40, 8))
    return Corrupt(block, "checksum mismatch (object corrupted)");
  plaintext->assign(payload);
  return Status::Ok();
}

Status BlockCodec::Read(uint64_t block, std::string* data) {
  std::string object;
  if (Status s = inner_->Read(block, &object); !s.ok()) return s;
  return DecodeBlock(id_, block, object, data);
}

Status BlockCodec::Write(uint64_t block, std::string_view data) {
  return inner_->Write(block, EncodeBlock(id_, block, data));
}

}  // namespace s3nbd
