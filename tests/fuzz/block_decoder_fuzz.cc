// libFuzzer target: DecodeBlock on hostile objects, for every codec variant (plain, zstd,
// AES-256-GCM, zstd + AES-256-GCM). Either the decoder refuses with EIO, or it returns
// exactly one block of plaintext. A second mode encodes the input, flips one byte and checks
// that the result is refused or decodes to the same plaintext (never to anything else).
// DecodeBlockInto and DecodeBlockRange must give DecodeBlock's verdict, message and bytes.
// Build and run: make check-fuzz (FUZZ_RUNS=... for longer runs).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cache/codec/block_codec.h"

namespace {

s3nbd::CodecIdentity Variant(int v) {
  static const auto key = [] {
    auto k = std::make_shared<s3nbd::DataKey>();
    for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }();
  s3nbd::CodecIdentity id;
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(i + 1);
  id.block_size = 4096;
  id.zstd = v & 1;
  if (v & 2) id.key = key;
  return id;
}

// The copy-free decoders against DecodeBlock on the same object.
void CheckVariantsAgree(const s3nbd::CodecIdentity& id, std::string_view obj, uint32_t off,
                        uint32_t len) {
  std::string ref;
  s3nbd::Status want = s3nbd::DecodeBlock(id, 5, obj, &ref);
  std::string whole(4096, '\0'), part(len, '\0');
  s3nbd::Status into = s3nbd::DecodeBlockInto(id, 5, obj, whole);
  s3nbd::Status range = s3nbd::DecodeBlockRange(id, 5, obj, off, len, part.data());
  if (into.ok() != want.ok() || into.message() != want.message()) abort();
  if (range.ok() != want.ok() || range.message() != want.message()) abort();
  if (want.ok() && (whole != ref || part != ref.substr(off, len))) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  int v = data[0] & 3;
  auto id = Variant(v);
  if (data[0] & 4) {  // encode-mutate-decode
    std::string plain(4096, '\0');
    for (size_t i = 0; i < plain.size() && !in.empty(); i++) plain[i] = in[i % in.size()];
    auto obj = s3nbd::EncodeBlock(id, 5, plain, 9);
    if (!obj.ok()) abort();
    std::string back;
    if (!s3nbd::DecodeBlock(id, 5, *obj, &back).ok() || back != plain) abort();
    size_t pos = in.empty() ? 0 : (static_cast<uint8_t>(in[0]) * 131u + in.size()) % obj->size();
    (*obj)[pos] ^= static_cast<char>(data[0] | 1);
    back.clear();
    if (s3nbd::DecodeBlock(id, 5, *obj, &back).ok() && back != plain) abort();
    CheckVariantsAgree(id, *obj, 100, 1000);
    return 0;
  }
  uint32_t off = size > 2 ? (data[1] * 16u) % 4096 : 0;
  CheckVariantsAgree(id, in, off,
                     std::min<uint32_t>(4096 - off, size > 3 ? data[2] * 8u + 1 : 4096));
  std::string out;
  s3nbd::Status s = s3nbd::DecodeBlock(id, 5, in, &out);
  if (s.ok() && out.size() != 4096) abort();
  if (!s.ok() && (s.err() != EIO || !out.empty())) abort();
  return 0;
}
