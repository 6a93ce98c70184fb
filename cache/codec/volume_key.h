// Volume keys: the random 256-bit data key of an encrypted volume is stored in the
// descriptor wrapped (AES-256-GCM, AD = "s3nbd data key" + volume uuid) by a key-encryption
// key derived from the passphrase with scrypt (salt and cost in the descriptor), next to a
// key-check value that tells a wrong passphrase apart from a damaged descriptor.
// Pure functions; thread-safe. Key bytes are wiped when their holders are destroyed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cache/codec/aes_gcm.h"
#include "cache/volume/volume_descriptor.h"

namespace s3nbd {

// A data key that wipes itself; shared read-only by the codec's threads.
struct DataKey {
  AesKey bytes{};
  ~DataKey() { Wipe(bytes.data(), bytes.size()); }
};

// Reads a passphrase (or key) file: its bytes, one trailing "\n" or "\r\n" removed.
// Refuses an empty or unreadable file, or one over 64 KiB, naming the path.
Result<std::string> ReadPassphraseFile(const std::string& path);

// Makes d an encrypted volume: a fresh random data key wrapped under `passphrase`.
Status SetUpEncryption(VolumeDescriptor* d, std::string_view passphrase, const KdfParams& params = {});

// Unwraps d's data key. EACCES "wrong passphrase" when the key check fails; EINVAL when
// the check passes but the wrapped key does not authenticate (descriptor damaged).
Result<std::shared_ptr<const DataKey>> UnwrapDataKey(const VolumeDescriptor& d, std::string_view passphrase);

// Re-wraps d's data key under a new passphrase with a fresh salt (s3nbd passwd).
Status RewrapDataKey(VolumeDescriptor* d, std::string_view old_passphrase, std::string_view new_passphrase);

}  // namespace s3nbd
