// Volume option parsing; see volume_config.h.
#include "cache/volume/volume_config.h"

#include <charconv>

namespace s3nbd {

const char* const kVolumeOptionHelp =
    "endpoint=URL          (required) S3 endpoint, http://host:port or https://host\n"
    "bucket=NAME           (required) bucket holding the volume\n"
    "prefix=STRING         key prefix of the volume in the bucket (default: bucket root)\n"
    "region=NAME           SigV4 region (default us-east-1)\n"
    "addressing=path|virtual  path-style (default) or virtual-host-style URLs\n"
    "ca-file=PATH          CA bundle for https (default: the system store)\n"
    "credentials-file=PATH AWS-style credentials file (default: the AWS credential chain:\n"
    "                      environment, profile, web identity, container, EC2 metadata v2)\n"
    "profile=NAME          profile in credentials-file or ~/.aws/config and ~/.aws/credentials\n"
    "                      (role_arn, credential_process too; default: $AWS_PROFILE or 'default')\n"
    "size=SIZE             expected volume size; refused if the volume differs\n"
    "block-size=SIZE       expected block size; refused if the volume differs\n"
    "connections=N         parallel S3 connections and block operations (default 32)\n"
    "retry-time=SECONDS    give up a failing S3 request after this long (default 60)\n"
    "request-timeout=SECONDS  abandon one S3 attempt (then retry) after this long (default 120)\n"
    "readonly=BOOL         serve read-only; allows anonymous access; takes no writer lease (default false)\n"
    "passphrase-file=PATH  passphrase (or key) file of an encrypted volume (required for one)\n"
    "compress=zstd[:LEVEL] zstd level for writing (the algorithm is recorded at create)\n"
    "lease-time=SECONDS    writer lease duration, renewed every third of it (default 60)\n"
    "force-takeover=BOOL   take the writer lease even if unexpired: only when its holder is dead\n"
    "unsafe-single-host=BOOL  serve writable even where the S3 endpoint ignores If-None-Match: *\n"
    "                      (the writer lease cannot keep a second writer out): only if one host serves\n"
        "cache=PATH            persistent local cache file or block device (default: no cache)\n"
    "cache-size=SIZE       cache capacity (default 1/8 of the volume, at least 1G or the volume, at most 16G)\n"
    "cache-direct=BOOL     O_DIRECT for cache data (default false)\n"
    "discard-bad-cache=BOOL  reformat a corrupt cache file instead of refusing it (default false)\n"
    "discard-stale-cache=BOOL  drop dirty data that predates another writer's session instead of\n"
    "                        refusing the cache (default false; that data is lost)\n"
    "flush=remote|local    FLUSH waits for S3 (remote, default) or for the local cache file (local)\n"
    "writeback-threads=N   parallel uploads of dirty blocks (default 16)\n"
    "prefetch-threads=N    parallel read-ahead fetches with the cache (default 4)\n"
    "writeback-delay=TIME  upload a dirty block once unwritten this long, at most 10x after (default 1s)\n"
    "max-dirty=SIZE        writes wait above this much dirty data (default 7/8 of the cache)\n"
    "dirty-timeout=TIME    a write waiting for dirty space fails after this (default 60s)\n"
    "readahead=N           maximum read-ahead window in blocks with the cache, 0 = off (default 32)\n"
    "shutdown-timeout=TIME drain dirty data this long at shutdown (default 60s)\n"
    "present-map=PATH      where the present-block map is saved at shutdown (default CACHE.present)";

Result<uint64_t> ParseSize(std::string_view what, std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::Error(EINVAL, std::string(what) + ": '" + std::string(text) + "' " + why);
  };
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ptr == text.data()) return bad("is not a size (examples: 4096, 64K, 1M, 10G)");
  if (ec == std::errc::result_out_of_range) return bad("is too large");
  std::string_view suffix(ptr, text.data() + text.size() - ptr);
  int shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'p': case 'P': shift = 50; break;
      case 'e': case 'E': shift = 60; break;
      case 'b': case 'B': shift = -1; break;
      default: return bad("has an unknown size suffix (use K, M, G, T, P or E)");
    }
    std::string_view rest = suffix.substr(1);
    if (shift == -1) { if (!rest.empty()) return bad("has an unknown size suffix"); shift = 0; }
    else if (!(rest.empty() || rest == "B" || rest == "iB")) return bad("has an unknown size suffix");
  }
  if (shift && n > (UINT64_MAX >> shift)) return bad("is too large");
  return n << shift;
}

Result<bool> ParseBool(std::string_view what, std::string_view text) {
  for (const char* t : {"1", "true", "yes", "on"})
    if (text == t) return true;
  for (const char* f : {"0", "false", "no", "off"})
    if (text == f) return false;
  return Status::Error(EINVAL, std::string(what) + ": '" + std::string(text) + "' is not a boolean (true/false)");
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view what, std::string_view text) {
  auto bad = [&] {
    return Status::Error(EINVAL, std::string(what) + ": '" + std::string(text) +
                                     "' is not a duration (examples: 500ms, 2s, 1m; a bare number is seconds)");
  };
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ptr == text.data() || ec != std::errc()) return bad();
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  uint64_t ms_per_unit;
  if (unit.empty() || unit == "s") ms_per_unit = 1000;
  else if (unit == "ms") ms_per_unit = 1;
  else if (unit == "m" || unit == "min") ms_per_unit = 60000;
  else return bad();
  if (n > (uint64_t{1} << 40) / ms_per_unit) return bad();
  return std::chrono::milliseconds(n * ms_per_unit);
}

namespace {

Result<long> ParseIntIn(std::string_view what, std::string_view text, long lo, long hi) {
  long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || n < lo || n > hi)
    return Status::Error(EINVAL, std::string(what) + ": '" + std::string(text) + "' is not a whole number from " +
                                     std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

// Cache options; ENOENT when `key` is not one of them.
Status SetCacheOption(VolumeOptions* o, std::string_view key, const std::string& v) {
  auto size = [&](uint64_t* out) -> Status {
    auto n = ParseSize(key, v);
    if (!n.ok()) return n.status();
    *out = *n;
    return Status::Ok();
  };
  auto duration = [&](std::chrono::milliseconds* out) -> Status {
    auto d = ParseDuration(key, v);
    if (!d.ok()) return d.status();
    *out = *d;
    return Status::Ok();
  };
  auto boolean = [&](bool* out) -> Status {
    auto b = ParseBool(key, v);
    if (!b.ok()) return b.status();
    *out = *b;
    return Status::Ok();
  };
  CacheOptions& c = o->cache;
  if (key == "cache") {
    if (v.empty()) return Status::Error(EINVAL, "cache: must name a file or block device");
    c.path = v;
    return Status::Ok();
  }
  if (key == "cache-size") return size(&c.size);
  if (key == "present-map") {
    o->present_map = v;
    return Status::Ok();
  }
  if (key == "max-dirty") return size(&c.max_dirty);
  if (key == "cache-direct") return boolean(&c.direct_io);
  if (key == "discard-bad-cache") return boolean(&c.discard_bad_cache);
  if (key == "discard-stale-cache") return boolean(&c.discard_stale_cache);
  if (key == "writeback-delay") return duration(&c.writeback_delay);
  if (key == "dirty-timeout") return duration(&c.dirty_wait_timeout);
  if (key == "shutdown-timeout") return duration(&o->shutdown_timeout);
  if (key == "flush") {
    if (v != "remote" && v != "local") return Status::Error(EINVAL, "flush: '" + v + "' is not 'remote' or 'local'");
    c.flush_policy = v == "remote" ? FlushPolicy::kRemote : FlushPolicy::kLocal;
    return Status::Ok();
  }
  if (key == "writeback-threads") {
    auto n = ParseIntIn(key, v, 1, 256);
    if (!n.ok()) return n.status();
    c.writeback_threads = static_cast<int>(*n);
    return Status::Ok();
  }
  if (key == "prefetch-threads") {
    auto n = ParseIntIn(key, v, 1, 256);
    if (!n.ok()) return n.status();
    c.prefetch_threads = static_cast<int>(*n);
    return Status::Ok();
  }
  if (key == "readahead") {
    auto n = ParseIntIn(key, v, 0, 1024);
    if (!n.ok()) return n.status();
    o->readahead_blocks = static_cast<uint32_t>(*n);
    return Status::Ok();
  }
  return Status::Error(ENOENT, "not a cache option");
}

}  // namespace

std::string VolumeName(const VolumeOptions& options) {
  std::string p = options.prefix;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() ? options.s3.bucket : options.s3.bucket + "/" + p;
}

Status SetVolumeOption(VolumeOptions* o, std::string_view key, std::string_view value) {
  std::string v(value);
  if (key == "endpoint") {
    if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0)
      return Status::Error(EINVAL, "endpoint: '" + v + "' must start with http:// or https://");
    while (v.size() > 8 && v.back() == '/') v.pop_back();
    o->s3.endpoint = v;
  } else if (key == "bucket") {
    if (v.empty()) return Status::Error(EINVAL, "bucket: must not be empty");
    o->s3.bucket = v;
  } else if (key == "prefix") {
    o->prefix = v;
  } else if (key == "region") {
    o->s3.region = v;
  } else if (key == "addressing") {
    if (v != "path" && v != "virtual")
      return Status::Error(EINVAL, "addressing: '" + v + "' is not 'path' or 'virtual'");
    o->s3.virtual_host = v == "virtual";
  } else if (key == "ca-file") {
    o->s3.ca_file = v;
  } else if (key == "credentials-file") {
    o->credentials_file = v;
  } else if (key == "profile") {
    o->profile = v;
  } else if (key == "size") {
    auto n = ParseSize("size", v);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Error(EINVAL, "size: must not be 0");  // 0 would mean "not given"
    o->expect_size = *n;
  } else if (key == "block-size") {
    auto n = ParseSize("block-size", v);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Error(EINVAL, "block-size: must not be 0");  // 0 would mean "not given"
    o->expect_block_size = *n;
  } else if (key == "connections") {
    auto n = ParseIntIn("connections", v, 1, 1024);
    if (!n.ok()) return n.status();
    o->s3.max_connections = static_cast<int>(*n);
  } else if (key == "retry-time") {
    auto n = ParseIntIn("retry-time", v, 0, 86400);
    if (!n.ok()) return n.status();
    o->s3.retry_seconds = static_cast<double>(*n);
  } else if (key == "request-timeout") {
    // a silently dropped request (no answer, no reset) hangs until this; it is then retried
    auto n = ParseIntIn("request-timeout", v, 1, 3600);
    if (!n.ok()) return n.status();
    o->s3.request_timeout_ms = static_cast<long>(*n) * 1000;
  } else if (key == "readonly") {
    auto b = ParseBool("readonly", v);
    if (!b.ok()) return b.status();
    o->readonly = *b;
  } else if (key == "passphrase-file") {
    if (v.empty()) return Status::Error(EINVAL, "passphrase-file: must not be empty");
    o->passphrase_file = v;
  } else if (key == "compress") {
    std::string algorithm;
    int level = 0;
    if (Status s = ParseCompression(v, &algorithm, &level); !s.ok()) return s;
    o->compress = v;
  } else if (key == "lease-time") {
    auto n = ParseIntIn("lease-time", v, 3, 86400);
    if (!n.ok()) return n.status();
    o->lease_seconds = static_cast<int>(*n);
  } else if (key == "force-takeover") {
    auto b = ParseBool("force-takeover", v);
    if (!b.ok()) return b.status();
    o->force_takeover = *b;
  } else if (key == "unsafe-single-host") {
    auto b = ParseBool("unsafe-single-host", v);
    if (!b.ok()) return b.status();
    o->unsafe_single_host = *b;
  } else if (Status s = SetCacheOption(o, key, v); s.err() != ENOENT) {
    return s;
  } else {
    return Status::Error(EINVAL, "unknown parameter '" + std::string(key) + "' (see --help)");
  }
  return Status::Ok();
}

Status CheckVolumeOptions(const VolumeOptions& o) {
  if (o.s3.endpoint.empty()) return Status::Error(EINVAL, "endpoint=URL is required");
  if (o.s3.bucket.empty()) return Status::Error(EINVAL, "bucket=NAME is required");
  if (auto p = NormalizePrefix(o.prefix); !p.ok()) return p.status();
  const CacheOptions& c = o.cache;
  if (c.path.empty()) {
    bool cache_tuned = c.size || c.max_dirty || c.flush_policy != FlushPolicy::kRemote;
    if (cache_tuned) return Status::Error(EINVAL, "cache-size=, max-dirty= and flush= need cache=PATH");
  } else if (c.size && c.max_dirty > c.size) {
    return Status::Error(EINVAL, "max-dirty=" + std::to_string(c.max_dirty) + " is larger than cache-size=" +
                                     std::to_string(c.size));
  }
  if (o.expect_block_size || o.expect_size) {
    uint64_t bs = o.expect_block_size ? o.expect_block_size : kMinBlockSize;
    if (Status s = ValidateGeometry(o.expect_size ? o.expect_size : bs, bs); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace s3nbd
