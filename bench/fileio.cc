// s3nbd-bench-fileio: does io_uring (RunOnThreadRing, one submit-and-wait per batch) beat plain
// pread/pwrite on the cache file, and does the cache's choice for buffered files (RunCacheIo:
// plain syscalls) keep their speed? Times reads and writes of 4 KiB and 1 MiB at random
// aligned offsets of a page-cached file, one op per call (what a cache hit costs) and batches
// of 8 (one NBD request over 8 blocks). Prints one FILEIO line per case and RATIO lines against
// pread/pwrite (> 1: faster). Single-threaded; no lock.
//   s3nbd-bench-fileio DIR [SECONDS_PER_CASE]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cache/local/uring_file.h"

namespace {

using s3nbd::IoOp;
constexpr uint64_t kFileBytes = 256ull << 20;
constexpr int kRounds = 5;

struct Case {
  const char* name;
  IoOp::Kind kind;
  size_t len;
  int batch;
};

enum class Path { kSyscalls, kRing, kCache };

double Run(int fd, const Case& c, Path path, double seconds, std::vector<uint8_t>& buf) {
  std::mt19937_64 rng(42);
  const uint64_t slots = kFileBytes / c.len;
  std::vector<IoOp> ops(c.batch);
  uint64_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (int rep = 0; rep < 64; rep++) {
      for (int i = 0; i < c.batch; i++) {
        ops[i] = IoOp{c.kind, fd, buf.data() + i * c.len, c.len, (rng() % slots) * c.len};
      }
      if (path == Path::kRing) {
        if (!s3nbd::RunOnThreadRing(ops).ok()) std::exit(1);
      } else if (path == Path::kCache) {
        if (!s3nbd::RunCacheIo(ops, false).ok()) std::exit(1);  // buffered, as here
      } else {
        for (IoOp& op : ops) {
          ssize_t n = c.kind == IoOp::Kind::kRead ? pread(fd, op.buf, op.len, op.offset)
                                                  : pwrite(fd, op.buf, op.len, op.offset);
          if (n != static_cast<ssize_t>(op.len)) std::exit(1);
        }
      }
      done += c.batch;
    }
  }
  return done / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: s3nbd-bench-fileio DIR [SECONDS_PER_CASE]\n");
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const std::string path = std::string(argv[1]) + "/fileio.dat";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, kFileBytes) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  std::vector<uint8_t> buf(8 << 20, 0x5a);
  for (uint64_t off = 0; off < kFileBytes; off += buf.size())  // in the page cache, allocated
    if (pwrite(fd, buf.data(), buf.size(), off) != static_cast<ssize_t>(buf.size())) return 1;
  if (fdatasync(fd) != 0) return 1;  // no writeback of the fill left to disturb the first case
  const Case cases[] = {
      {"read-4k", IoOp::Kind::kRead, 4096, 1},      {"write-4k", IoOp::Kind::kWrite, 4096, 1},
      {"read-1m", IoOp::Kind::kRead, 1 << 20, 1},   {"write-1m", IoOp::Kind::kWrite, 1 << 20, 1},
      {"read-4k-x8", IoOp::Kind::kRead, 4096, 8},   {"read-1m-x8", IoOp::Kind::kRead, 1 << 20, 8},
      {"write-4k-x8", IoOp::Kind::kWrite, 4096, 8}, {"write-1m-x8", IoOp::Kind::kWrite, 1 << 20, 8},
  };
  for (const Case& c : cases) {
    // Interleaved rounds, best of each: the machine is shared and page writeback comes and goes.
    double p = 0, u = 0, k = 0;
    for (int round = 0; round < kRounds; round++) {
      p = std::max(p, Run(fd, c, Path::kSyscalls, seconds / kRounds, buf));
      u = std::max(u, Run(fd, c, Path::kRing, seconds / kRounds, buf));
      k = std::max(k, Run(fd, c, Path::kCache, seconds / kRounds, buf));
    }
    std::printf("FILEIO %-11s pread/pwrite %9.0f  io_uring %9.0f  cache path %9.0f ops/s\n", c.name, p,
                u, k);
    std::printf("RATIO fileio-%s uring/pread = %.3f\n", c.name, u / p);
    std::printf("RATIO fileio-%s cache-path/pread = %.3f\n", c.name, k / p);
  }
  close(fd);
  unlink(path.c_str());
  return 0;
}
