// The checkpoint pointer `P m/<LSN>` of a versioned volume (docs/format.md, "Checkpoint
// pointer"): a 40-byte hint that segment LSN holds a CHECKPOINT with a given header checksum,
// so an open finds the latest checkpoint with one LIST. The segment is authoritative; a
// pointer only says where to look. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

constexpr size_t kCheckpointPointerBytes = 40;

struct CheckpointPointer {
  uint64_t lsn = 0;
  uint64_t epoch = 0;
  uint64_t segment_checksum = 0;  // the CHECKPOINT segment's header checksum
  bool operator==(const CheckpointPointer&) const = default;
};

std::string EncodeCheckpointPointer(const CheckpointPointer& p);

// Decodes the object at key `m/<lsn>`: length, magic, version, reserved bytes, the LSN equal
// to the key's, the checksum. EIO "volume V: checkpoint pointer L: <check>".
Result<CheckpointPointer> DecodeCheckpointPointer(std::string_view volume, uint64_t lsn, std::string_view object);

}  // namespace s3nbd
