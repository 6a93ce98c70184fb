// The checkpoint pointer; see checkpoint_pointer.h and docs/format.md ("Checkpoint pointer").
#include "cache/versioned/checkpoint_pointer.h"

#include <xxhash.h>

#include <cstring>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {
constexpr char kMagic[4] = {'S', '3', 'N', 'P'};
constexpr uint8_t kVersion = 1;
}  // namespace

std::string EncodeCheckpointPointer(const CheckpointPointer& p) {
  std::string out(kCheckpointPointerBytes, '\0');
  char* q = out.data();
  std::memcpy(q, kMagic, 4);
  q[4] = static_cast<char>(kVersion);
  PutLE<uint64_t>(q + 8, p.lsn);
  PutLE<uint64_t>(q + 16, p.epoch);
  PutLE<uint64_t>(q + 24, p.segment_checksum);
  PutLE<uint64_t>(q + 32, XXH3_64bits_withSeed(q, 32, p.lsn));
  return out;
}

Result<CheckpointPointer> DecodeCheckpointPointer(std::string_view volume, uint64_t lsn, std::string_view object) {
  auto bad = [&](const std::string& why) {
    return Status::Error(EIO, "volume " + std::string(volume) + ": checkpoint pointer " + std::to_string(lsn) + ": " + why);
  };
  if (object.size() != kCheckpointPointerBytes)
    return bad("object is " + std::to_string(object.size()) + " bytes, not 40");
  const char* q = object.data();
  if (std::memcmp(q, kMagic, 4) != 0) return bad("not a checkpoint pointer (bad magic)");
  if (static_cast<uint8_t>(q[4]) != kVersion)
    return bad("pointer version " + std::to_string(static_cast<uint8_t>(q[4])) + " is not supported");
  if (q[5] != 0 || q[6] != 0 || q[7] != 0) return bad("reserved bytes are not zero");
  CheckpointPointer p{GetLE<uint64_t>(q + 8), GetLE<uint64_t>(q + 16), GetLE<uint64_t>(q + 24)};
  if (XXH3_64bits_withSeed(q, 32, p.lsn) != GetLE<uint64_t>(q + 32)) return bad("checksum mismatch");
  if (p.lsn != lsn) return bad("pointer holds LSN " + std::to_string(p.lsn) + " (copied from another key)");
  return p;
}

}  // namespace s3nbd
