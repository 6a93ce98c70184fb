// From a provider's facts to s3nbd's feature table and the doctor's exit status; see
// provider_verdict.h. Pure functions; no locking.
#include "cache/s3/provider_verdict.h"

#include <cstdlib>

namespace s3nbd {
namespace {

ProbeRow Row(std::string name, RowLevel level, std::string detail) {
  return ProbeRow{std::move(name), level, std::move(detail), false};
}

ProbeRow LeaseRow(const ProviderFacts& f) {
  const char* name = "writable serve, attach (writer lease)";
  switch (f.create_only) {
    case Support::kYes:
      return Row(
          name, RowLevel::kOk,
          "safe: create-only PUT is honoured, so the writer lease keeps a second writer out");
    case Support::kNo:
    case Support::kUnreliable:
    case Support::kError:
      return Row(name, RowLevel::kWarn,
                 "UNSAFE: create-only PUT is ignored, so the writer lease cannot keep a second "
                 "writer out; writable opens are refused unless unsafe-single-host=true "
                 "(--unsafe-single-host), which is safe only if one host ever serves the volume");
    case Support::kUnknown:
      break;
  }
  return Row(name, RowLevel::kWarn,
             "unknown: the create-only probe did not finish; writable opens probe again and "
             "refuse if it fails");
}

ProbeRow CreateRow(const ProviderFacts& f) {
  const std::string how = "refuses an existing volume (look, create-only PUT, read back)";
  if (f.create_only == Support::kNo)
    return Row("create", RowLevel::kWarn,
               how + ", but two creates racing within milliseconds may both succeed");
  return Row("create", RowLevel::kOk, how);
}

ProbeRow DestroyRow(const ProviderFacts& f) {
  const char* name = "destroy, passwd";
  if (f.create_only != Support::kYes)
    return Row(name, RowLevel::kWarn,
               "they take the writer lease: refused unless --unsafe-single-host (see above)");
  if (f.multi_delete != Support::kYes && f.single_deletes)
    return Row(name, RowLevel::kWarn,
               "DeleteObjects is not implemented here: destroy deletes one key per request "
               "(works, one request per block)");
  if (f.multi_delete != Support::kYes)
    return Row(name, RowLevel::kWarn,
               "destroy deletes blocks with DeleteObjects, which did not work here: it fails");
  return Row(name, RowLevel::kOk, "safe: the writer lease holds, DeleteObjects works");
}

ProbeRow DeleteRow(const ProviderFacts& f) {
  const char* name = "TRIM, zero writes, fsck --repair";
  if (f.multi_delete == Support::kYes)
    return Row(name, RowLevel::kOk, "batched DeleteObjects works");
  if (f.multi_delete == Support::kUnknown)
    return Row(name, RowLevel::kWarn, "unknown: DeleteObjects could not be tested");
  if (f.single_deletes)
    return Row(name, RowLevel::kWarn,
               "DeleteObjects is not implemented here: s3nbd deletes one key per request "
               "(works; a TRIM of many blocks takes one request per block)");
  return Row(name, RowLevel::kWarn,
             "DeleteObjects did not work: a TRIM or zero write of more than one block and fsck "
             "--repair fail");
}

ProbeRow ListingRow(const ProviderFacts& f) {
  const char* name = "open (present-block listing)";
  switch (f.paging) {
    case Support::kYes:
      return Row(name, RowLevel::kOk,
                 "ListObjectsV2 pages with continuation tokens: a large "
                 "volume is listed whole");
    case Support::kUnreliable:
      return Row(name, RowLevel::kOk,
                 "max-keys was ignored (one page); listings follow "
                 "continuation tokens whenever the provider sends them");
    case Support::kNo:
      return Row(name, RowLevel::kFail,
                 "the listing lost or repeated keys: an open would miss "
                 "blocks, and they would read as zeros");
    case Support::kError:
      return Row(name, RowLevel::kWarn,
                 "a listing of more than one page failed: opening, fsck "
                 "and destroy of a volume with more than 1000 stored "
                 "blocks fail here");
    case Support::kUnknown:
      break;
  }
  return Row(name, RowLevel::kWarn, "unknown: the listing could not be tested");
}

ProbeRow ClockRow(const ProviderFacts& f) {
  const char* name = "lease takeover (clock)";
  if (!f.clock_skew_seconds)
    return Row(name, RowLevel::kInfo, "the server sent no Date: not checked");
  const int64_t skew = std::llabs(*f.clock_skew_seconds);
  if (skew <= kClockSkewWarnSeconds)
    return Row(name, RowLevel::kOk,
               "this host's clock agrees with the server's (within " +
                   std::to_string(kClockSkewWarnSeconds) + " s)");
  return Row(name, RowLevel::kWarn,
             "this host's clock is " + std::to_string(skew) +
                 " s off the server's: takeovers of the writer lease are judged by wall clocks "
                 "(margin max(1 s, lease-time/10)); synchronise the clocks (NTP)");
}

ProbeRow StorageRow(const ProviderFacts& f) {
  const char* name = "storage (versioning)";
  if (!f.versioning) return Row(name, RowLevel::kInfo, "versioning state not known");
  if (f.versioning->empty())
    return Row(name, RowLevel::kOk,
               "not versioned: deleted and overwritten blocks free their space");
  if (*f.versioning == "Suspended")
    return Row(name, RowLevel::kInfo,
               "versioning suspended: versions kept from before still "
               "cost (a lifecycle rule removes noncurrent versions)");
  return Row(name, RowLevel::kWarn,
             "versioning " + *f.versioning +
                 ": every overwritten or trimmed block keeps a noncurrent version and storage "
                 "grows; add a lifecycle rule that expires noncurrent versions");
}

}  // namespace

const char* RowLevelName(RowLevel level) {
  switch (level) {
    case RowLevel::kOk:
      return "ok";
    case RowLevel::kInfo:
      return "info";
    case RowLevel::kWarn:
      return "WARN";
    case RowLevel::kFail:
      return "FAIL";
    case RowLevel::kSkipped:
      return "skipped";
  }
  return "?";
}

std::vector<ProbeRow> FeatureVerdicts(const ProviderFacts& f) {
  if (!f.reachable || !f.authenticated || !f.bucket_exists || !f.basic_io) {
    return {Row("every feature", RowLevel::kFail,
                "s3nbd cannot use this provider until the failed checks above pass")};
  }
  return {LeaseRow(f),   CreateRow(f),
          DestroyRow(f), DeleteRow(f),
          ListingRow(f), Row("read-only serve, info, fsck", RowLevel::kOk, "GET and listing work"),
          ClockRow(f),   StorageRow(f)};
}

int DoctorExitCode(const std::vector<ProbeRow>& checks, const std::vector<ProbeRow>& features) {
  bool warned = false;
  for (const std::vector<ProbeRow>* rows : {&checks, &features}) {
    for (const ProbeRow& r : *rows) {
      if (r.level == RowLevel::kFail && r.essential) return kDoctorFailure;
      warned |= r.level == RowLevel::kWarn || r.level == RowLevel::kFail;
    }
  }
  return warned ? kDoctorWarnings : kDoctorOk;
}

}  // namespace s3nbd
