// s3load: the raw S3 side's limit for the benchmark — N threads doing PUT or GET of
// block-sized objects with our S3Client, bounded by an object count and a time budget.
// Each thread takes the next object index from one atomic counter; latencies are kept
// per thread and merged at the end (no shared mutable state besides the counter).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cache/s3/credential_chain.h"
#include "cache/s3/s3_client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string op, endpoint, bucket, prefix = "s3load";
  uint64_t object_size = 1 << 20;
  uint64_t count = 1024;
  int threads = 16;
  double seconds = 60;
};

int Usage() {
  std::fprintf(stderr,
               "usage: s3load put|get|clean|mkbucket --endpoint URL --bucket NAME [--prefix P]\n"
               "              [--object-size BYTES] [--count N] [--threads N] [--seconds S]\n"
               "  put/get: N threads PUT/GET objects P/<i> (i < count) until done or S seconds\n"
               "  clean:   delete every object under P/;  mkbucket: create the bucket\n"
               "  credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials\n"
               "  prints: s3load op=.. objects=.. bytes=.. seconds=.. MBps=.. ops=.. p50_ms=.. p99_ms=.. errors=..\n");
  return 2;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  a->op = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--endpoint") a->endpoint = v;
    else if (k == "--bucket") a->bucket = v;
    else if (k == "--prefix") a->prefix = v;
    else if (k == "--object-size") a->object_size = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--count") a->count = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--threads") a->threads = std::atoi(v.c_str());
    else if (k == "--seconds") a->seconds = std::atof(v.c_str());
    else return false;
  }
  if ((argc - 2) % 2 != 0) return false;
  return !a->endpoint.empty() && !a->bucket.empty() && a->threads > 0 && a->threads <= 1024 &&
         a->object_size > 0 && a->seconds > 0;
}

std::string Key(const Args& a, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(i));
  return a.prefix + "/" + buf;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

int RunLoad(const Args& a, s3nbd::S3Client& client) {
  bool put = a.op == "put";
  std::atomic<uint64_t> next{0}, bytes{0}, errors{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(a.threads));
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(a.seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < a.threads; t++) {
    workers.emplace_back([&, t] {
      std::string body, got;
      if (put) {  // distinct, non-zero content per thread; the index is stamped in per object
        body.assign(a.object_size, static_cast<char>('a' + t % 26));
      }
      for (;;) {
        uint64_t i = next.fetch_add(1);
        if (i >= a.count || Clock::now() >= deadline) break;
        auto t0 = Clock::now();
        s3nbd::Status st;
        if (put) {
          std::memcpy(body.data(), &i, std::min<size_t>(sizeof i, body.size()));
          st = client.Put(Key(a, i), body);
        } else {
          st = client.Get(Key(a, i), &got);
        }
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!st.ok()) {
          if (errors.fetch_add(1) < 5) std::fprintf(stderr, "s3load: %s\n", st.message().c_str());
          continue;
        }
        bytes += put ? body.size() : got.size();
        lat[static_cast<size_t>(t)].push_back(ms);
      }
    });
  }
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  size_t n = all.size();
  double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  std::printf("s3load op=%s objects=%zu bytes=%llu seconds=%.3f MBps=%.1f ops=%.1f p50_ms=%.2f p99_ms=%.2f errors=%llu\n",
              a.op.c_str(), n, static_cast<unsigned long long>(bytes.load()), secs,
              static_cast<double>(bytes.load()) / 1e6 / secs, static_cast<double>(n) / secs, p50, p99,
              static_cast<unsigned long long>(errors.load()));
  return errors.load() == 0 ? 0 : 1;
}

int Clean(const Args& a, s3nbd::S3Client& client) {
  std::vector<std::string> keys;
  s3nbd::Status st = client.List(a.prefix.empty() ? "" : a.prefix + "/", [&](const s3nbd::S3ObjectInfo& o) {
    keys.push_back(o.key);
    return s3nbd::Status::Ok();
  });
  if (st.ok() && !keys.empty()) st = client.DeleteMany(keys);
  if (!st.ok()) {
    std::fprintf(stderr, "s3load clean: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("s3load op=clean deleted=%zu\n", keys.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return Usage();
  auto creds = s3nbd::OpenCredentials(s3nbd::CredentialOptions{});
  if (!creds.ok()) {
    std::fprintf(stderr, "s3load: %s\n", creds.status().message().c_str());
    return 1;
  }
  s3nbd::S3Config cfg;
  cfg.endpoint = a.endpoint;
  cfg.bucket = a.bucket;
  cfg.credential_source = *creds;
  cfg.max_connections = a.threads;
  cfg.retry_seconds = 30;
  auto client = s3nbd::S3Client::Create(cfg);
  if (!client.ok()) {
    std::fprintf(stderr, "s3load: %s\n", client.status().message().c_str());
    return 1;
  }
  if (a.op == "put" || a.op == "get") return RunLoad(a, **client);
  if (a.op == "clean") return Clean(a, **client);
  if (a.op == "mkbucket") {
    s3nbd::Status st = (*client)->CreateBucket();
    if (!st.ok()) std::fprintf(stderr, "s3load mkbucket: %s\n", st.message().c_str());
    return st.ok() ? 0 : 1;
  }
  return Usage();
}
