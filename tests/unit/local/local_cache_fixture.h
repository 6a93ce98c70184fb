// LocalCacheFixture: a temp cache file, a test-owned MemoryBlockStore behind a GatedStore,
// and small-cache options for LocalCacheStore tests; Poke and Geometry for corrupting a cache
// file at a known place. Single-threaded setup.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "cache/local/local_cache_store.h"
#include "tests/unit/local/local_test_util.h"

namespace s3nbd::testing {

// Flips bits x of the byte at `offset` of a file (a corrupted cache file).
inline void Poke(const std::string& path, uint64_t offset, uint8_t x) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(offset)), 1);
  b ^= x;
  ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

// The geometry a cache file made with options `o` for TestVolume() has.
inline CacheHeader Geometry(const CacheOptions& o) {
  return MakeCacheHeader(TestVolume().uuid, 4096, TestVolume().volume_size, o.size);
}

class LocalCacheFixture : public ::testing::Test {
 protected:
  CacheOptions Options(uint64_t slots = 64) {
    CacheOptions o;
    o.path = dir_.File("cache");
    o.size = kCacheHeaderSize + slots * (4096 + kCacheRecordSize);
    o.writeback_threads = 4;
    o.prefetch_threads = 2;
    o.writeback_delay = std::chrono::milliseconds(0);
    o.dirty_wait_timeout = std::chrono::milliseconds(10000);
    o.retry_delay = std::chrono::milliseconds(1);
    o.max_retry_delay = std::chrono::milliseconds(5);
    return o;
  }
  Result<std::unique_ptr<LocalCacheStore>> TryOpen(const CacheOptions& o,
                                                   VolumeIdentity id = TestVolume(),
                                                   bool probe = false) {
    auto inner = std::make_unique<GatedStore>(&mem_, probe);
    gate_ = inner.get();
    return LocalCacheStore::Create(o, std::move(inner), id);
  }
  std::unique_ptr<LocalCacheStore> Open(const CacheOptions& o, bool probe = false) {
    auto r = TryOpen(o, TestVolume(), probe);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  TempDir dir_;
  MemoryBlockStore mem_;
  GatedStore* gate_ = nullptr;
};

}  // namespace s3nbd::testing
