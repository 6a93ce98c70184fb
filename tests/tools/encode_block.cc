// Test helper: encodes stdin as block N of a volume (uuid, block size) with the real codec and
// writes the object to stdout, so integration tests can plant crafted-but-valid objects (e.g.
// an all-zero block that s3nbd itself would never store).
//   s3nbd-test-encode-block UUID BLOCK_SIZE BLOCK < plaintext > object
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "cache/codec/block_codec.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s UUID BLOCK_SIZE BLOCK < plaintext > object\n", argv[0]);
    return 2;
  }
  s3nbd::CodecIdentity id;
  std::string hex;
  for (const char* p = argv[1]; *p; p++)
    if (*p != '-') hex += *p;
  if (hex.size() != 32) {
    std::fprintf(stderr, "encode-block: '%s' is not a UUID\n", argv[1]);
    return 2;
  }
  for (size_t i = 0; i < 16; i++)
    id.uuid[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  id.block_size = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
  uint64_t block = std::strtoull(argv[3], nullptr, 10);
  std::string plain((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (plain.size() != id.block_size) {
    std::fprintf(stderr, "encode-block: plaintext is %zu bytes, not the block size %u\n",
                 plain.size(), id.block_size);
    return 1;
  }
  auto obj = s3nbd::EncodeBlock(id, block, plain);
  if (!obj.ok()) {
    std::fprintf(stderr, "encode-block: %s\n", obj.status().message().c_str());
    return 1;
  }
  std::fwrite(obj->data(), 1, obj->size(), stdout);
  return 0;
}
