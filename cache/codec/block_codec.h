// BlockCodec: the layer that turns a block's plaintext into a self-describing object
// (48-byte header + payload, docs/format.md) and checks every object it reads: magic,
// block number, volume tag, lengths, checksum, and for encrypted volumes AES-256-GCM
// authentication bound to volume UUID + block + header. Optional zstd compression.
// No mutable state apart from per-thread zstd contexts and scratch buffers (one object
// buffer per thread that reads or writes, about block_size + 48 bytes, kept for reuse so a
// 1 MiB block costs no allocation or page faults); safe for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cache/codec/volume_key.h"
#include "cache/forwarding_store.h"

namespace s3nbd {

constexpr size_t kBlockHeaderBytes = 48;
constexpr uint8_t kFlagZstd = 1;
constexpr uint8_t kFlagAesGcm = 2;

struct CodecIdentity {
  std::array<uint8_t, 16> uuid{};
  uint32_t block_size = 0;
  bool zstd = false;                    // volume uses zstd: objects may carry the zstd flag
  int zstd_level = 0;                   // level for writing (0: zstd's default, 3)
  std::shared_ptr<const DataKey> key;   // set: encrypted volume; every object must be encrypted
};

// The next write generation of this process: strictly increasing, seeded from the clock in
// microseconds, so a later write of a block normally carries a larger number than an
// earlier one even across restarts (a reader with a cache uses it to detect replay).
uint64_t NextGeneration();

// Pure functions (unit tests, fuzz target). generation is stored in the header as given.
Result<std::string> EncodeBlock(const CodecIdentity& id, uint64_t block, std::string_view plaintext,
                                uint64_t generation = 0);
// Like EncodeBlock, but into *buffer, whose memory is reused (grown when too small, never
// shrunk, so a buffer of the right size is not zero-filled again). The object is the first
// <returned> bytes of *buffer; bytes beyond are scratch.
Result<size_t> EncodeBlockInto(const CodecIdentity& id, uint64_t block, std::string_view plaintext,
                               uint64_t generation, std::string* buffer);
// On failure: EIO with "block N: <which check failed>"; *plaintext is then untouched.
// *generation (optional) receives the header's write generation.
Status DecodeBlock(const CodecIdentity& id, uint64_t block, std::string_view object,
                   std::string* plaintext, uint64_t* generation = nullptr);
// Decodes straight into dest, which must be id.block_size bytes: the same checks and the same
// EIO messages as DecodeBlock. On failure dest holds unspecified bytes (possibly unverified
// ones) that the caller must not use; on success every byte of dest is verified.
Status DecodeBlockInto(const CodecIdentity& id, uint64_t block, std::string_view object,
                       std::span<char> dest, uint64_t* generation = nullptr);
// Bytes [offset, offset + len) of the block's plaintext into dest, after the same checks of
// the whole object (a plain object is verified where it lies and only the range is copied).
// A range beyond the block is EINVAL. On failure dest is as for DecodeBlockInto.
Status DecodeBlockRange(const CodecIdentity& id, uint64_t block, std::string_view object,
                        uint32_t offset, uint32_t len, char* dest);

class BlockCodec : public ForwardingStore {
 public:
  BlockCodec(CodecIdentity id, std::unique_ptr<BlockStore> inner)
      : ForwardingStore(std::move(inner)), id_(std::move(id)) {}

  Status Read(uint64_t block, std::string* data) override;
  // Decodes into dest without an intermediate plaintext copy (see DecodeBlockRange).
  Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) override;
  Status Write(uint64_t block, std::string_view data) override;
  // Read, patch, Write through the codec (the object below is encoded: it cannot be patched).
  Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) override {
    return ReadPatchWrite(block, offset, len, src);
  }

 private:
  CodecIdentity id_;
};

}  // namespace s3nbd
