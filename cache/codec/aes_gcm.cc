// AES-256-GCM over OpenSSL EVP; see aes_gcm.h.
#include "cache/codec/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

namespace s3nbd {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

// Sets up ctx for AES-256-GCM with key and nonce and feeds the associated data.
bool Init(EVP_CIPHER_CTX* ctx, bool encrypt, const AesKey& key, const uint8_t* nonce, std::string_view ad) {
  int len = 0;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kGcmNonceBytes, nullptr) != 1) return false;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce, encrypt ? 1 : 0) != 1) return false;
  return ad.empty() || EVP_CipherUpdate(ctx, nullptr, &len, U(ad.data()), static_cast<int>(ad.size())) == 1;
}

}  // namespace

Status RandomBytes(void* out, size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1)
    return Status::Error(EIO, "random: OpenSSL cannot produce random bytes");
  return Status::Ok();
}

void Wipe(void* p, size_t n) { OPENSSL_cleanse(p, n); }

Status GcmSeal(const AesKey& key, const uint8_t* nonce, std::string_view ad, std::string_view plain,
               char* out) {
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  if (!ctx || !Init(ctx.get(), true, key, nonce, ad) ||
      EVP_CipherUpdate(ctx.get(), U(out), &len, U(plain.data()), static_cast<int>(plain.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), U(out) + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, out + plain.size()) != 1)
    return Status::Error(EIO, "encrypt: AES-256-GCM failed in OpenSSL");
  return Status::Ok();
}

bool GcmOpen(const AesKey& key, const uint8_t* nonce, std::string_view ad, std::string_view sealed,
             char* out) {
  if (sealed.size() < kGcmTagBytes) return false;
  size_t n = sealed.size() - kGcmTagBytes;
  char tag[kGcmTagBytes];
  std::memcpy(tag, sealed.data() + n, kGcmTagBytes);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  bool ok = ctx && Init(ctx.get(), false, key, nonce, ad) &&
            EVP_CipherUpdate(ctx.get(), U(out), &len, U(sealed.data()), static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) == 1 &&
            EVP_CipherFinal_ex(ctx.get(), U(out) + len, &fin) == 1;
  if (!ok) std::memset(out, 0, n);
  return ok;
}

}  // namespace s3nbd
