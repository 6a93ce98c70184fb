// Stats file parsing and presentation; see stats_report.h and docs/stats.md.
#include "daemon/stats_report.h"

#include <charconv>
#include <cstdio>
#include <utility>

#include "nbdkit-plugin/stats_keys.h"

namespace s3nbd::cli {
namespace {

std::optional<uint64_t> Get(const StatsMap& m, const char* k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::string Num(std::optional<uint64_t> v) { return v ? std::to_string(*v) : "-"; }

std::string Bytes(std::optional<uint64_t> v) {
  if (!v) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double d = static_cast<double>(*v);
  int u = 0;
  while (d >= 1024 && u < 5) {
    d /= 1024;
    u++;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(*v));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s (%llu)", d, units[u],
                  static_cast<unsigned long long>(*v));
  return buf;
}

std::string EscapeLabel(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

struct Metric {
  const char* name;  // s3nbd_<name>
  const char* type;  // counter | gauge
  const char* help;
  const char* label;  // "" or a label name shared by the keys below
  struct Key {
    const char* stats_key;
    const char* label_value;
  } keys[8];
};

// Stats keys to Prometheus metrics. Keys absent from the file are left out.
const Metric kMetrics[] = {
    {"requests_total",
     "counter",
     "NBD requests received, by type.",
     "type",
     {{stats::kRequestsRead, "read"},
      {stats::kRequestsWrite, "write"},
      {stats::kRequestsFlush, "flush"},
      {stats::kRequestsTrim, "trim"},
      {stats::kRequestsZero, "zero"},
      {stats::kRequestsExtents, "extents"}}},
    {"request_errors_total", "counter", "NBD requests that failed.", "", {{stats::kRequestsErrors, ""}}},
    {"read_bytes_total", "counter", "Bytes returned to NBD reads.", "", {{stats::kBytesRead, ""}}},
    {"written_bytes_total",
     "counter",
     "Bytes accepted from NBD writes.",
     "",
     {{stats::kBytesWritten, ""}}},
    {"s3_requests_total",
     "counter",
     "S3 requests sent (first attempts), by operation.",
     "op",
     {{stats::kS3Get, "get"},
      {stats::kS3Put, "put"},
      {stats::kS3Delete, "delete"},
      {stats::kS3List, "list"},
      {stats::kS3Head, "head"},
      {stats::kS3MultiDelete, "multi_delete"}}},
    {"s3_retries_total",
     "counter",
     "S3 request attempts that were retried.",
     "",
     {{stats::kS3Retries, ""}}},
    {"s3_errors_total",
     "counter",
     "S3 requests that failed after retries.",
     "",
     {{stats::kS3Errors, ""}}},
    {"s3_received_bytes_total", "counter", "Bytes received from S3.", "", {{stats::kS3BytesIn, ""}}},
    {"s3_sent_bytes_total", "counter", "Bytes sent to S3.", "", {{stats::kS3BytesOut, ""}}},
    {"cache_hits_total",
     "counter",
     "Block reads served by the local cache.",
     "",
     {{stats::kCacheHits, ""}}},
    {"cache_misses_total", "counter", "Block reads that went to S3.", "", {{stats::kCacheMisses, ""}}},
    {"cache_readahead_hits_total",
     "counter",
     "Cache hits on blocks fetched by read-ahead.",
     "",
     {{stats::kCacheReadaheadHits, ""}}},
    {"cache_absent_reads_total",
     "counter",
     "Cache misses answered as zeros with no request (the block is known absent).",
     "",
     {{stats::kCacheAbsentReads, ""}}},
    {"cache_coalesced_misses_total",
     "counter",
     "Cache misses that waited for another reader's fetch of the same block.",
     "",
     {{stats::kCacheCoalescedMisses, ""}}},
    {"cache_uploads_total", "counter", "Dirty blocks uploaded by the writeback workers.", "", {{stats::kCacheUploads, ""}}},
    {"cache_erases_total", "counter", "Blocks erased in S3 by the writeback workers.", "", {{stats::kCacheErases, ""}}},
    {"cache_evictions_total", "counter", "Clean blocks evicted to make room.", "", {{stats::kCacheEvictions, ""}}},
    {"cache_errors_total",
     "counter",
     "Failed cache-file or upload operations (retried).",
     "",
     {{stats::kCacheErrors, ""}}},
    {"cache_writes_in_place_total",
     "counter",
     "Partial-block writes applied in place to a cached slot.",
     "",
     {{stats::kCacheWritesInPlace, ""}}},
    {"cache_dirty_bytes",
     "gauge",
     "Bytes in the cache not yet written to S3.",
     "",
     {{stats::kCacheDirtyBytes, ""}}},
    {"writeback_queue",
     "gauge",
     "Blocks queued for writeback to S3.",
     "",
     {{stats::kWritebackQueue, ""}}},
    {"uploads_in_flight",
     "gauge",
     "Dirty block versions being uploaded to S3 now.",
     "",
     {{stats::kUploadsInFlight, ""}}},
    {"cache_write_waits_total",
     "counter",
     "Writes that waited for room in the cache (backpressure).",
     "",
     {{stats::kCacheWriteWaits, ""}}},
    {"cache_write_wait_milliseconds_total",
     "counter",
     "Time writes spent waiting for room in the cache (backpressure).",
     "",
     {{stats::kCacheWriteWaitMs, ""}}},
    {"uptime_seconds", "gauge", "Seconds since the server started.", "", {{stats::kUptimeSeconds, ""}}},
    {"stats_updated_timestamp_seconds",
     "gauge",
     "Unix time the stats file was written.",
     "",
     {{stats::kUpdatedUnix, ""}}},
};

}  // namespace

std::map<std::string, std::string> PrometheusStatsKeys() {
  std::map<std::string, std::string> out;
  for (const Metric& m : kMetrics)
    for (const Metric::Key& k : m.keys)
      if (k.stats_key) out[k.stats_key] = m.type;
  return out;
}

Result<StatsMap> ParseStatsFile(std::string_view text, const std::string& origin) {
  StatsMap out;
  int lineno = 0;
  bool saw_magic = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    lineno++;
    if (line.empty()) continue;
    std::string where = origin + ":" + std::to_string(lineno) + ": ";
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0)
      return Status::Error(EINVAL, where + "expected 'key value', got '" + std::string(line) + "'");
    std::string key(line.substr(0, sp));
    std::string_view v = line.substr(sp + 1);
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
      return Status::Error(
          EINVAL, where + "value of '" + key + "' is not a whole number: '" + std::string(v) + "'");
    if (lineno == 1) {
      if (key != "s3nbd-stats")
        return Status::Error(
            EINVAL, origin + ": not an s3nbd stats file (first line is not 's3nbd-stats 1')");
      if (n != 1)
        return Status::Error(EINVAL, origin + ": stats format version " + std::to_string(n) +
                                         " is not supported (this s3nbd reads version 1)");
      saw_magic = true;
      continue;
    }
    out[key] = n;
  }
  if (!saw_magic) return Status::Error(EINVAL, origin + ": empty stats file");
  return out;
}

CostEstimate EstimateRequestCost(const StatsMap& s) {
  CostEstimate c;
  auto v = [&](const char* k) { return Get(s, k).value_or(0); };
  c.put_class = v(stats::kS3Put) + v(stats::kS3List) + v(stats::kS3MultiDelete);
  c.get_class = v(stats::kS3Get) + v(stats::kS3Head);
  c.requests_usd =
      c.put_class * kUsdPerThousandPut / 1000 + c.get_class * kUsdPerThousandGet / 1000;
  return c;
}

double StorageUsdPerMonth(uint64_t stored_bytes) {
  return static_cast<double>(stored_bytes) / 1e9 * kUsdPerGbMonth;
}

std::string FormatStatsTable(const std::string& volume, const StatsMap& s, uint64_t now_unix) {
  std::string out;
  auto line = [&](const std::string& label, const std::string& value) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-26s %s\n", label.c_str(), value.c_str());
    out += buf;
  };
  auto g = [&](const char* k) { return Get(s, k); };
  out += "volume " + volume;
  if (auto up = g(stats::kUptimeSeconds)) out += ", up " + std::to_string(*up) + " s";
  if (auto t = g(stats::kUpdatedUnix); t && now_unix > *t + 5)
    out +=
        " (STALE: not updated for " + std::to_string(now_unix - *t) + " s; is the server running?)";
  out += "\n";
  out += "NBD requests\n";
  const std::pair<const char*, const char*> requests[] = {
      {"read", stats::kRequestsRead},   {"write", stats::kRequestsWrite},
      {"flush", stats::kRequestsFlush}, {"trim", stats::kRequestsTrim},
      {"zero", stats::kRequestsZero},   {"extents", stats::kRequestsExtents},
      {"errors", stats::kRequestsErrors}};
  for (auto [label, key] : requests) line(label, Num(g(key)));
  line("bytes read", Bytes(g(stats::kBytesRead)));
  line("bytes written", Bytes(g(stats::kBytesWritten)));
  out += "S3\n";
  const std::pair<const char*, const char*> s3[] = {
      {"get", stats::kS3Get},         {"put", stats::kS3Put},
      {"delete", stats::kS3Delete},   {"list", stats::kS3List},
      {"head", stats::kS3Head},       {"multi_delete", stats::kS3MultiDelete},
      {"retries", stats::kS3Retries}, {"errors", stats::kS3Errors}};
  for (auto [label, key] : s3) line(label, Num(g(key)));
  line("bytes in", Bytes(g(stats::kS3BytesIn)));
  line("bytes out", Bytes(g(stats::kS3BytesOut)));
  out += "cache\n";
  auto hits = g(stats::kCacheHits), misses = g(stats::kCacheMisses);
  line("hits", Num(hits));
  line("misses", Num(misses));
  line("readahead hits", Num(g(stats::kCacheReadaheadHits)));
  std::string ratio = "-";
  if (hits && misses && *hits + *misses > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * *hits / (*hits + *misses));
    ratio = buf;
  }
  line("hit ratio", ratio);
  line("dirty", Bytes(g(stats::kCacheDirtyBytes)));
  line("writeback queue", Num(g(stats::kWritebackQueue)));
  line("uploading now", Num(g(stats::kUploadsInFlight)));
  line("writes waited", Num(g(stats::kCacheWriteWaits)));
  if (auto ms = g(stats::kCacheWriteWaitMs)) {
    char wait[32];
    std::snprintf(wait, sizeof wait, "%.3f s", static_cast<double>(*ms) / 1000.0);
    line("time waiting for room", wait);
  } else {
    line("time waiting for room", "-");
  }
  CostEstimate c = EstimateRequestCost(s);
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "$%.6f (%llu PUT/LIST/POST, %llu GET/HEAD; S3 Standard list prices)",
                c.requests_usd, static_cast<unsigned long long>(c.put_class),
                static_cast<unsigned long long>(c.get_class));
  out += "estimated cost\n";
  line("S3 requests", buf);
  return out;
}

std::string FormatPrometheus(const std::string& volume, const StatsMap& s) {
  return FormatPrometheus(std::vector<VolumeStats>{{volume, s, true}}, false);
}

std::string FormatPrometheus(const std::vector<VolumeStats>& volumes, bool with_up) {
  // One # HELP / # TYPE per family, then its samples for every volume (the exposition
  // format wants a family's samples together).
  std::string out;
  auto family = [&](const std::string& name, const char* type, const char* help,
                    const std::string& samples) {
    if (samples.empty()) return;
    out += "# HELP s3nbd_" + name + " " + help + "\n";
    out += "# TYPE s3nbd_" + name + " " + type + "\n";
    out += samples;
  };
  auto vol = [](const VolumeStats& v) { return "volume=\"" + EscapeLabel(v.volume) + "\""; };
  if (with_up) {
    std::string samples;
    for (const VolumeStats& v : volumes)
      samples += "s3nbd_up{" + vol(v) + "} " + (v.up ? "1" : "0") + "\n";
    family("up", "gauge",
           "1 if the volume's server rewrote its stats file in the last 5 s, else 0.", samples);
  }
  for (const Metric& m : kMetrics) {
    std::string samples;
    for (const VolumeStats& v : volumes) {
      if (!v.up && std::string_view(m.name) != "stats_updated_timestamp_seconds") continue;
      for (const auto& k : m.keys) {
        if (!k.stats_key) break;
        auto val = Get(v.stats, k.stats_key);
        if (!val) continue;
        samples += std::string("s3nbd_") + m.name + "{" + vol(v);
        if (*m.label) samples += std::string(",") + m.label + "=\"" + k.label_value + "\"";
        samples += "} " + std::to_string(*val) + "\n";
      }
    }
    family(m.name, m.type, m.help, samples);
  }
  std::string samples;
  for (const VolumeStats& v : volumes) {
    if (!v.up) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", EstimateRequestCost(v.stats).requests_usd);
    samples += "s3nbd_estimated_request_cost_usd{" + vol(v) + "} " + buf + "\n";
  }
  family("estimated_request_cost_usd", "gauge",
         "S3 request cost since start at S3 Standard list prices.", samples);
  return out;
}

}  // namespace s3nbd::cli
