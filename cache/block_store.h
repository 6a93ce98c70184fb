// BlockStore: the one small interface every storage layer implements and wraps.
// The stack (assembled only in cache/volume/volume_factory.cc), bottom to top:
//   S3BlockStore (one object per block) -> BlockCodec (header, checksum, later zstd/AES)
//   -> ZeroElidingStore (present map, zeros never stored) -> [cache layer] -> Volume.
// Every method may be called concurrently from many threads for DIFFERENT blocks; callers
// (Volume) serialise writers of the SAME block with a per-block lock. Implementations
// document their own locking.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

enum class BlockPresence { kUnknown, kAbsent, kPresent };

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // Reads block `block` into *data (resized to its length). Layers below zero elision
  // return ENOENT for an absent block; ZeroElidingStore and layers above never do: an
  // absent block reads as block_size zero bytes.
  virtual Status Read(uint64_t block, std::string* data) = 0;

  // Reads bytes [offset, offset + len) of block `block` into dest. The default reads the
  // whole block; the local cache serves a hit with just those bytes.
  virtual Status ReadRange(uint64_t block, uint32_t offset, uint32_t len, char* dest) {
    return ReadRangeByRead(block, offset, len, dest);
  }

  // Stores `data` as block `block`. Above the codec, data.size() is the block size.
  virtual Status Write(uint64_t block, std::string_view data) = 0;

  // Overwrites bytes [offset, offset + len) of block `block` with src, or with zeros when src
  // is null. Callers serialise writers of the same block. The default reads the whole block,
  // patches it and writes it back; the local cache writes a cached block in place.
  virtual Status WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) {
    return ReadPatchWrite(block, offset, len, src);
  }

  // Copies src (zeros when null) over bytes [offset, offset + len) of a block read into
  // *data; EIO when the read was shorter than that.
  static Status PatchBlock(uint64_t block, std::string* data, uint32_t offset, uint32_t len,
                           const char* src) {
    if (data->size() < uint64_t{offset} + len)
      return Status::Error(EIO, "block " + std::to_string(block) + ": read " + std::to_string(data->size()) +
                                    " bytes, shorter than the block");
    if (src) std::memcpy(data->data() + offset, src, len);
    else std::memset(data->data() + offset, 0, len);
    return Status::Ok();
  }

  // Makes the given blocks absent (they then read as zeros). Absent ones are fine.
  virtual Status Erase(std::span<const uint64_t> blocks) = 0;

  // Makes everything acknowledged so far durable according to the layer's policy.
  virtual Status Flush() = 0;

  // Calls fn for every present block, in no particular order.
  virtual Status List(const std::function<void(uint64_t block)>& fn) = 0;

  // Presence of a block when known without I/O.
  virtual BlockPresence Probe(uint64_t /*block*/) { return BlockPresence::kUnknown; }

  // Read-ahead hint: the caller expects to read these blocks soon. Layers that can fetch in
  // the background (the local cache) do; the default ignores it. Never blocks on I/O.
  virtual void Prefetch(std::span<const uint64_t> /*blocks*/) {}

 protected:
  // The defaults of ReadRange and WriteRange in terms of this layer's own Read and Write:
  // a layer that transforms block content (the codec, zero elision) uses them, because
  // forwarding a range to the layer below would bypass the transformation.
  Status ReadRangeByRead(uint64_t block, uint32_t offset, uint32_t len, char* dest) {
    std::string data;
    if (Status s = Read(block, &data); !s.ok()) return s;
    if (data.size() < uint64_t{offset} + len)
      return Status::Error(EIO, "block " + std::to_string(block) + ": read " + std::to_string(data.size()) +
                                    " bytes, shorter than the block");
    std::memcpy(dest, data.data() + offset, len);
    return Status::Ok();
  }
  Status ReadPatchWrite(uint64_t block, uint32_t offset, uint32_t len, const char* src) {
    std::string data;
    if (Status s = Read(block, &data); !s.ok()) return s;
    if (Status s = PatchBlock(block, &data, offset, len, src); !s.ok()) return s;
    return Write(block, data);
  }
};

}  // namespace s3nbd
