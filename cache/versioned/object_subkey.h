// Per-object subkeys of version-2 objects (docs/format.md, "Version 2"): every encrypted v2
// object carries a random 32-byte salt, and HKDF-SHA256(data key, salt, label) gives the AES
// key and nonce base N that seal it, so a key seals one object only. Pure functions over
// OpenSSL 3's EVP_KDF "HKDF"; no shared state, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache/codec/aes_gcm.h"
#include "cache/util/status.h"

namespace s3nbd {

// The HKDF info of each object kind: "s3nbd-v2 block" / "s3nbd-v2 log" / "s3nbd-v2 shard".
enum class SubkeyLabel { kBlock, kLog, kShard };

constexpr size_t kObjectSaltBytes = 32;
using ObjectSalt = std::array<uint8_t, kObjectSaltBytes>;

struct ObjectSubkey {  // wiped in its destructor
  AesKey key;                                 // HKDF output bytes 0-31
  std::array<uint8_t, kGcmNonceBytes> nonce;  // HKDF output bytes 32-43: the nonce base N
  ~ObjectSubkey();
};

// The label's ASCII text, without a terminating zero.
std::string_view SubkeyLabelText(SubkeyLabel label);

// HKDF-SHA256 (RFC 5869, extract then expand) of out_len bytes into out. EIO if OpenSSL fails
// (out_len > 255 * 32 included). The one code path DeriveObjectSubkey uses.
Status DeriveHkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info, uint8_t* out,
                        size_t out_len);

// HKDF-SHA256(IKM = data_key, salt = salt, info = label text), 44 bytes.
Result<ObjectSubkey> DeriveObjectSubkey(const AesKey& data_key, const ObjectSalt& salt, SubkeyLabel label);

// N with its last 8 bytes (little-endian integer) XOR i: the nonce of the i-th unit sealed
// under one subkey.
std::array<uint8_t, kGcmNonceBytes> NonceWithCounter(const std::array<uint8_t, kGcmNonceBytes>& n, uint64_t i);

// A fresh random salt (RandomBytes); encrypted objects only (plain objects use all zeros).
Result<ObjectSalt> NewObjectSalt();

}  // namespace s3nbd
