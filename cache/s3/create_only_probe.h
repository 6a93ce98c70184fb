// Create-only PUT (If-None-Match: *) on providers that may not honour it. Some S3
// implementations (npm's s3rver, some gateways) accept the header and overwrite anyway; the
// writer lease and 's3nbd create' rely on it. Two tools here:
//  - CreateOnlyPut: look (GET), create-only PUT, read back; refuses an existing object on any
//    provider, and a lost race wherever the read-back shows another creator's bytes.
//  - ProbeCreateOnly: writes one probe object P/create-only-probe.<token>.s3nbd twice with
//    create-only PUTs (a 412 the second time means honoured) and deletes it. The result is
//    cached per (endpoint, bucket) for the life of the process. Lock rule: one process-wide
//    mutex guards that cache only; probes run outside it (a race probes twice, harmlessly).
#pragma once

#include <string>
#include <string_view>

#include "cache/s3/s3_client.h"
#include "cache/util/status.h"

namespace s3nbd {

// Creates `key` holding `body` only if no object is there. EEXIST if one existed when looked
// at or when PUT (a provider that honours If-None-Match: * says so), or if the object read
// back is not `body` (another creator overwrote it: the provider ignored create-only PUT).
Status CreateOnlyPut(S3Client& client, const std::string& key, std::string_view body);

enum class CreateOnlySupport { kHonoured, kIgnored };

// The probe object's key under a normalised prefix ("" or ending in '/').
std::string ProbeKey(const std::string& prefix, const std::string& token);

// Runs the probe once under `prefix` (not cached). Errors of S3 itself are returned.
Result<CreateOnlySupport> ProbeCreateOnly(S3Client& client, const std::string& prefix);

// The cached result for (client.config().endpoint, bucket), probing under `prefix` if this
// process has not probed that bucket yet. Errors are not cached.
Result<CreateOnlySupport> CachedCreateOnlySupport(S3Client& client, const std::string& prefix);

// Forgets every cached result (tests).
void ForgetCreateOnlyProbes();

// The words every refusal and warning uses for an endpoint that ignores create-only PUT.
std::string IgnoredCreateOnlyMessage(const S3Client& client);

// For an operation that relies on the writer lease keeping a second writer out (a writable
// open, destroy, passwd). OK where create-only PUT is honoured. Where it is ignored: ENOTSUP
// "<operation>: <why>; ..." naming the option, unless unsafe_single_host, which logs a warning
// and goes on. `operation` is "open: volume B/P" and the like.
Status RequireCreateOnly(S3Client& client, const std::string& prefix, const std::string& operation,
                         bool unsafe_single_host);

}  // namespace s3nbd
