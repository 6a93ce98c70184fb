// The statistics file writer; see stats_file.h and docs/stats.md.
#include "nbdkit-plugin/stats_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cache/util/log.h"
#include "nbdkit-plugin/stats_keys.h"

namespace s3nbd::plugin {

std::string FormatStatsFile(const StatsValues& values) {
  std::string out = "s3nbd-stats " + std::to_string(kStatsFormatVersion) + "\n";
  for (const auto& [k, v] : values) out += k + " " + std::to_string(v) + "\n";
  return out;
}

StatsFileWriter::StatsFileWriter(std::string path, Sampler sampler,
                                 std::chrono::milliseconds interval)
    : path_(std::move(path)), sampler_(std::move(sampler)), interval_(interval) {}

StatsFileWriter::~StatsFileWriter() { Stop(); }

Status StatsFileWriter::WriteOnce() {
  StatsValues values;
  sampler_(&values);
  auto up =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  values.emplace_back(stats::kPid, static_cast<uint64_t>(getpid()));
  values.emplace_back(stats::kUptimeSeconds, static_cast<uint64_t>(up.count()));
  values.emplace_back(stats::kUpdatedUnix, static_cast<uint64_t>(std::time(nullptr)));
  std::string text = FormatStatsFile(values);
  std::string tmp = path_ + ".tmp";
  auto fail = [&](const char* what) {
    int err = errno;
    return Status::Error(err,
                         "statsfile: " + std::string(what) + " " + tmp + ": " + std::strerror(err));
  };
  // A fresh file, never through a symlink or into an existing file someone planted there
  // (an unlink that fails shows as the create's error below).
  (void)::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = fail("cannot write");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return fail("cannot close");
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("cannot rename over the stats file:");
  return Status::Ok();
}

void StatsFileWriter::Start() {
  if (thread_.joinable()) return;
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void StatsFileWriter::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
  (void)WriteOnce();  // the final counters; a failure was already reported by the loop
}

void StatsFileWriter::Loop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    lock.Unlock();
    Status s = WriteOnce();
    if (!s.ok() && !warned_) LogWarning(s.message() + " (reported once; retrying every interval)");
    warned_ = warned_ || !s.ok();
    lock.Lock();
    const auto deadline = std::chrono::steady_clock::now() + interval_;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) cv_.WaitUntil(&mu_, deadline);
  }
}

}  // namespace s3nbd::plugin
