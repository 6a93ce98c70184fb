// Latency and throughput samples; see probe_samples.h. The parallel round's threads share
// nothing but the client (thread-safe) and the area (its own lock); each writes its own slot.
#include "cache/s3/probe_samples.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace s3nbd {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double Rank(const std::vector<double>& sorted, double p) {
  size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(i, 1, sorted.size()) - 1];
}

Status CheckBody(const std::string& key, const std::string& got, const std::string& want) {
  if (got == want) return Status::Ok();
  return Status::Error(EIO, "GET " + key + ": read back " + std::to_string(got.size()) +
                                " bytes that differ from the " + std::to_string(want.size()) +
                                " written");
}

}  // namespace

LatencyStats Summarize(std::vector<double> ms, uint64_t bytes_each) {
  LatencyStats st;
  st.count = static_cast<int>(ms.size());
  if (ms.empty()) return st;
  std::sort(ms.begin(), ms.end());
  st.p50_ms = Rank(ms, 0.50);
  st.p99_ms = Rank(ms, 0.99);
  for (double v : ms) st.total_seconds += v / 1000.0;
  st.bytes = bytes_each * ms.size();
  return st;
}

double MiBPerSecond(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds : 0;
}

std::string RandomBytes(size_t n) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng() | 1;  // never all zero
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

LatencySample SampleLatency(ProbeArea& area, const std::string& dir, size_t size, int samples,
                            const std::atomic<bool>* stop) {
  LatencySample out;
  auto stopped = [&] {
    if (stop == nullptr || !stop->load()) return false;
    out.status = Status::Error(ECANCELED, "interrupted");
    return true;
  };
  std::vector<std::string> bodies;
  std::vector<double> put_ms, get_ms;
  for (int i = 0; i < samples; ++i) bodies.push_back(RandomBytes(size));
  // All PUTs first, then all GETs: a GET right after its own PUT may be served from a cache
  // on the way that a real block read would not hit.
  Clock::time_point t0;
  for (int i = 0; i < samples && out.status.ok() && !stopped(); ++i) {
    t0 = Clock::now();
    out.status = area.Put(dir + "/" + std::to_string(i), bodies[i]);
    if (out.status.ok()) put_ms.push_back(MsSince(t0));
  }
  for (int i = 0; i < static_cast<int>(put_ms.size()) && out.status.ok() && !stopped(); ++i) {
    const std::string key = area.Key(dir + "/" + std::to_string(i));
    std::string back;
    t0 = Clock::now();
    out.status = area.client().Get(key, &back);
    if (out.status.ok()) {
      get_ms.push_back(MsSince(t0));
      out.status = CheckBody(key, back, bodies[i]);
    }
  }
  out.put = Summarize(std::move(put_ms), size);
  out.get = Summarize(std::move(get_ms), size);
  return out;
}

ThroughputSample SampleThroughput(ProbeArea& area, const std::string& dir, size_t size,
                                  int parallel) {
  ThroughputSample out;
  out.objects = parallel;
  std::vector<std::string> bodies;
  for (int i = 0; i < parallel; ++i) bodies.push_back(RandomBytes(size));
  std::vector<Status> results(parallel);
  auto run = [&](bool put) {
    std::vector<std::thread> threads;
    auto t0 = Clock::now();
    for (int i = 0; i < parallel; ++i) {
      threads.emplace_back([&, i, put] {
        const std::string name = dir + "/" + std::to_string(i);
        if (put) {
          results[i] = area.Put(name, bodies[i]);
          return;
        }
        std::string back;
        results[i] = area.client().Get(area.Key(name), &back);
        if (results[i].ok()) results[i] = CheckBody(area.Key(name), back, bodies[i]);
      });
    }
    for (std::thread& t : threads) t.join();
    double seconds = MsSince(t0) / 1000.0;
    for (const Status& s : results)
      if (!s.ok()) return std::pair<Status, double>(s, 0.0);
    return std::pair<Status, double>(Status::Ok(), MiBPerSecond(size * parallel, seconds));
  };
  auto [put_status, put_rate] = run(true);
  out.status = put_status;
  out.put_mib_s = put_rate;
  if (!out.status.ok()) return out;
  auto [get_status, get_rate] = run(false);
  out.status = get_status;
  out.get_mib_s = get_rate;
  return out;
}

}  // namespace s3nbd
