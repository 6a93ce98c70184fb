// The block generation object (block object format version 2, docs/format.md "Block
// generation object"): one immutable object per (block, epoch, gen), a 96-byte header that
// binds volume UUID, block, epoch, gen and salt, then the block (plain, zstd, or sealed with
// a per-object subkey). The decoder checks it against what the manifest expects, in the
// documented order. Pure functions; per-thread zstd contexts and scratch only: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cache/codec/block_codec.h"
#include "cache/versioned/object_subkey.h"

namespace s3nbd {

constexpr size_t kGenerationHeaderBytes = 96;
constexpr uint8_t kGenerationVersion = 2;

// The volume as the codec needs it: codec.uuid (all 16 bytes are bound), codec.block_size,
// codec.zstd/zstd_level, codec.key (set: encrypted, every object sealed). volume names the
// volume in messages ("volume NAME/block N: cause").
struct GenerationIdentity {
  CodecIdentity codec;
  std::string volume;
};

// What the manifest entry (or the BLOCK record) says the object must be.
struct GenerationExpect {
  uint64_t block = 0;
  uint64_t epoch = 0;
  uint64_t gen = 0;
  uint64_t checksum = 0;  // the header checksum field the writer recorded
};

// The header fields, as stored (fsck, upgrade): no check beyond length, magic and version.
struct GenerationHeader {
  uint8_t flags = 0;
  uint64_t block = 0, epoch = 0, gen = 0;
  std::array<uint8_t, 16> uuid{};
  uint32_t payload_len = 0, plain_len = 0;
  ObjectSalt salt{};
  uint64_t checksum = 0;
};

// Encodes plaintext (exactly codec.block_size bytes) into *buffer (reused: grown, never
// shrunk; bytes past the object are scratch). Returns the object's length; *checksum gets the
// header checksum field, which the manifest records as the expected checksum. Encrypted
// volumes draw a fresh salt.
Result<size_t> EncodeGenerationInto(const GenerationIdentity& id, uint64_t block, uint64_t epoch,
                                    uint64_t gen, std::string_view plaintext, std::string* buffer,
                                    uint64_t* checksum);

// For checked-in samples and tests ONLY: seals with the given salt. A repeated salt repeats
// key and nonce; real writes use EncodeGenerationInto.
Result<size_t> EncodeGenerationWithSaltForTest(const GenerationIdentity& id, uint64_t block,
                                               uint64_t epoch, uint64_t gen,
                                               std::string_view plaintext, const ObjectSalt& salt,
                                               std::string* buffer, uint64_t* checksum);

// Checks object against id and expect and decodes it into dest (codec.block_size bytes): the
// plaintext of a plain object is copied and checked in one pass, a sealed one opened straight
// into dest. On failure EIO "volume V/block N: <cause>" (the causes of docs/format.md) and
// dest holds unspecified bytes the caller must not use.
Status DecodeGenerationInto(const GenerationIdentity& id, const GenerationExpect& expect,
                            std::string_view object, std::span<char> dest);

// The stored header of object; EIO if shorter than the header, bad magic or not version 2.
Result<GenerationHeader> ReadGenerationHeader(std::string_view object);

}  // namespace s3nbd
