// libFuzzer target for the credential documents s3nbd reads from other processes and servers:
// flat JSON (credential_process, instance metadata, container endpoint), STS XML answers, INI
// profiles and ISO 8601 times. Each must be safe on hostile input: never read out of bounds,
// never throw, return a Status on malformed input. Build and run: make check-fuzz.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cache/s3/credentials.h"
#include "cache/s3/flat_json.h"
#include "cache/s3/imds_credential_provider.h"
#include "cache/s3/process_credential_provider.h"
#include "cache/s3/sts_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto json = s3nbd::ParseFlatJson(text);
  if (json.ok()) (void)json->size();
  (void)s3nbd::ParseProcessCredentials(text, "fuzz").ok();
  (void)s3nbd::ParseMetadataCredentials(text, "fuzz").ok();
  (void)s3nbd::ParseStsResponse(text, 200, "fuzz").ok();
  (void)s3nbd::ParseStsResponse(text, 403, "fuzz").ok();
  auto ini = s3nbd::ParseIni(text, "fuzz");
  if (ini.ok()) (void)ini->size();
  auto t = s3nbd::ParseIso8601(text);
  if (t.ok()) (void)s3nbd::FormatIso8601(*t).size();
  return 0;
}
