// ProbeProvider: the checks `s3nbd doctor` runs against an S3 provider before it is trusted —
// authentication and clock skew, basic PUT/GET/DELETE, create-only and conditional PUT,
// DeleteObjects, ListObjectsV2 paging, ranged GET, versioning, latency and throughput — writing
// only under a fresh scratch area (docs/format.md, "The doctor's scratch area") that it empties
// again whatever happens. The facts go to provider_verdict.h for the feature table and the
// exit status. Single-threaded apart from the throughput sample's own joined threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cache/s3/provider_verdict.h"
#include "cache/s3/s3_client.h"

namespace s3nbd {

struct ProbeOptions {
  std::string prefix;  // normalised ("" or ending in '/'): the area goes below it
  // The size of the large samples; 0: the volume's (volume_block_size), else 1 MiB.
  uint32_t block_size = 0;
  // The block size of the volume at `prefix` (ENOENT: none there), asked once the bucket
  // answered; may be empty.
  std::function<Result<uint32_t>(S3Client&)> volume_block_size;
  int samples = 8;   // sequential samples per operation and size
  int parallel = 8;  // objects (and threads) of the throughput sample
  // Set (e.g. by a signal handler) to stop after the current step; the cleanup still runs.
  const std::atomic<bool>* interrupted = nullptr;
};

struct ProbeReport {
  std::string area;                // the scratch area's prefix
  uint32_t block_size = 1u << 20;  // what the large samples used
  std::string block_size_origin;   // "--block-size", "the volume's", "default"
  std::vector<ProbeRow> checks;    // in the order they ran
  std::vector<ProbeRow> features;  // FeatureVerdicts of the facts
  ProviderFacts facts;
  int exit_code = kDoctorFailure;  // DoctorExitCode
  bool interrupted = false;        // stopped by options.interrupted (row "interrupted")
};

// The scratch area's prefix: prefix + ".s3nbd-doctor/" + token + "/".
std::string DoctorArea(const std::string& prefix, const std::string& token);

// Runs every check once. Never fails as a whole: what went wrong is in the rows. Checks that
// need what failed before are "skipped". The client's counters say how many requests were
// retried (the "retries" row).
ProbeReport ProbeProvider(S3Client& client, const ProbeOptions& options);

}  // namespace s3nbd
