// The doctor's performance samples: sequential PUT/GET latencies of objects of one size (median
// and p99, nearest rank) and a parallel PUT/GET round for throughput, all in a ProbeArea and
// every GET checked against what was written. Summaries are pure; the parallel round runs its
// own threads and joins them before it returns (each thread uses only its own objects).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "cache/s3/probe_area.h"
#include "cache/util/status.h"

namespace s3nbd {

struct LatencyStats {
  int count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double total_seconds = 0;  // sum of the samples
  uint64_t bytes = 0;        // moved by all samples
};

// Nearest-rank percentiles of `ms`; bytes = bytes_each * ms.size().
LatencyStats Summarize(std::vector<double> ms, uint64_t bytes_each);
// 0 when seconds is not positive.
double MiBPerSecond(uint64_t bytes, double seconds);
// n pseudo-random bytes (not all zero, different per call).
std::string RandomBytes(size_t n);

struct LatencySample {
  LatencyStats put, get;
  Status status;  // the first failure; the stats hold the samples before it
};

// `samples` PUTs of fresh objects `dir`/0.. of `size` bytes one after another, then a GET of
// each (checked byte for byte). A set `stop` ends it early with ECANCELED.
LatencySample SampleLatency(ProbeArea& area, const std::string& dir, size_t size, int samples,
                            const std::atomic<bool>* stop = nullptr);

struct ThroughputSample {
  int objects = 0;
  double put_mib_s = 0, get_mib_s = 0;  // all bytes / wall time of the round
  Status status;
};

// `parallel` objects `dir`/0.. of `size` bytes PUT at once (one thread each), then GET at once.
ThroughputSample SampleThroughput(ProbeArea& area, const std::string& dir, size_t size,
                                  int parallel);

}  // namespace s3nbd
