// WriteFence: what bounds a writer's mutating S3 requests (block PUT, DELETE, multi-delete) in
// time, so that a writer that lost its lease cannot land a write later (docs/design.md,
// "Partitions and takeovers"). WriterLease implements it. Implementations are thread-safe.
#pragma once

#include <cstdint>

#include "cache/util/status.h"

namespace s3nbd {

class WriteFence {
 public:
  virtual ~WriteFence() = default;
  // The steady-clock time (ns since its epoch) by which a mutation of `block` starting now must
  // be done or abandoned; EROFS when none may start.
  virtual Result<int64_t> WriteDeadline(uint64_t block) const = 0;
};

// The cause an abandoned request names ("...: abandoned: writer lease expired").
inline constexpr const char* kLeaseExpiredCause = "writer lease expired";

}  // namespace s3nbd
