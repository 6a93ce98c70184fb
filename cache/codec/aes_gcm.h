// AES-256-GCM seal/open (OpenSSL EVP) for block objects and the wrapped volume key, and
// the process's random source. Pure functions; each call owns its EVP context through a
// unique_ptr, so everything here is safe to call from many threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

constexpr size_t kAesKeyBytes = 32;
constexpr size_t kGcmNonceBytes = 12;  // 96-bit nonce, fresh and random per sealing
constexpr size_t kGcmTagBytes = 16;

using AesKey = std::array<uint8_t, kAesKeyBytes>;

// Fills out[0..n) from OpenSSL's CSPRNG; EIO if it cannot.
Status RandomBytes(void* out, size_t n);

// Writes plain.size() + kGcmTagBytes bytes to out: ciphertext then tag.
Status GcmSeal(const AesKey& key, const uint8_t* nonce, std::string_view ad, std::string_view plain,
               char* out);

// Opens ciphertext||tag (sealed.size() >= kGcmTagBytes) into out (sealed.size() - tag bytes).
// False if the tag does not verify: wrong key, wrong AD, or altered bytes. out is then
// overwritten with zeros, never left holding unauthenticated bytes.
bool GcmOpen(const AesKey& key, const uint8_t* nonce, std::string_view ad, std::string_view sealed,
             char* out);

// Overwrites memory that held key material (not optimised away).
void Wipe(void* p, size_t n);

}  // namespace s3nbd
