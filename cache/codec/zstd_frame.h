// One zstd frame per object body (block objects, block generations, manifest shards), with a
// compression and a decompression context per thread, reused across calls. Thread-safe: each
// thread uses only its own contexts.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace s3nbd {

// The room a frame of n bytes may need (ZSTD_compressBound).
size_t ZstdBound(size_t n);
// Compresses plaintext into dst (capacity >= ZstdBound(plaintext.size())) at `level` (<= 0:
// zstd's default); the frame's length if it is smaller than plaintext, 0 otherwise (the body
// is then stored raw).
size_t ZstdCompressInto(std::string_view plaintext, char* dst, size_t capacity, int level);
// Decompresses exactly out.size() bytes; false for anything else (never writes beyond).
bool ZstdDecompressInto(std::string_view frame, std::span<char> out);

}  // namespace s3nbd
