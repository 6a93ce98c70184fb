// ENDPOINT URLs of `s3nbd doctor`; see doctor_target.h.
#include "daemon/doctor_target.h"

namespace s3nbd::cli {

bool LooksLikeUrl(const std::string& arg) { return arg.find("://") != std::string::npos; }

Result<DoctorUrl> ParseDoctorUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Status::Error(EINVAL, "ENDPOINT '" + url + "': " + why +
                                     " (expected http(s)://HOST[:PORT]/BUCKET[/PREFIX])");
  };
  const size_t sep = url.find("://");
  const std::string scheme = url.substr(0, sep);
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  if (url.find_first_of("?#") != std::string::npos) return bad("no query or fragment allowed");
  const size_t slash = url.find('/', sep + 3);
  const std::string authority =
      url.substr(sep + 3, slash == std::string::npos ? std::string::npos : slash - sep - 3);
  if (authority.empty()) return bad("no host");
  if (authority.find('@') != std::string::npos)
    return bad("no user-info allowed (credentials go elsewhere)");
  if (slash == std::string::npos || slash + 1 >= url.size()) return bad("no bucket in the path");
  DoctorUrl out;
  out.endpoint = scheme + "://" + authority;
  const std::string path = url.substr(slash + 1);
  const size_t next = path.find('/');
  out.bucket = path.substr(0, next);
  if (out.bucket.empty()) return bad("no bucket in the path");
  if (next != std::string::npos) out.prefix = path.substr(next + 1);
  return out;
}

}  // namespace s3nbd::cli
