// libFuzzer target: DecodeDescriptor on hostile text. A descriptor that decodes must have
// valid geometry and re-encode to text that decodes to the same encoding (a fixed point).
// Build and run: make check-fuzz (FUZZ_RUNS=... for longer runs).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cache/volume/volume_descriptor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = s3nbd::DecodeDescriptor(text);
  if (!d.ok()) {
    if (d.status().err() != EINVAL) abort();
    return 0;
  }
  if (!s3nbd::ValidateGeometry(d->size, d->block_size).ok()) abort();
  std::string once = s3nbd::EncodeDescriptor(*d);
  auto again = s3nbd::DecodeDescriptor(once);
  if (!again.ok() || s3nbd::EncodeDescriptor(*again) != once) abort();
  return 0;
}
