// FsckCheck: the pure classification `s3nbd fsck` applies — of each key listed under a volume
// prefix (descriptor, lease, block, block beyond the volume, another volume's, orphan) and of
// each block object (valid, all-zero plaintext that should be absent, corrupt with the codec's
// cause). No state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/codec/block_codec.h"
#include "cache/s3/block_key.h"

namespace s3nbd::cli {

enum class KeyKind { kDescriptor, kLease, kBlock, kOutOfRange, kOtherVolume, kOrphan };

struct KeyClass {
  KeyKind kind = KeyKind::kOrphan;
  uint64_t block = 0;  // for kBlock and kOutOfRange
};

// The prefixes of the other volumes nested under keys.prefix(): for every listed key
// "X/volume.s3nbd" (X may be empty only for a volume at the bucket root) other than our own
// descriptor, "X/". Every key under one of them belongs to that volume, never to our orphans.
std::vector<std::string> OtherVolumePrefixes(const BlockKeys& keys, const std::vector<std::string>& listed);

// `key` is a full key listed under keys.prefix(); `others` from OtherVolumePrefixes. Our own
// descriptor, lease and block keys come first (no other volume writes keys of our shape); then
// keys under another volume's prefix are kOtherVolume; a block key of the other layout, a
// hashed key whose hash digits do not match, or anything else s3nbd does not write is an orphan.
KeyClass ClassifyKey(const BlockKeys& keys, std::string_view key, uint64_t block_count,
                     const std::vector<std::string>& others = {});

enum class ObjectState { kOk, kAllZero, kCorrupt };

struct ObjectCheck {
  ObjectState state = ObjectState::kOk;
  std::string cause;  // kCorrupt: the codec's message
};

// Decodes with DecodeBlock (so it follows the codec as it grows) and looks at the plaintext.
ObjectCheck CheckBlockObject(const CodecIdentity& id, uint64_t block, std::string_view object);

const char* KeyKindName(KeyKind kind);

}  // namespace s3nbd::cli
