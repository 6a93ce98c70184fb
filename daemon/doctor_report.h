// How `s3nbd doctor` prints a ProbeReport: an aligned table of checks and of features with a
// verdict line and the warnings that need action, or one JSON document (--json). Pure
// functions from the report to text; no state.
#pragma once

#include <string>

#include "cache/s3/provider_probe.h"

namespace s3nbd::cli {

struct DoctorHeader {
  std::string endpoint;
  std::string bucket;
  std::string volume;  // the VOLUME name or bucket/prefix, "" for the bucket root
};

// "ok", "usable with warnings", "FAILED: s3nbd cannot use this provider" for the exit code.
std::string DoctorVerdict(int exit_code);

std::string DoctorTable(const DoctorHeader& header, const ProbeReport& report);

// {"endpoint":...,"bucket":...,"volume":...,"area":...,"block_size":N,"checks":[{"name":...,
// "result":"ok|info|warn|fail|skipped","detail":...,"essential":bool}],"features":[...],
// "lease_trusted":bool,"exit_code":N,"verdict":...}
std::string DoctorJson(const DoctorHeader& header, const ProbeReport& report);

// JSON string literal of s (quotes included; control characters escaped, UTF-8 passed through).
std::string JsonString(const std::string& s);

}  // namespace s3nbd::cli
