// RefreshingCredentials: the credentials every S3 request signs with, kept fresh. Get() is the
// hot path: one atomic shared_ptr load and a clock read. Temporary credentials are refreshed
// on demand by the first request that sees them inside the refresh window (a few minutes, at
// most half their lifetime, before expiry), while every other request keeps signing with the
// old ones; a failed refresh is logged and retried later, and the old credentials serve until
// they expire. Only expired credentials make a request wait (for a refresh, or its error).
// No thread of its own (so nbdkit's fork is harmless).
// Locking: current_ is an atomic shared_ptr; refresh_mu_ serialises refreshes and guards
// next_attempt_, last_error_ and the provider's Fetch (annotated).
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "cache/s3/credential_provider.h"
#include "cache/util/mutex.h"

namespace s3nbd {

using WallClock = std::function<WallTime()>;

// How long before expiry a refresh starts: min(5 minutes, half the lifetime).
std::chrono::seconds RefreshAhead(WallTime fetched, WallTime expiration);
// The time of the next attempt after a failed (or premature) refresh at `now`: a quarter of the
// remaining validity, within 1..60 s.
WallTime NextAttemptAfter(WallTime now, WallTime expiration);

class RefreshingCredentials {
 public:
  // `first` is the provider's answer at start-up (the chain already fetched it).
  RefreshingCredentials(std::unique_ptr<CredentialProvider> provider, Credentials first,
                        WallClock clock = {});
  RefreshingCredentials(const RefreshingCredentials&) = delete;
  RefreshingCredentials& operator=(const RefreshingCredentials&) = delete;

  // Credentials valid now, or why none are (expired and the refresh failed). Thread-safe.
  [[nodiscard]] Result<std::shared_ptr<const Credentials>> Get() EXCLUDES(refresh_mu_);
  // Which source these come from (never a secret).
  std::string source() const { return provider_->Describe(); }
  uint64_t refreshes() const { return refreshes_.load(std::memory_order_relaxed); }
  uint64_t failed_refreshes() const { return failures_.load(std::memory_order_relaxed); }

 private:
  struct Snapshot {
    Credentials credentials;
    WallTime refresh_at;  // max() for credentials that never expire
  };
  std::shared_ptr<const Snapshot> MakeSnapshot(Credentials c, WallTime now) const;
  // Fetches and installs; on failure logs and schedules the next attempt.
  Status RefreshLocked(const std::shared_ptr<const Snapshot>& old, WallTime now)
      REQUIRES(refresh_mu_);
  static std::shared_ptr<const Credentials> View(std::shared_ptr<const Snapshot> s) {
    const Credentials* c = &s->credentials;
    return std::shared_ptr<const Credentials>(std::move(s), c);
  }

  const std::unique_ptr<CredentialProvider> provider_;
  const WallClock clock_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  Mutex refresh_mu_;
  WallTime next_attempt_ GUARDED_BY(refresh_mu_){};
  Status last_error_ GUARDED_BY(refresh_mu_);
  std::atomic<uint64_t> refreshes_{0}, failures_{0};
};

}  // namespace s3nbd
