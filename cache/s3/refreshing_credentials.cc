// Refresh-ahead credentials; see refreshing_credentials.h.
#include "cache/s3/refreshing_credentials.h"

#include <algorithm>

#include "cache/util/log.h"

namespace s3nbd {
namespace {

using std::chrono::seconds;

constexpr seconds kMaxRefreshAhead{300};

}  // namespace

seconds RefreshAhead(WallTime fetched, WallTime expiration) {
  auto lifetime = std::chrono::duration_cast<seconds>(expiration - fetched);
  return std::clamp(lifetime / 2, seconds(0), kMaxRefreshAhead);
}

WallTime NextAttemptAfter(WallTime now, WallTime expiration) {
  auto left = std::chrono::duration_cast<seconds>(expiration - now);
  return now + std::clamp(left / 4, seconds(1), seconds(60));
}

RefreshingCredentials::RefreshingCredentials(std::unique_ptr<CredentialProvider> provider,
                                             Credentials first, WallClock clock)
    : provider_(std::move(provider)),
      clock_(clock ? std::move(clock) : WallClock([] { return std::chrono::system_clock::now(); })) {
  current_.store(MakeSnapshot(std::move(first), clock_()));
}

std::shared_ptr<const RefreshingCredentials::Snapshot> RefreshingCredentials::MakeSnapshot(
    Credentials c, WallTime now) const {
  auto s = std::make_shared<Snapshot>();
  s->refresh_at = c.expiration ? *c.expiration - RefreshAhead(now, *c.expiration) : WallTime::max();
  s->credentials = std::move(c);
  return s;
}

Result<std::shared_ptr<const Credentials>> RefreshingCredentials::Get() {
  std::shared_ptr<const Snapshot> snap = current_.load(std::memory_order_acquire);
  const WallTime now = clock_();
  if (now < snap->refresh_at) return View(std::move(snap));
  const bool expired = now >= *snap->credentials.expiration;
  if (!expired) {
    // Due but still valid: one caller refreshes, the others sign with what they have.
    if (!refresh_mu_.TryLock()) return View(std::move(snap));
    MutexLock lock(&refresh_mu_, std::adopt_lock);
    snap = current_.load(std::memory_order_acquire);
    if (now >= snap->refresh_at && now >= next_attempt_) (void)RefreshLocked(snap, now);
    return View(current_.load(std::memory_order_acquire));
  }
  MutexLock lock(&refresh_mu_);  // waits for a refresh in flight
  snap = current_.load(std::memory_order_acquire);
  const WallTime now2 = clock_();
  if (!snap->credentials.expiration || now2 < *snap->credentials.expiration) {
    return View(std::move(snap));
  }
  if (now2 < next_attempt_) {
    // Backing off: the last refresh failed (its error), or the source handed out credentials
    // that were already expired (clock skew; S3 will say so) - not a fetch per request.
    if (!last_error_.ok()) return last_error_;
    return View(std::move(snap));
  }
  Status s = RefreshLocked(snap, now2);
  if (!s.ok()) return s;
  return View(current_.load(std::memory_order_acquire));
}

Status RefreshingCredentials::RefreshLocked(const std::shared_ptr<const Snapshot>& old, WallTime now) {
  Result<Credentials> fresh = provider_->Fetch();
  const WallTime old_exp = *old->credentials.expiration;
  if (!fresh.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    next_attempt_ = NextAttemptAfter(now, old_exp);
    const bool expired = now >= old_exp;
    last_error_ = Status::Error(
        fresh.status().err() == ENOENT ? EACCES : fresh.status().err(),
        "credentials from " + provider_->Describe() + (expired ? " expired at " : " expire at ") +
            FormatIso8601(old_exp) + " and the refresh failed: " + fresh.status().message());
    LogWarning(last_error_.message() + (expired ? "" : "; the current credentials serve until then"));
    return last_error_;
  }
  refreshes_.fetch_add(1, std::memory_order_relaxed);
  last_error_ = Status::Ok();
  auto snap = MakeSnapshot(std::move(*fresh), now);
  if (snap->credentials.expiration && snap->refresh_at <= now) {
    // The source handed out credentials already inside the window (EC2 rotates late): use
    // them, but do not ask again at every request.
    next_attempt_ = NextAttemptAfter(now, *snap->credentials.expiration);
  }
  LogInfo("credentials refreshed from " + provider_->Describe() +
           (snap->credentials.expiration
                ? "; they expire at " + FormatIso8601(*snap->credentials.expiration)
                : std::string()));
  current_.store(std::move(snap), std::memory_order_release);
  return Status::Ok();
}

}  // namespace s3nbd
