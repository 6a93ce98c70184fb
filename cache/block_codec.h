// BlockCodec: the layer that turns a block's plaintext into a self-describing object
// (48-byte header + payload, docs/format.md) and checks every object it reads: magic,
// block number, volume tag, lengths, XXH3 checksum. Stateless apart from the inner
// store pointer; safe for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/block_store.h"

namespace s3nbd {

constexpr size_t kBlockHeaderBytes = 48;

struct CodecIdentity {
  std::array<uint8_t, 16> uuid{};
  uint32_t block_size = 0;
};

// Pure functions (unit tests, fuzz target).
std::string EncodeBlock(const CodecIdentity& id, uint64_t block, std::string_view plaintext);
// On failure: EIO with "block N: <which check failed>".
Status DecodeBlock(const CodecIdentity& id, uint64_t block, std::string_view object,
                   std::string* plaintext);

class BlockCodec : public BlockStore {
 public:
  BlockCodec(CodecIdentity id, std::unique_ptr<BlockStore> inner)
      : id_(std::move(id)), inner_(std::move(inner)) {}

  Status Read(uint64_t block, std::string* data) override;
  Status Write(uint64_t block, std::string_view data) override;
  Status Erase(std::span<const uint64_t> blocks) override { return inner_->Erase(blocks); }
  Status Flush() override { return inner_->Flush(); }
  Status List(const std::function<void(uint64_t)>& fn) override { return inner_->List(fn); }
  BlockPresence Probe(uint64_t block) override { return inner_->Probe(block); }

 private:
  CodecIdentity id_;
  std::unique_ptr<BlockStore> inner_;
};

}  // namespace s3nbd
