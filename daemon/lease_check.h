// LeaseCheck: operator commands that delete a volume's objects (`fsck --repair`, `destroy`)
// refuse while any writer, on any host, holds an unexpired writer lease on the volume; a local
// pid file cannot see a server on another host. --force overrides. No state; one GET.
#pragma once

#include <cstdint>
#include <string>

#include "cache/s3/block_key.h"
#include "cache/s3/s3_client.h"
#include "cache/util/status.h"

namespace s3nbd::cli {

// OK when there is no lease object or it has expired (judged at `now`, unix seconds). EBUSY
// "VOLUME: a writer holds the lease: host H pid P (started S), expires at T (in N s); ..." when
// it is live, or the lease object is unreadable, unless force (then a warning is logged).
// Other GET failures are returned as they are: without knowing, nothing is deleted.
Status RefuseWhileLeased(S3Client& client, const BlockKeys& keys, const std::string& volume,
                         bool force, int64_t now);

}  // namespace s3nbd::cli
