// PresentMapFile: saves the ZeroElidingStore's present map next to the local cache at a clean
// shutdown and loads it at the next open, so a warm open of a large volume needs no listing.
// Valid only if no other writer opened the volume in between: every writable open stores a
// fresh random token in the object P + "writer.s3nbd"; the map file records its session's
// token and is used only when the bucket still holds that token. The file is deleted as soon
// as it is loaded, so a crash later forces a listing. Format: docs/cache-format.md. Stateless.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cache/util/status.h"

namespace s3nbd {

struct PresentMapImage {
  std::array<uint8_t, 16> volume_uuid{};
  std::string writer_token;      // 32 hex digits
  uint64_t block_count = 0;
  std::vector<uint64_t> words;   // bit b of words[b / 64] = block b present
};

std::string EncodePresentMap(const PresentMapImage& image);
Result<PresentMapImage> DecodePresentMap(std::string_view bytes);

// Writes atomically (temporary file, fsync, rename, fsync of the directory).
Status SavePresentMap(const std::string& path, const PresentMapImage& image);
// ENOENT if there is no file. The file is removed (durably) before returning success.
Result<PresentMapImage> TakePresentMap(const std::string& path);

// A fresh random writer token (32 hex digits).
std::string NewWriterToken();

}  // namespace s3nbd
