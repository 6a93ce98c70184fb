// nbdkit-s3nbd-plugin: the nbdkit callback table. Parses parameters into VolumeOptions,
// opens the volume before nbdkit forks (so configuration errors reach the terminal),
// starts worker threads after the fork, and translates Status into nbdkit errors.
// No exception crosses into nbdkit: every callback catches and reports EIO.
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "cache/local/local_cache_store.h"
#include "cache/util/log.h"
#include "cache/volume/volume_config.h"
#include "cache/volume/volume_factory.h"
#include "nbdkit-plugin/stats_file.h"
#include "nbdkit-plugin/stats_keys.h"

// PARALLEL: requests on all connections run concurrently; Volume serialises writers of
// the same block itself and every lower layer is thread-safe.
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace {

using s3nbd::Status;

s3nbd::VolumeOptions g_options;
std::unique_ptr<s3nbd::OpenedVolume> g_volume;
// statsfile=PATH (plugin-level, not a volume option): the stats file of docs/stats.md.
std::string g_stats_path;
s3nbd::plugin::RequestCounters g_requests;
std::unique_ptr<s3nbd::plugin::StatsFileWriter> g_stats;
const std::string g_config_help = std::string(s3nbd::kVolumeOptionHelp) +
    "\nstatsfile=PATH        write statistics to PATH every second (docs/stats.md; s3nbd stats)";

void SampleStats(s3nbd::plugin::StatsValues* out) {
  namespace stats = s3nbd::stats;  // the keys: nbdkit-plugin/stats_keys.h
  auto add = [&](const char* k, const std::atomic<uint64_t>& v) {
    out->emplace_back(k, v.load(std::memory_order_relaxed));
  };
  add(stats::kRequestsRead, g_requests.read);
  add(stats::kRequestsWrite, g_requests.write);
  add(stats::kRequestsFlush, g_requests.flush);
  add(stats::kRequestsTrim, g_requests.trim);
  add(stats::kRequestsZero, g_requests.zero);
  add(stats::kRequestsExtents, g_requests.extents);
  add(stats::kRequestsErrors, g_requests.errors);
  add(stats::kBytesRead, g_requests.bytes_read);
  add(stats::kBytesWritten, g_requests.bytes_written);
  const s3nbd::S3Counters& c = g_volume->client().counters();
  add(stats::kS3Get, c.get);
  add(stats::kS3Put, c.put);
  add(stats::kS3Delete, c.del);
  add(stats::kS3List, c.list);
  add(stats::kS3Head, c.head);
  add(stats::kS3MultiDelete, c.multi_delete);
  add(stats::kS3Retries, c.retries);
  add(stats::kS3Errors, c.errors);
  add(stats::kS3BytesIn, c.bytes_in);
  add(stats::kS3BytesOut, c.bytes_out);
  if (const s3nbd::LocalCacheStore* cache = g_volume->cache()) {  // absent keys show as "-"
    const s3nbd::CacheCounters& k = cache->counters();
    add(stats::kCacheHits, k.hits);
    add(stats::kCacheMisses, k.misses);
    add(stats::kCacheReadaheadHits, k.readahead_hits);
    add(stats::kCacheAbsentReads, k.absent_reads);
    add(stats::kCacheCoalescedMisses, k.coalesced_misses);
    add(stats::kCacheDirtyBytes, k.dirty_bytes);
    add(stats::kWritebackQueue, k.writeback_queue);
    add(stats::kCacheUploads, k.uploads);
    add(stats::kCacheErases, k.erases);
    add(stats::kCacheEvictions, k.evictions);
    add(stats::kCacheErrors, k.errors);
    add(stats::kCacheWriteWaits, k.write_waits);
    add(stats::kCacheWriteWaitMs, k.write_wait_ms);
    add(stats::kUploadsInFlight, k.uploads_in_flight);
    add(stats::kCacheWritesInPlace, k.writes_in_place);
  }
}

void NbdkitSink(s3nbd::LogLevel level, const std::string& message) {
  switch (level) {
    case s3nbd::LogLevel::kError: nbdkit_error("%s", message.c_str()); break;
    case s3nbd::LogLevel::kWarning: nbdkit_error("warning: %s", message.c_str()); break;
    default: nbdkit_debug("%s", message.c_str()); break;
  }
}

// The NBD protocol carries only a few errno values; nbdkit turns every other one into EINVAL,
// which would tell a client "invalid argument" for an unreachable S3 server (EHOSTUNREACH),
// a timeout, a refused credential or a corrupt object. Those are I/O errors: send EIO.
int NbdErrno(int err) {
  switch (err) {
    case EPERM: case EROFS: case EIO: case ENOMEM: case EINVAL: case ENOSPC: case EDQUOT:
    case EFBIG: case EOVERFLOW: case ENOTSUP: case ESHUTDOWN:
      return err;
    default:
      return EIO;
  }
}

int Fail(const Status& s) {
  g_requests.errors++;
  nbdkit_error("%s", s.message().c_str());
  nbdkit_set_error(NbdErrno(s.err()));
  return -1;
}

template <typename F>
int Guard(const char* op, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Fail(Status::Error(EIO, std::string(op) + ": internal error: " + e.what()));
  } catch (...) {
    return Fail(Status::Error(EIO, std::string(op) + ": internal error"));
  }
}

void s3nbd_load() { s3nbd::SetLogSink(NbdkitSink); }

void s3nbd_unload() {
  g_stats.reset();
  g_volume.reset();
}

int s3nbd_config(const char* key, const char* value) {
  return Guard("config", [&] {
    if (std::strcmp(key, "statsfile") == 0) {
      if (!*value) return Fail(Status::Error(EINVAL, "statsfile: must not be empty"));
      g_stats_path = value;
      return 0;
    }
    Status s = s3nbd::SetVolumeOption(&g_options, key, value);
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_config_complete() {
  return Guard("config", [&] {
    Status s = s3nbd::CheckVolumeOptions(g_options);
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_get_ready() {
  return Guard("open", [&] {
    auto v = s3nbd::OpenedVolume::Open(g_options);
    if (!v.ok()) return Fail(v.status());
    g_volume = std::move(*v);
    if (!g_stats_path.empty()) {
      // Written once now so a bad path is refused before nbdkit forks.
      g_stats = std::make_unique<s3nbd::plugin::StatsFileWriter>(g_stats_path, SampleStats);
      if (Status s = g_stats->WriteOnce(); !s.ok()) {
        g_stats.reset();
        g_volume->ReleaseLease();  // refused to start: do not keep other writers out
        g_volume.reset();
        return Fail(s);
      }
    }
    return 0;
  });
}

int s3nbd_after_fork() {
  return Guard("start", [&] {
    g_volume->Start();
    if (g_stats) g_stats->Start();
    return 0;
  });
}

void s3nbd_cleanup() {
  g_stats.reset();  // joins the writer (it samples g_volume) and writes the last counters
  if (!g_volume) return;
  Status s = g_volume->Shutdown();  // drains dirty cache data, bounded by shutdown-timeout
  if (!s.ok()) nbdkit_error("%s", s.message().c_str());
  g_volume.reset();
}

void* s3nbd_open(int /*readonly*/) {
  static int handle;  // all state is global; connections share the volume
  return &handle;
}

int64_t s3nbd_get_size(void*) { return static_cast<int64_t>(g_volume->volume().size()); }

int s3nbd_block_size(void*, uint32_t* minimum, uint32_t* preferred, uint32_t* maximum) {
  *minimum = 1;
  *preferred = g_volume->volume().block_size();
  *maximum = 0xffffffff;
  return 0;
}

int s3nbd_can_write(void*) { return g_options.readonly ? 0 : 1; }
int s3nbd_can_multi_conn(void*) { return 1; }
int s3nbd_can_flush(void*) { return 1; }
int s3nbd_can_trim(void*) { return 1; }
int s3nbd_can_zero(void*) { return 1; }
int s3nbd_can_fast_zero(void*) { return 1; }  // never slower than writing the zeros
int s3nbd_can_extents(void*) { return 1; }
// Without a cache every acknowledged write is already a completed PUT: FUA is native. With
// the cache, nbdkit follows a FUA write with a FLUSH, which honours the flush= policy.
int s3nbd_can_fua(void*) { return g_options.cache.path.empty() ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_EMULATE; }

int s3nbd_pread(void*, void* buf, uint32_t count, uint64_t offset, uint32_t) {
  g_requests.read++;
  return Guard("pread", [&] {
    Status s = g_volume->volume().Read(buf, count, offset);
    if (s.ok()) g_requests.bytes_read += count;
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_pwrite(void*, const void* buf, uint32_t count, uint64_t offset, uint32_t) {
  g_requests.write++;
  return Guard("pwrite", [&] {
    Status s = g_volume->volume().Write(buf, count, offset);
    if (s.ok()) g_requests.bytes_written += count;
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_flush(void*, uint32_t) {
  g_requests.flush++;
  return Guard("flush", [&] {
    Status s = g_volume->volume().Flush();
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_trim(void*, uint32_t count, uint64_t offset, uint32_t) {
  g_requests.trim++;
  return Guard("trim", [&] {
    Status s = g_volume->volume().Zero(count, offset);
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_zero(void*, uint32_t count, uint64_t offset, uint32_t) {
  g_requests.zero++;
  return Guard("zero", [&] {
    Status s = g_volume->volume().Zero(count, offset);
    return s.ok() ? 0 : Fail(s);
  });
}

int s3nbd_extents(void*, uint32_t count, uint64_t offset, uint32_t, struct nbdkit_extents* extents) {
  g_requests.extents++;
  return Guard("extents", [&] {
    Status s = g_volume->volume().Extents(count, offset, [&](uint64_t off, uint64_t len, bool hole) {
      uint32_t type = hole ? (NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO) : 0;
      if (nbdkit_add_extent(extents, off, len, type) == -1)
        return Status::Error(errno ? errno : EIO, "extents: cannot add extent");
      return Status::Ok();
    });
    return s.ok() ? 0 : Fail(s);
  });
}

struct nbdkit_plugin MakePlugin() {
  struct nbdkit_plugin p;
  std::memset(&p, 0, sizeof p);
  p.name = "s3nbd";
  p.longname = "s3nbd: a block device stored in S3";
  p.version = "0.1.0";
  p.description = "Serves a virtual disk whose blocks are objects in an S3 bucket.";
  p.load = s3nbd_load;
  p.unload = s3nbd_unload;
  p.config = s3nbd_config;
  p.config_complete = s3nbd_config_complete;
  p.config_help = g_config_help.c_str();
  p.magic_config_key = nullptr;
  p.get_ready = s3nbd_get_ready;
  p.after_fork = s3nbd_after_fork;
  p.cleanup = s3nbd_cleanup;
  p.open = s3nbd_open;
  p.get_size = s3nbd_get_size;
  p.block_size = s3nbd_block_size;
  p.can_write = s3nbd_can_write;
  p.can_multi_conn = s3nbd_can_multi_conn;
  p.can_flush = s3nbd_can_flush;
  p.can_trim = s3nbd_can_trim;
  p.can_zero = s3nbd_can_zero;
  p.can_fast_zero = s3nbd_can_fast_zero;
  p.can_extents = s3nbd_can_extents;
  p.can_fua = s3nbd_can_fua;
  p.pread = s3nbd_pread;
  p.pwrite = s3nbd_pwrite;
  p.flush = s3nbd_flush;
  p.trim = s3nbd_trim;
  p.zero = s3nbd_zero;
  p.extents = s3nbd_extents;
  p.errno_is_preserved = 0;
  return p;
}

struct nbdkit_plugin plugin = MakePlugin();

}  // namespace

NBDKIT_REGISTER_PLUGIN(plugin)
