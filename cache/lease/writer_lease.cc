// WriterLease and LeaseGuardStore; see writer_lease.h and docs/format.md ("Writer lease").
#include "cache/lease/writer_lease.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "cache/codec/aes_gcm.h"
#include "cache/util/coding.h"
#include "cache/util/log.h"

namespace s3nbd {
namespace {

constexpr std::string_view kLeaseMagic = "s3nbd-lease 1";

// The expiry we record, rounded UP to whole seconds: others take over once their wall clock
// reaches it, which must never be sooner than `seconds` after now (the margin between our
// local validity and their takeover would otherwise lose up to 1 s to the truncation).
int64_t ExpiryFromNow(int seconds) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::ceil<std::chrono::seconds>(now).count() + seconds;
}

std::string Iso(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status BadLease(const std::string& why) { return Status::Error(EINVAL, "lease object: " + why); }

Result<int64_t> ParseI64(std::string_view field, std::string_view v) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
    return BadLease("field '" + std::string(field) + "' is not a number");
  return out;
}

std::string Token() {
  uint8_t raw[16];
  std::string hex;
  if (!RandomBytes(raw, sizeof raw).ok()) return "";
  for (uint8_t b : raw) {
    hex += "0123456789abcdef"[b >> 4];
    hex += "0123456789abcdef"[b & 15];
  }
  return hex;
}

std::string BootId() {
  FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r");
  if (!f) return "";
  char buf[64] = {0};
  if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
  std::fclose(f);
  std::string id(buf);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

// Start time of a process in clock ticks since boot (/proc/PID/stat field 22); 0 if gone.
int64_t ProcessStart(int64_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may contain spaces
  if (!p) return 0;
  int field = 2;
  for (; *p && field < 22; p++)
    if (*p == ' ') field++;
  return std::strtoll(p, nullptr, 10);
}

}  // namespace

bool HolderProcessGone(const LeaseRecord& h) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  if (h.host != host || h.boot.empty() || h.boot != BootId() || h.pid <= 0) return false;
  int64_t start = ProcessStart(h.pid);
  return start == 0 || (h.pidstart != 0 && start != h.pidstart);
}

bool HolderIsDeadHere(const LeaseRecord& h, int64_t now) {
  return HolderProcessGone(h) && now - (h.expires - h.seconds) >= 2;  // not just written
}

std::string EncodeLease(const LeaseRecord& r) {
  return std::string(kLeaseMagic) + "\nhost " + r.host + "\npid " + std::to_string(r.pid) + "\nstarted " +
         r.started + "\ntoken " + r.token + "\nexpires " + std::to_string(r.expires) + "\nseconds " +
         std::to_string(r.seconds) + "\n" + (r.boot.empty() ? "" : "boot " + r.boot + "\n") +
         (r.pidstart ? "pidstart " + std::to_string(r.pidstart) + "\n" : "");
}

Result<LeaseRecord> DecodeLease(std::string_view text) {
  if (text.size() > 4096) return BadLease("larger than 4 KiB");
  if (text.substr(0, kLeaseMagic.size()) != kLeaseMagic) return BadLease("not an s3nbd lease (bad magic)");
  LeaseRecord r;
  std::string_view rest = text.substr(kLeaseMagic.size());
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string_view name = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (name == "host") r.host = value;
    else if (name == "started") r.started = value;
    else if (name == "token") r.token = value;
    else if (name == "boot") r.boot = value;
    else if (name == "pid" || name == "expires" || name == "seconds" || name == "pidstart") {
      auto n = ParseI64(name, value);
      if (!n.ok()) return n.status();
      (name == "pid" ? r.pid : name == "expires" ? r.expires : name == "seconds" ? r.seconds : r.pidstart) = *n;
    }  // unknown fields: ignored (later versions may add some)
  }
  if (r.token.empty() || r.expires == 0) return BadLease("token or expiry missing");
  return r;
}

std::string DescribeLease(const LeaseRecord& r, int64_t now) {
  std::string s = "host " + r.host + " pid " + std::to_string(r.pid) + " (started " + r.started + "), ";
  if (r.expires > now) return s + "expires at " + Iso(r.expires) + " (in " + std::to_string(r.expires - now) + " s)";
  return s + "expired at " + Iso(r.expires) + " (" + std::to_string(now - r.expires) + " s ago)";
}

Result<std::unique_ptr<WriterLease>> WriterLease::Acquire(S3Client* client, std::string key, std::string volume,
                                                          int seconds, bool force, std::string token) {
  std::unique_ptr<WriterLease> lease(new WriterLease(client, std::move(key), std::move(volume), seconds));
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  LeaseRecord& m = lease->mine_;
  m.host = host;
  m.pid = getpid();
  m.pidstart = ProcessStart(m.pid);
  m.boot = BootId();
  m.started = Iso(WallNowSeconds());
  m.token = token.empty() ? Token() : std::move(token);
  m.seconds = seconds;
  if (m.token.empty()) return Status::Error(EIO, "lease: cannot get random bytes for the lease token");
  const std::string what = "lease: volume " + lease->volume_;
  int fresh_waits = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    Status s = lease->TryCreate(SteadyNowNs());
    if (s.ok()) return lease;
    if (s.err() != EEXIST) return s.Wrap(what);
    std::string text;
    Status g = client->Get(lease->key_, &text);
    if (g.err() == ENOENT) continue;  // released meanwhile: try again
    if (!g.ok()) return g.Wrap(what);
    auto holder = DecodeLease(text);
    int64_t now = WallNowSeconds();
    bool dead_here = holder.ok() && HolderIsDeadHere(*holder, now);
    bool expired = holder.ok() && holder->expires <= now;
    if (holder.ok() && !dead_here && !force && holder->expires > now && fresh_waits++ < 3 &&
        HolderProcessGone(*holder)) {
      // Written under 2 s ago by a process now gone: nbdkit may be between its fork and the
      // child's first renewal. Look again once the record is 2 s old.
      std::this_thread::sleep_for(std::chrono::seconds(2));
      attempt--;
      continue;
    }
    if (holder.ok() && holder->expires > now && !force && !dead_here)
      return Status::Error(EBUSY, what + ": another writer holds the lease: " + DescribeLease(*holder, now) +
                                      "; stop it, wait for the expiry, open with readonly=true, or use "
                                      "force-takeover=true if that writer is dead");
    if (!holder.ok() && !force)
      return Status::Error(EBUSY, what + ": the lease object " + lease->key_ + " is unreadable (" +
                                      holder.status().message() + "); force-takeover=true replaces it");
    // A crashed local holder is routine after kill -9 or a power cut: info, not a warning.
    Log(dead_here && !force && !expired ? LogLevel::kInfo : LogLevel::kWarning, what + ": taking over the lease of " +
               (holder.ok() ? DescribeLease(*holder, now) : std::string("an unreadable lease")) +
               (force ? " (force-takeover)" : dead_here ? " (its process on this host is gone)" : ""));
    if (Status d = client->Delete(lease->key_); !d.ok()) return d.Wrap(what + ": deleting the old lease");
  }
  return Status::Error(EBUSY, what + ": lost the race for the lease three times; another writer is starting");
}

// Create-only PUT of our record, then GET to check that the stored lease is ours.
Status WriterLease::TryCreate(int64_t started_ns) {
  mine_.expires = ExpiryFromNow(seconds_);
  S3PutOptions put;
  put.if_none_match = true;
  if (Status s = client_->Put(key_, EncodeLease(mine_), put); !s.ok()) return s;
  std::string text;
  if (Status s = client_->Get(key_, &text); !s.ok()) return s;
  auto r = DecodeLease(text);
  if (!r.ok() || r->token != mine_.token)
    return Status::Error(EEXIST, "another writer replaced the lease right after it was created");
  SetValidFrom(started_ns);
  return Status::Ok();
}

// Writes stop a little before the lease expires for others (clock skew and request time).
void WriterLease::SetValidFrom(int64_t started_ns) {
  int64_t margin = std::max<int64_t>(1, seconds_ / 10);
  valid_until_ns_.store(started_ns + (seconds_ - margin) * 1000000000LL);
}

Status WriterLease::RenewOnce() {
  const std::string what = "lease renewal: volume " + volume_;
  if (lost_) return Status::Error(EROFS, what + ": the lease was lost");
  int64_t started = SteadyNowNs();
  const S3Deadline deadline{valid_until_ns_.load(), kLeaseExpiredCause};
  if (started >= deadline.steady_ns) {
    // Not renewed in time. Whoever took the volume over after the expiry may have written and
    // even released it since: neither a blind PUT nor a fresh create is safe. Stay read-only.
    lost_ = true;
    return Status::Error(EROFS, what + ": the lease lapsed " + std::to_string((started - deadline.steady_ns) / 1000000) +
                                    " ms ago before it could be renewed; another writer may have taken the volume "
                                    "over since, so writes are refused until this server restarts");
  }
  std::string text;
  Status g = client_->Get(key_, &text, deadline);
  auto check = [&](Status got) -> Status {
    if (!got.ok() && got.err() != ENOENT) return got.Wrap(what);
    auto r = got.ok() ? DecodeLease(text) : Result<LeaseRecord>(Status::Error(ENOENT, "lease object is gone"));
    if (r.ok() && r->token == mine_.token) return Status::Ok();
    lost_ = true;
    return Status::Error(EROFS, what + ": the lease is no longer ours (" +
                                    (r.ok() ? "now held by " + DescribeLease(*r, WallNowSeconds())
                                            : r.status().message()) +
                                    "); writes are refused from now on");
  };
  if (Status s = check(g); !s.ok()) return s;
  mine_.expires = ExpiryFromNow(seconds_);
  S3PutOptions put;
  put.deadline = deadline;  // never lands after the validity it extends
  if (Status s = client_->Put(key_, EncodeLease(mine_), put); !s.ok()) return s.Wrap(what);
  if (Status s = check(client_->Get(key_, &text, deadline)); !s.ok()) return s;
  SetValidFrom(started);
  return Status::Ok();
}

void WriterLease::StartRenewal() {
  {
    MutexLock lock(&mu_);
    if (thread_.joinable()) return;
    serving_pid_ = getpid();
    mine_.pid = serving_pid_;  // nbdkit may have forked since Acquire: record the server now,
    mine_.pidstart = ProcessStart(serving_pid_);  // before it serves (HolderIsDeadHere)
  }
  if (Status s = RenewOnce(); !s.ok()) LogWarning(s.message() + " (retrying)");
  MutexLock lock(&mu_);
  thread_ = std::thread([this] { RenewLoop(); });
}

void WriterLease::RenewInBackground() {
  MutexLock lock(&mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { RenewLoop(); });
}

void WriterLease::RenewLoop() {
  MutexLock lock(&mu_);
  auto period = std::chrono::milliseconds(std::max(500, seconds_ * 1000 / 3));
  bool warned_lapse = false;
  for (;;) {
    const auto deadline = std::chrono::steady_clock::now() + period;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) cv_.WaitUntil(&mu_, deadline);
    if (stop_) return;
    lock.Unlock();
    Status s = RenewOnce();
    lock.Lock();
    if (s.ok()) {
      period = std::chrono::milliseconds(std::max(500, seconds_ * 1000 / 3));
      warned_lapse = false;
      continue;
    }
    if (lost_) {
      LogError(s.message());
      return;
    }
    LogWarning(s.message() + " (retrying)");
    period = std::chrono::milliseconds(1000);
    if (!warned_lapse && SteadyNowNs() >= valid_until_ns_.load()) {
      LogError("lease: volume " + volume_ + ": lease could not be renewed before it expired; writes are refused");
      warned_lapse = true;
    }
  }
}

Result<int64_t> WriterLease::WriteDeadline(uint64_t block) const {
  const int64_t until = valid_until_ns_.load();
  if (Status s = CheckWritable(block); !s.ok()) return s;
  return until;
}

Status WriterLease::CheckWritable(uint64_t block) const {
  if (lost_)
    return Status::Error(EROFS, "block " + std::to_string(block) + ": the writer lease was lost (to another writer, "
                                "or it lapsed before a renewal); writes are refused");
  if (SteadyNowNs() >= valid_until_ns_.load())
    return Status::Error(EROFS, "block " + std::to_string(block) + ": the writer lease expired (renewal failed); "
                                "writes are refused");
  return Status::Ok();
}

void WriterLease::Release() {
  StopRenewal();
  // Past its validity the lease may be another writer's by the time a DELETE lands: leave it
  // to expire.
  const S3Deadline deadline{valid_until_ns_.load(), kLeaseExpiredCause};
  if (lost_ || SteadyNowNs() >= deadline.steady_ns) return;
  std::string text;
  if (!client_->Get(key_, &text, deadline).ok()) return;
  auto r = DecodeLease(text);
  if (!r.ok() || r->token != mine_.token) return;  // not ours any more: leave it alone
  Status s = client_->Delete(key_, deadline);
  if (s.ok()) LogInfo("lease: volume " + volume_ + ": released");
  else LogWarning(s.Wrap("lease: volume " + volume_ + ": releasing").message());
}

void WriterLease::StopRenewal() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  MutexLock lock(&mu_);
  stop_ = false;  // may be started again (after the fork)
}

WriterLease::~WriterLease() {
  // No release here: nbdkit's parent exits after fork with a copy of us. The lease is released
  // explicitly by the serving process's clean shutdown or by a failed open (OpenedVolume).
  StopRenewal();
}

Status LeaseGuardStore::Write(uint64_t block, std::string_view data) {
  if (Status s = lease_->CheckWritable(block); !s.ok()) return s;
  return inner()->Write(block, data);
}

Status LeaseGuardStore::WriteRange(uint64_t block, uint32_t offset, uint32_t len, const char* src) {
  if (Status s = lease_->CheckWritable(block); !s.ok()) return s;
  return inner()->WriteRange(block, offset, len, src);
}

Status LeaseGuardStore::Erase(std::span<const uint64_t> blocks) {
  if (Status s = lease_->CheckWritable(blocks.empty() ? 0 : blocks[0]); !s.ok()) return s;
  return inner()->Erase(blocks);
}

}  // namespace s3nbd
