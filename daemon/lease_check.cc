// LeaseCheck; see lease_check.h.
#include "daemon/lease_check.h"

#include "cache/lease/writer_lease.h"
#include "cache/util/log.h"

namespace s3nbd::cli {

Status RefuseWhileLeased(S3Client& client, const BlockKeys& keys, const std::string& volume,
                         bool force, int64_t now) {
  std::string text;
  Status g = client.Get(keys.LeaseKey(), &text);
  if (g.err() == ENOENT) return Status::Ok();
  if (!g.ok()) return g.Wrap(volume + ": reading the writer lease");
  auto holder = DecodeLease(text);
  if (holder.ok() && holder->expires <= now) return Status::Ok();  // expired: nobody may write
  if (holder.ok() && HolderIsDeadHere(*holder, now)) return Status::Ok();  // its process here is gone
  std::string why = holder.ok() ? "a writer holds the lease: " + DescribeLease(*holder, now)
                                : "the lease object " + keys.LeaseKey() + " is unreadable (" +
                                      holder.status().message() + ")";
  if (force) {
    LogWarning(volume + ": " + why + "; going ahead (--force)");
    return Status::Ok();
  }
  return Status::Error(EBUSY,
                       volume + ": " + why +
                           "; stop that writer ('s3nbd stop' on its host) or wait for the expiry; "
                           "--force if it is dead");
}

}  // namespace s3nbd::cli
