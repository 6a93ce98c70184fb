// HKDF-SHA256 per-object subkeys over OpenSSL 3 EVP_KDF; see object_subkey.h.
#include "cache/versioned/object_subkey.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>

namespace s3nbd {
namespace {

struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

// OSSL_PARAM wants non-const pointers even for inputs it only reads.
void* Mut(std::string_view s) { return const_cast<char*>(s.data()); }

}  // namespace

ObjectSubkey::~ObjectSubkey() {
  Wipe(key.data(), key.size());
  Wipe(nonce.data(), nonce.size());
}

std::string_view SubkeyLabelText(SubkeyLabel label) {
  switch (label) {
    case SubkeyLabel::kBlock:
      return "s3nbd-v2 block";
    case SubkeyLabel::kLog:
      return "s3nbd-v2 log";
    case SubkeyLabel::kShard:
      return "s3nbd-v2 shard";
  }
  return "";
}

Status DeriveHkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info, uint8_t* out,
                        size_t out_len) {
  const Status failed = Status::Error(EIO, "derive subkey: HKDF-SHA256 failed in OpenSSL");
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return failed;
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return failed;
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Mut(ikm), ikm.size());
  // An empty salt means "HashLen zeros" (RFC 5869 2.2), which OpenSSL does when none is given.
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mut(salt), salt.size());
  if (!info.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Mut(info), info.size());
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out, out_len, params) != 1) return failed;
  return Status::Ok();
}

Result<ObjectSubkey> DeriveObjectSubkey(const AesKey& data_key, const ObjectSalt& salt, SubkeyLabel label) {
  uint8_t okm[kAesKeyBytes + kGcmNonceBytes];
  Status s = DeriveHkdfSha256(
      std::string_view(reinterpret_cast<const char*>(data_key.data()), data_key.size()),
      std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()), SubkeyLabelText(label), okm,
      sizeof okm);
  if (!s.ok()) {
    Wipe(okm, sizeof okm);
    return s;
  }
  ObjectSubkey sub;
  std::copy(okm, okm + kAesKeyBytes, sub.key.begin());
  std::copy(okm + kAesKeyBytes, okm + sizeof okm, sub.nonce.begin());
  Wipe(okm, sizeof okm);
  return sub;
}

std::array<uint8_t, kGcmNonceBytes> NonceWithCounter(const std::array<uint8_t, kGcmNonceBytes>& n, uint64_t i) {
  std::array<uint8_t, kGcmNonceBytes> out = n;
  for (size_t b = 0; b < 8; ++b) out[kGcmNonceBytes - 8 + b] ^= static_cast<uint8_t>(i >> (8 * b));
  return out;
}

Result<ObjectSalt> NewObjectSalt() {
  ObjectSalt salt;
  Status s = RandomBytes(salt.data(), salt.size());
  if (!s.ok()) return s.Wrap("new object salt");
  return salt;
}

}  // namespace s3nbd
