// VolumeDescriptor: the volume.s3nbd object (format in docs/format.md): what a volume is
// (uuid, size, block size, key layout, codec choices). Plain value; parsing is strict and
// safe on hostile input (it is a fuzz target).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/block_key.h"
#include "cache/status.h"

namespace s3nbd {

constexpr uint32_t kMinBlockSize = 4096;
constexpr uint32_t kMaxBlockSize = 8u << 20;
constexpr size_t kMaxDescriptorBytes = 64 << 10;

struct VolumeDescriptor {
  std::array<uint8_t, 16> uuid{};
  uint64_t size = 0;
  uint32_t block_size = 0;
  KeyLayout key_layout = KeyLayout::kFlat;
  std::string compression = "none";
  std::string encryption = "none";
  std::string created;  // ISO 8601 UTC, informational

  uint64_t block_count() const { return (size + block_size - 1) / block_size; }
  std::string UuidString() const;
};

// Checks block size and volume size rules; messages name the value.
Status ValidateGeometry(uint64_t size, uint64_t block_size);

// A fresh descriptor with a random UUID and the current time.
Result<VolumeDescriptor> NewDescriptor(uint64_t size, uint32_t block_size, KeyLayout layout);

std::string EncodeDescriptor(const VolumeDescriptor& d);
Result<VolumeDescriptor> DecodeDescriptor(std::string_view text);

}  // namespace s3nbd
