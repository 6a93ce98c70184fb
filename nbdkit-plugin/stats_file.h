// StatsFile: the plugin's statistics file (format in docs/stats.md): "key value" lines,
// rewritten atomically (tmp + rename) every second by one background thread, read by
// `s3nbd stats`. RequestCounters are relaxed atomics bumped by the nbdkit callbacks.
// Lock rule: mu_ guards stop_ only (annotated); the sampler runs on the writer thread without it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cache/util/mutex.h"
#include "cache/util/status.h"

namespace s3nbd::plugin {

constexpr int kStatsFormatVersion = 1;

struct RequestCounters {
  std::atomic<uint64_t> read{0}, write{0}, flush{0}, trim{0}, zero{0}, extents{0}, errors{0};
  std::atomic<uint64_t> bytes_read{0}, bytes_written{0};
};

using StatsValues = std::vector<std::pair<std::string, uint64_t>>;

// "s3nbd-stats 1\n" then one "key value\n" per entry, in the given order.
std::string FormatStatsFile(const StatsValues& values);

class StatsFileWriter {
 public:
  // Fills `out` with the current values (appends); called on the writer thread.
  using Sampler = std::function<void(StatsValues* out)>;

  StatsFileWriter(std::string path, Sampler sampler,
                  std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~StatsFileWriter();  // Stop()
  StatsFileWriter(const StatsFileWriter&) = delete;
  StatsFileWriter& operator=(const StatsFileWriter&) = delete;

  // Samples and writes the file now: PATH.tmp, then rename over PATH.
  Status WriteOnce();
  void Start() EXCLUDES(mu_);  // the background thread (call after nbdkit forked)
  void Stop() EXCLUDES(mu_);   // joins the thread and writes a last snapshot

 private:
  void Loop();

  std::string path_;
  Sampler sampler_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool warned_ = false;  // writer thread only
  std::thread thread_;
};

}  // namespace s3nbd::plugin
