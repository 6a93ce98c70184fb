// The keys of the stats file (docs/stats.md, format version 1) and their kinds: the one list
// that the plugin writes (plugin.cc, stats_file.cc) and `s3nbd stats` reads
// (daemon/stats_report.cc). tests/unit/daemon/stats_keys_test.cc holds it equal to the table in
// docs/stats.md. Constants only: no state, no lock.
#pragma once

namespace s3nbd::stats {

enum class Kind { kCounter, kGauge };

struct KeyInfo {
  const char* name;
  Kind kind;
};

inline constexpr char kRequestsRead[] = "requests_read";
inline constexpr char kRequestsWrite[] = "requests_write";
inline constexpr char kRequestsFlush[] = "requests_flush";
inline constexpr char kRequestsTrim[] = "requests_trim";
inline constexpr char kRequestsZero[] = "requests_zero";
inline constexpr char kRequestsExtents[] = "requests_extents";
inline constexpr char kRequestsErrors[] = "requests_errors";
inline constexpr char kBytesRead[] = "bytes_read";
inline constexpr char kBytesWritten[] = "bytes_written";
inline constexpr char kS3Get[] = "s3_get";
inline constexpr char kS3Put[] = "s3_put";
inline constexpr char kS3Delete[] = "s3_delete";
inline constexpr char kS3List[] = "s3_list";
inline constexpr char kS3Head[] = "s3_head";
inline constexpr char kS3MultiDelete[] = "s3_multi_delete";
inline constexpr char kS3Retries[] = "s3_retries";
inline constexpr char kS3Errors[] = "s3_errors";
inline constexpr char kS3BytesIn[] = "s3_bytes_in";
inline constexpr char kS3BytesOut[] = "s3_bytes_out";
inline constexpr char kCacheHits[] = "cache_hits";
inline constexpr char kCacheMisses[] = "cache_misses";
inline constexpr char kCacheReadaheadHits[] = "cache_readahead_hits";
inline constexpr char kCacheAbsentReads[] = "cache_absent_reads";
inline constexpr char kCacheCoalescedMisses[] = "cache_coalesced_misses";
inline constexpr char kCacheDirtyBytes[] = "cache_dirty_bytes";
inline constexpr char kCacheUploads[] = "cache_uploads";
inline constexpr char kCacheErases[] = "cache_erases";
inline constexpr char kCacheEvictions[] = "cache_evictions";
inline constexpr char kCacheErrors[] = "cache_errors";
inline constexpr char kCacheWriteWaits[] = "cache_write_waits";
inline constexpr char kCacheWritesInPlace[] = "cache_writes_in_place";
inline constexpr char kCacheWriteWaitMs[] = "cache_write_wait_ms";
inline constexpr char kWritebackQueue[] = "writeback_queue";
inline constexpr char kUploadsInFlight[] = "uploads_in_flight";
inline constexpr char kPid[] = "pid";
inline constexpr char kUptimeSeconds[] = "uptime_seconds";
inline constexpr char kUpdatedUnix[] = "updated_unix";

// Every key, in the order of docs/stats.md's table.
inline constexpr KeyInfo kKeys[] = {
    {kRequestsRead, Kind::kCounter},
    {kRequestsWrite, Kind::kCounter},
    {kRequestsFlush, Kind::kCounter},
    {kRequestsTrim, Kind::kCounter},
    {kRequestsZero, Kind::kCounter},
    {kRequestsExtents, Kind::kCounter},
    {kRequestsErrors, Kind::kCounter},
    {kBytesRead, Kind::kCounter},
    {kBytesWritten, Kind::kCounter},
    {kS3Get, Kind::kCounter},
    {kS3Put, Kind::kCounter},
    {kS3Delete, Kind::kCounter},
    {kS3List, Kind::kCounter},
    {kS3Head, Kind::kCounter},
    {kS3MultiDelete, Kind::kCounter},
    {kS3Retries, Kind::kCounter},
    {kS3Errors, Kind::kCounter},
    {kS3BytesIn, Kind::kCounter},
    {kS3BytesOut, Kind::kCounter},
    {kCacheHits, Kind::kCounter},
    {kCacheMisses, Kind::kCounter},
    {kCacheReadaheadHits, Kind::kCounter},
    {kCacheAbsentReads, Kind::kCounter},
    {kCacheCoalescedMisses, Kind::kCounter},
    {kCacheDirtyBytes, Kind::kGauge},
    {kCacheUploads, Kind::kCounter},
    {kCacheErases, Kind::kCounter},
    {kCacheEvictions, Kind::kCounter},
    {kCacheErrors, Kind::kCounter},
    {kCacheWriteWaits, Kind::kCounter},
    {kCacheWritesInPlace, Kind::kCounter},
    {kCacheWriteWaitMs, Kind::kCounter},
    {kWritebackQueue, Kind::kGauge},
    {kUploadsInFlight, Kind::kGauge},
    {kPid, Kind::kGauge},
    {kUptimeSeconds, Kind::kGauge},
    {kUpdatedUnix, Kind::kGauge},
};

}  // namespace s3nbd::stats
