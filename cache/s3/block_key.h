// BlockKeys: the mapping between block numbers and S3 object keys under a volume prefix
// (flat: P b/<16 hex>; hashed: P h/<4 hex>/<16 hex>), documented in docs/format.md.
// Immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

enum class KeyLayout { kFlat, kHashed };

Result<KeyLayout> ParseKeyLayout(std::string_view name);
const char* KeyLayoutName(KeyLayout layout);

// Normalises a user prefix: "" stays "", "vol1" and "vol1/" become "vol1/". Leading '/' is
// refused (S3 keys do not start with one in s3nbd volumes).
Result<std::string> NormalizePrefix(std::string_view prefix);

class BlockKeys {
 public:
  BlockKeys(std::string normalized_prefix, KeyLayout layout)
      : prefix_(std::move(normalized_prefix)), layout_(layout) {}

  std::string BlockKey(uint64_t block) const;
  // The prefix under which every block object lives (for ListObjectsV2).
  std::string BlockListPrefix() const;
  // Parses a listed key; nullopt if it is not a well-formed block key of this layout.
  std::optional<uint64_t> ParseBlockKey(std::string_view key) const;

  std::string DescriptorKey() const { return prefix_ + "volume.s3nbd"; }
  std::string LeaseKey() const { return prefix_ + "lease.s3nbd"; }
  std::string WriterKey() const { return prefix_ + "writer.s3nbd"; }
  const std::string& prefix() const { return prefix_; }
  KeyLayout layout() const { return layout_; }

 private:
  std::string prefix_;
  KeyLayout layout_;
};

}  // namespace s3nbd
