// Create-only PUT on any provider, and the probe of whether one honours it; see
// create_only_probe.h. Lock rule: g_mu guards g_results only (annotated).
#include "cache/s3/create_only_probe.h"

#include <map>
#include <utility>

#include "cache/sparse/present_map_file.h"
#include "cache/util/log.h"
#include "cache/util/mutex.h"

namespace s3nbd {
namespace {

Mutex g_mu;
std::map<std::pair<std::string, std::string>, CreateOnlySupport> g_results GUARDED_BY(g_mu);

std::pair<std::string, std::string> CacheKey(const S3Client& client) {
  return {client.config().endpoint, client.config().bucket};
}

}  // namespace

Status CreateOnlyPut(S3Client& client, const std::string& key, std::string_view body) {
  const std::string where = "s3://" + client.config().bucket + "/" + key;
  std::string existing;
  // Look first: a provider that ignores If-None-Match: * would overwrite silently.
  Status look = client.Get(key, &existing);
  if (look.ok()) return Status::Error(EEXIST, where + " already exists");
  if (look.err() != ENOENT) return look;
  S3PutOptions put;
  put.if_none_match = true;
  Status s = client.Put(key, body, put);
  if (s.err() == EEXIST)
    return Status::Error(EEXIST, where + " already exists (created concurrently)");
  if (!s.ok()) return s;
  // Verify: where create-only PUT is not honoured, a concurrent creator may have won.
  std::string back;
  if (Status g = client.Get(key, &back); !g.ok())
    return g.Wrap(where + ": reading back what was created");
  if (back != body)
    return Status::Error(
        EEXIST, where + " was overwritten by another creator right after it was written (" +
                    IgnoredCreateOnlyMessage(client) + ")");
  return Status::Ok();
}

std::string ProbeKey(const std::string& prefix, const std::string& token) {
  return prefix + "create-only-probe." + token + ".s3nbd";
}

Result<CreateOnlySupport> ProbeCreateOnly(S3Client& client, const std::string& prefix) {
  const std::string token = NewWriterToken();
  const std::string key = ProbeKey(prefix, token);
  const std::string what =
      "probing create-only PUT with s3://" + client.config().bucket + "/" + key;
  S3PutOptions put;
  put.if_none_match = true;
  // The key is new (a random token): the first create-only PUT must succeed.
  Status first = client.Put(key, "s3nbd create-only probe " + token + " first\n", put);
  if (first.err() == EEXIST)
    return Status::Error(EPROTO,
                         what +
                             ": the endpoint refused to create a new object (HTTP 412 for a key "
                             "that did not exist)");
  if (!first.ok()) return first.Wrap(what);
  Status second = client.Put(key, "s3nbd create-only probe " + token + " second\n", put);
  Status del = client.Delete(key);
  if (!del.ok())
    LogWarning(what + ": could not delete the probe object (delete it by hand): " + del.message());
  if (second.err() == EEXIST) return CreateOnlySupport::kHonoured;
  if (second.ok()) return CreateOnlySupport::kIgnored;
  return second.Wrap(what);
}

Result<CreateOnlySupport> CachedCreateOnlySupport(S3Client& client, const std::string& prefix) {
  {
    MutexLock lock(&g_mu);
    auto it = g_results.find(CacheKey(client));
    if (it != g_results.end()) return it->second;
  }
  auto r = ProbeCreateOnly(client, prefix);
  if (!r.ok()) return r;
  MutexLock lock(&g_mu);
  g_results[CacheKey(client)] = *r;
  return r;
}

void ForgetCreateOnlyProbes() {
  MutexLock lock(&g_mu);
  g_results.clear();
}

std::string IgnoredCreateOnlyMessage(const S3Client& client) {
  return "this S3 endpoint (" + client.config().endpoint + ", bucket " + client.config().bucket +
         ") ignores If-None-Match: *: a create-only PUT overwrote an existing object";
}

Status RequireCreateOnly(S3Client& client, const std::string& prefix, const std::string& operation,
                         bool unsafe_single_host) {
  auto support = CachedCreateOnlySupport(client, prefix);
  if (!support.ok()) {
    if (!unsafe_single_host) return support.status().Wrap(operation);
    LogWarning(operation + ": " + support.status().message() +
               "; going on because unsafe-single-host=true");
    return Status::Ok();
  }
  if (*support == CreateOnlySupport::kHonoured) return Status::Ok();
  const std::string why =
      IgnoredCreateOnlyMessage(client) + "; the writer lease cannot keep a second writer out";
  if (unsafe_single_host) {
    LogWarning(operation + ": " + why +
               "; going on because unsafe-single-host=true (you guarantee that no "
               "other host or process writes this volume)");
    return Status::Ok();
  }
  return Status::Error(ENOTSUP, operation + ": " + why +
                                    ". If only this host ever serves or changes the volume, set "
                                    "unsafe-single-host=true (CLI: --unsafe-single-host)");
}

}  // namespace s3nbd
