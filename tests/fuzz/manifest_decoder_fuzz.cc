// libFuzzer target: the manifest decoders on hostile objects (root, shard object, garbage
// chunk, checkpoint pointer) for plain, encrypted and zstd volumes (the identity and key of
// tests/unit/versioned/samples/). A refusal is EIO; whatever decodes must re-encode to exactly
// the same bytes (the encodings are canonical, so no byte is ever ignored).
// Corpus: tests/fuzz/corpus/manifest_decoder/ (mode byte + a sample). make check-fuzz.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cache/util/coding.h"
#include "cache/versioned/checkpoint_pointer.h"
#include "cache/versioned/manifest_root.h"
#include "cache/versioned/shard_object.h"

namespace {

using namespace s3nbd;

ManifestIdentity Id(bool encrypted, bool zstd) {
  static const auto key = [] {
    auto k = std::make_shared<DataKey>();
    for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }();
  ManifestIdentity id;
  id.volume = "fuzz";
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(0x10 + i);
  id.block_size = 4096;
  id.volume_size = 8193ull * 4096;
  id.shard_blocks = 4096;
  id.zstd = zstd;
  if (encrypted) id.key = key;
  return id;
}

void Root(const ManifestIdentity& id, std::string_view in) {
  auto r = DecodeManifestRoot(id, 7, in);
  if (!r.ok()) {
    if (r.status().err() != EIO) abort();
    return;
  }
  auto back = EncodeManifestRoot(id, *r);
  if (!back.ok() || *back != in) abort();
}

// Expectations read from the object's own header, so the decoder gets past its first checks.
void Entries(const ManifestIdentity& id, std::string_view in, bool chunk, uint32_t sources) {
  if (in.size() < kShardHeaderBytes) return;
  const char* h = in.data();
  uint64_t shard = GetLE<uint64_t>(h + 8), epoch = GetLE<uint64_t>(h + 16), gen = GetLE<uint64_t>(h + 24);
  uint64_t sum = GetLE<uint64_t>(h + 88);
  uint32_t plain = GetLE<uint32_t>(h + 52);
  // A zstd frame has other encodings, and a zstd volume's encoder compresses what it can.
  const bool canonical = (h[5] & kShardFlagZstd) == 0 && !id.zstd;
  ObjectSalt salt;
  std::memcpy(salt.data(), h + 56, salt.size());
  if (chunk) {
    GarbageChunkRef ref{epoch, gen, sum, in.size(), plain / 56};
    auto d = DecodeGarbageChunk(id, ref, in);
    if (!d.ok()) {
      if (d.status().err() != EIO) abort();
      return;
    }
    if (canonical && !id.key) {
      GarbageChunkRef again;
      auto back = EncodeGarbageChunk(id, epoch, gen, *d, &again);
      if (!back.ok() || *back != in || again != ref) abort();
    }
    return;
  }
  ShardRef ref{shard, static_cast<uint16_t>(sources - 1), plain / 48, epoch, gen, sum, in.size()};
  auto d = DecodeShardObject(id, ref, sources, in);
  if (!d.ok()) {
    if (d.status().err() != EIO) abort();
    return;
  }
  if (canonical && ref.source == 0) {
    ShardRef again;
    auto back = EncodeShardObjectWithSaltForTest(id, shard, epoch, gen, *d, salt, &again);
    if (!back.ok() || *back != in || again != ref) abort();
  }
}

void Pointer(std::string_view in) {
  uint64_t lsn = in.size() >= 16 ? GetLE<uint64_t>(in.data() + 8) : 0;
  auto p = DecodeCheckpointPointer("fuzz", lsn, in);
  if (!p.ok()) {
    if (p.status().err() != EIO) abort();
    return;
  }
  if (EncodeCheckpointPointer(*p) != in) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Mode byte: bits 0-1 the object kind, bit 3 encrypted, bit 4 zstd, bits 5-6 extra sources.
  ManifestIdentity id = Id(data[0] & 8, data[0] & 16);
  switch (data[0] & 3) {
    case 0: Root(id, in); break;
    case 1: Entries(id, in, false, 1 + ((data[0] >> 5) & 3)); break;
    case 2: Entries(id, in, true, 1); break;
    case 3: Pointer(in); break;
  }
  return 0;
}
