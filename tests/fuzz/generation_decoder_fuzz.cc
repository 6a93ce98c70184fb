// libFuzzer target: DecodeGenerationInto on hostile block generation objects, for every codec
// variant (plain, zstd, AES-256-GCM, zstd + AES-256-GCM). The first input byte picks the
// variant (bits 0-1) and the mode (bit 2); bit 3 takes the expected checksum from the
// object's own header so the payload checks are reached. Decode mode: the decoder refuses
// with EIO or returns one block. Encode mode: the rest of the input (padded to a block) is
// encoded, one byte flipped, and the result must be refused (a zstd frame of a plain object
// may instead decode to the very same block), never decode to other bytes.
// Build and run: make check-fuzz (FUZZ_RUNS=... for longer runs).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cache/util/coding.h"
#include "cache/versioned/generation_codec.h"

namespace {

constexpr uint32_t kBs = 4096;

// The identity of the checked-in samples (tests/unit/versioned/samples), so that they seed
// the corpus as valid objects: that UUID, key bytes 0x00..0x1f, block 5, epoch 2, gen 9.
s3nbd::GenerationIdentity Variant(int v) {
  static const auto key = [] {
    auto k = std::make_shared<s3nbd::DataKey>();
    for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(i);
    return k;
  }();
  static const uint8_t kUuid[16] = {0x0b, 0x6e, 0x3c, 0x1a, 0x5d, 0x2f, 0x4e, 0x8b,
                                    0x9a, 0x71, 0x2c, 0x4d, 0x6e, 0x8f, 0x0a, 0x1b};
  s3nbd::GenerationIdentity id;
  std::memcpy(id.codec.uuid.data(), kUuid, 16);
  id.codec.block_size = kBs;
  id.codec.zstd = v & 1;
  if (v & 2) id.codec.key = key;
  id.volume = "fuzz";
  return id;
}

s3nbd::GenerationExpect Expect(std::string_view obj, bool own_checksum) {
  s3nbd::GenerationExpect e{5, 2, 9, 0x1234};
  if (own_checksum && obj.size() >= s3nbd::kGenerationHeaderBytes)
    e.checksum = s3nbd::GetLE<uint64_t>(obj.data() + 88);
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const s3nbd::GenerationIdentity id = Variant(data[0] & 3);
  std::string out(kBs, '\0');
  if (!(data[0] & 4)) {
    s3nbd::Status s = s3nbd::DecodeGenerationInto(id, Expect(in, data[0] & 8), in, out);
    if (!s.ok() && s.err() != EIO) abort();
    return 0;
  }
  if (in.size() < 3) return 0;
  const size_t where = s3nbd::GetLE<uint16_t>(in.data());
  const uint8_t flip = static_cast<uint8_t>(in[2]) | 1;  // never zero: a real change
  std::string plain(in.substr(3, kBs));
  plain.resize(kBs, '\0');
  std::string obj;
  uint64_t sum = 0;
  auto n = s3nbd::EncodeGenerationInto(id, 5, 2, 9, plain, &obj, &sum);
  if (!n.ok()) abort();
  obj.resize(*n);
  s3nbd::GenerationExpect want{5, 2, 9, sum};
  if (!s3nbd::DecodeGenerationInto(id, want, obj, out).ok() || out != plain) abort();  // round trip
  const size_t at = where % obj.size();
  obj[at] = static_cast<char>(obj[at] ^ flip);
  s3nbd::Status s = s3nbd::DecodeGenerationInto(id, want, obj, out);
  if (s.ok()) {
    const bool plain_zstd_frame =
        !id.codec.key && (obj[5] & s3nbd::kFlagZstd) && at >= s3nbd::kGenerationHeaderBytes;
    if (!plain_zstd_frame || out != plain) abort();
  } else if (s.err() != EIO) {
    abort();
  }
  return 0;
}
