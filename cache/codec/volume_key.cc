// Data key wrapping; see volume_key.h and docs/format.md ("Encryption").
#include "cache/codec/volume_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace s3nbd {
namespace {

constexpr std::string_view kCheckLabel = "s3nbd key check";
constexpr std::string_view kWrapLabel = "s3nbd data key";
constexpr size_t kMaxPassphraseFile = 64 << 10;

// Key-encryption key from the passphrase; wiped by its own destructor (DataKey).
Result<std::unique_ptr<DataKey>> DeriveKek(std::string_view passphrase, const KeyWrap& k) {
  auto kek = std::make_unique<DataKey>();
  uint64_t maxmem = 128 * uint64_t{k.params.r} * (k.params.n + k.params.p + 2) + (1 << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(),
                     reinterpret_cast<const unsigned char*>(k.salt.data()), k.salt.size(), k.params.n,
                     k.params.r, k.params.p, maxmem, kek->bytes.data(), kek->bytes.size()) != 1)
    return Status::Error(EIO, "key: scrypt failed (N=" + std::to_string(k.params.n) + " r=" +
                                  std::to_string(k.params.r) + " p=" + std::to_string(k.params.p) + ")");
  return kek;
}

std::string KeyCheck(const DataKey& kek) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kek.bytes.data(), static_cast<int>(kek.bytes.size()),
       reinterpret_cast<const unsigned char*>(kCheckLabel.data()), kCheckLabel.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), 16);
}

std::string WrapAd(const VolumeDescriptor& d) {
  return std::string(kWrapLabel) + std::string(reinterpret_cast<const char*>(d.uuid.data()), d.uuid.size());
}

// Fills d->key (fresh salt, wrapped key, check) for `data_key` under `passphrase`.
Status Wrap(VolumeDescriptor* d, const DataKey& data_key, std::string_view passphrase, const KdfParams& params) {
  KeyWrap k;
  k.params = params;
  k.salt.resize(16);
  if (Status s = RandomBytes(k.salt.data(), k.salt.size()); !s.ok()) return s;
  auto kek = DeriveKek(passphrase, k);
  if (!kek.ok()) return kek.status();
  k.check = KeyCheck(**kek);
  k.wrapped.resize(kGcmNonceBytes + kAesKeyBytes + kGcmTagBytes);
  if (Status s = RandomBytes(k.wrapped.data(), kGcmNonceBytes); !s.ok()) return s;
  std::string_view plain(reinterpret_cast<const char*>(data_key.bytes.data()), data_key.bytes.size());
  if (Status s = GcmSeal((*kek)->bytes, reinterpret_cast<const uint8_t*>(k.wrapped.data()), WrapAd(*d), plain,
                         k.wrapped.data() + kGcmNonceBytes);
      !s.ok())
    return s;
  d->encryption = "aes-256-gcm";
  d->key = k;
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadPassphraseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(ENOENT, "passphrase file '" + path + "': cannot open: " + std::strerror(errno));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPassphraseFile)
      return Status::Error(EINVAL, "passphrase file '" + path + "': larger than 64 KiB");
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) return Status::Error(EINVAL, "passphrase file '" + path + "': is empty");
  return text;
}

Status SetUpEncryption(VolumeDescriptor* d, std::string_view passphrase, const KdfParams& params) {
  DataKey key;
  if (Status s = RandomBytes(key.bytes.data(), key.bytes.size()); !s.ok()) return s;
  return Wrap(d, key, passphrase, params);
}

Result<std::shared_ptr<const DataKey>> UnwrapDataKey(const VolumeDescriptor& d, std::string_view passphrase) {
  if (!d.encrypted()) return Status::Error(EINVAL, "key: the volume is not encrypted");
  const KeyWrap& k = d.key;
  if (k.wrapped.size() != kGcmNonceBytes + kAesKeyBytes + kGcmTagBytes || k.check.size() != 16)
    return Status::Error(EINVAL, "key: descriptor key fields have wrong lengths");
  auto kek = DeriveKek(passphrase, k);
  if (!kek.ok()) return kek.status();
  std::string check = KeyCheck(**kek);
  if (CRYPTO_memcmp(check.data(), k.check.data(), check.size()) != 0)
    return Status::Error(EACCES, "wrong passphrase (the key check in the volume descriptor does not match)");
  auto key = std::make_shared<DataKey>();
  std::string_view sealed(k.wrapped.data() + kGcmNonceBytes, kAesKeyBytes + kGcmTagBytes);
  if (!GcmOpen((*kek)->bytes, reinterpret_cast<const uint8_t*>(k.wrapped.data()), WrapAd(d), sealed,
               reinterpret_cast<char*>(key->bytes.data())))
    return Status::Error(EINVAL, "the passphrase is right but the wrapped data key in the volume descriptor "
                                 "does not authenticate (descriptor damaged or of another volume)");
  return std::shared_ptr<const DataKey>(std::move(key));
}

Status RewrapDataKey(VolumeDescriptor* d, std::string_view old_passphrase, std::string_view new_passphrase) {
  auto key = UnwrapDataKey(*d, old_passphrase);
  if (!key.ok()) return key.status();
  return Wrap(d, **key, new_passphrase, d->key.params);
}

}  // namespace s3nbd
