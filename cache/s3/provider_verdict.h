// What `s3nbd doctor`'s findings mean for s3nbd: the facts ProbeProvider establishes about a
// provider, the feature table derived from them (which s3nbd features are safe there, and why
// not), and the exit status. Pure values and functions; no state, no locking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s3nbd {

// Exit status of `s3nbd doctor` (s3nbd(8), EXIT STATUS).
constexpr int kDoctorOk = 0;        // every check passed, nothing to warn about
constexpr int kDoctorFailure = 1;   // an essential check failed: s3nbd cannot use the provider
constexpr int kDoctorWarnings = 3;  // usable, with warnings (a feature unsafe or unavailable)

enum class RowLevel { kOk, kInfo, kWarn, kFail, kSkipped };
const char* RowLevelName(RowLevel level);  // "ok" "info" "WARN" "FAIL" "skipped"

// One line of the check table or the feature table.
struct ProbeRow {
  std::string name;
  RowLevel level = RowLevel::kSkipped;
  std::string detail;      // one line: what was seen, or why
  bool essential = false;  // a failure means s3nbd cannot use the provider
};

// How a provider handled something; kUnknown when the check could not run or tell, kError
// when it answered the request with an error (after the retries).
enum class Support { kUnknown, kYes, kNo, kUnreliable, kError };

struct ProviderFacts {
  bool reachable = false;
  bool authenticated = false;
  bool bucket_exists = false;
  bool basic_io = false;                      // PUT, GET, overwrite, DELETE, 404 after it
  Support create_only = Support::kUnknown;    // PUT If-None-Match: *
  Support if_match = Support::kUnknown;       // PUT If-Match (kUnreliable: refuses its own ETag)
  Support multi_delete = Support::kUnknown;   // DeleteObjects
  bool single_deletes = false;                // kNo because it is not implemented: s3nbd
                                              // deletes one key per request instead
  Support paging = Support::kUnknown;         // ListObjectsV2 max-keys + continuation token
                                              // (kNo: keys lost or repeated; kUnreliable:
                                              // max-keys ignored; kError: a page failed)
  Support range = Support::kUnknown;          // GET Range -> 206 with the bytes
  std::optional<std::string> versioning;      // "", "Enabled", "Suspended"; none: unknown
  std::optional<int64_t> clock_skew_seconds;  // server Date - local time
  bool cleaned = false;                       // nothing left in the scratch area
};

// Larger skews than this are warned about: a takeover of the writer lease is judged by wall
// clocks, with a margin of max(1 s, lease-time/10) (docs/design.md).
constexpr int64_t kClockSkewWarnSeconds = 5;

// The feature table: one row per s3nbd feature, ok (safe), WARN (unsafe or unavailable, with
// what to do) or FAIL (s3nbd cannot be used there at all).
std::vector<ProbeRow> FeatureVerdicts(const ProviderFacts& facts);

// 1 if an essential row failed, else 3 if any row warns or failed, else 0.
int DoctorExitCode(const std::vector<ProbeRow>& checks, const std::vector<ProbeRow>& features);

}  // namespace s3nbd
