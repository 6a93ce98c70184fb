// What `s3nbd doctor` probes when given an ENDPOINT URL instead of a VOLUME:
// "scheme://host[:port]/bucket[/prefix]" split into the volume flags --endpoint, --bucket and
// --prefix. Pure functions; no state.
#pragma once

#include <string>

#include "cache/util/status.h"

namespace s3nbd::cli {

struct DoctorUrl {
  std::string endpoint;  // "scheme://host[:port]"
  std::string bucket;
  std::string prefix;  // "" or the rest of the path (a trailing '/' kept as given)
};

// True if `arg` is meant as a URL (it contains "://"), not a VOLUME name.
bool LooksLikeUrl(const std::string& arg);

// EINVAL naming the problem for anything but http(s)://HOST[:PORT]/BUCKET[/PREFIX] (no
// user-info, query or fragment). An endpoint behind a path (a reverse proxy) needs the flag
// form: --endpoint URL --bucket B.
Result<DoctorUrl> ParseDoctorUrl(const std::string& url);

}  // namespace s3nbd::cli
