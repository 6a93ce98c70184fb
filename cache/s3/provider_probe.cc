// The doctor's checks, in order; see provider_probe.h. One Prober per run, on one thread (the
// throughput sample joins its own threads); the ProbeArea it owns is emptied at the end of
// every run, also after a failed check.
#include "cache/s3/provider_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cache/s3/create_only_probe.h"
#include "cache/s3/probe_area.h"
#include "cache/s3/probe_samples.h"
#include "cache/sparse/present_map_file.h"

namespace s3nbd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t k4K = 4096;
constexpr int kListKeys = 5, kListPageKeys = 2;
constexpr uint64_t kSampleBytes = 32u << 20;  // at most this much per size in the samples
const char* const kNotUsed = "; s3nbd does not rely on it";

// Names of the checks that need a working bucket, for the skipped rows.
const char* const kBucketChecks[] = {"put/get/delete", "create-only PUT", "conditional PUT",
                                     "listing pages",  "multi-delete",    "ranged GET",
                                     "versioning",     "latency"};

std::string SizeName(uint64_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

std::string Fixed(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string Latencies(const LatencySample& s) {
  auto one = [](const char* op, const LatencyStats& st) {
    return std::string(op) + " p50 " + Fixed(st.p50_ms) + " ms p99 " + Fixed(st.p99_ms) + " ms";
  };
  return one("PUT", s.put) + ", " + one("GET", s.get) + " (" + std::to_string(s.get.count) +
         " each)";
}

// Wall-clock skew: how far the server's Date lies outside [before, after] (Date has whole
// seconds, so it may read up to 1 s before `before`).
int64_t SkewSeconds(time_t server, time_t before, time_t after) {
  if (server < before - 1) return static_cast<int64_t>(server) - (before - 1);
  if (server > after) return static_cast<int64_t>(server) - after;
  return 0;
}

class Prober {
 public:
  Prober(S3Client& client, const ProbeOptions& options, ProbeReport* report)
      : client_(client),
        options_(options),
        report_(*report),
        facts_(report->facts),
        area_(client, report->area) {}

  void Run() {
    if (!Interrupted() && CheckAccess() && ResolveBlockSize() && !Interrupted() && CheckBasic()) {
      for (void (Prober::*step)() :
           {&Prober::CheckCreateOnly, &Prober::CheckIfMatch, &Prober::CheckListingAndMultiDelete,
            &Prober::CheckRange, &Prober::CheckVersioning, &Prober::SampleSpeed}) {
        if (Interrupted()) break;
        (this->*step)();
      }
    }
    if (Interrupted())
      Add("interrupted", RowLevel::kWarn,
          "stopped by a signal: the checks after this were not run");
    if (facts_.bucket_exists) {
      CleanUp();
    } else {
      Add("cleanup", RowLevel::kSkipped, "nothing was written");
    }
    CountRetries();
  }

 private:
  bool Interrupted() {
    if (options_.interrupted != nullptr && options_.interrupted->load()) report_.interrupted = true;
    return report_.interrupted;
  }
  void Add(std::string name, RowLevel level, std::string detail, bool essential = false) {
    report_.checks.push_back(ProbeRow{std::move(name), level, std::move(detail), essential});
  }
  void SkipRest(const std::string& why, size_t from) {
    for (size_t i = from; i < std::size(kBucketChecks); ++i)
      Add(kBucketChecks[i], RowLevel::kSkipped, "not run: " + why);
  }

  bool CheckAccess() {
    std::string date;
    const time_t before = std::time(nullptr);
    const auto t0 = Clock::now();
    Status s = client_.HeadBucket(&date);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const time_t after = std::time(nullptr);
    // An answer about the bucket or the request; 5xx, resets and timeouts are the endpoint's.
    const bool answered = s.ok() || s.err() == EACCES || s.err() == ENOENT || s.err() == EINVAL;
    facts_.reachable = answered;
    Add("endpoint", answered ? RowLevel::kOk : RowLevel::kFail,
        answered ? client_.config().endpoint + " answered HEAD bucket in " + Fixed(ms) + " ms"
                 : s.message(),
        true);
    if (!answered) {
      Add("authentication", RowLevel::kSkipped, "not run: the endpoint did not answer");
      Add("bucket", RowLevel::kSkipped, "not run: the endpoint did not answer");
      SkipRest("the endpoint did not answer", 0);
      return false;
    }
    const std::string source = "credentials: " + client_.config().credential_source->source();
    facts_.authenticated = s.ok() || s.err() == ENOENT;
    Add("authentication", facts_.authenticated ? RowLevel::kOk : RowLevel::kFail,
        facts_.authenticated ? "accepted (" + source + ")" : s.message() + " (" + source + ")",
        true);
    CheckClock(date, before, after);
    facts_.bucket_exists = s.ok();
    if (s.ok()) {
      Add("bucket", RowLevel::kOk, "s3://" + client_.config().bucket + " exists", true);
      return true;
    }
    if (s.err() == ENOENT) {
      Add("bucket", RowLevel::kFail,
          s.message() + " (check --bucket, or create it: s3nbd create --create-bucket)", true);
      SkipRest("the bucket does not exist", 0);
    } else {
      Add("bucket", RowLevel::kSkipped, "not run: the credentials were refused");
      SkipRest("the credentials were refused", 0);
    }
    return false;
  }

  void CheckClock(const std::string& date, time_t before, time_t after) {
    const time_t server = date.empty() ? -1 : curl_getdate(date.c_str(), nullptr);
    if (server == -1) {
      Add("clock skew", RowLevel::kInfo,
          date.empty() ? "the server sent no Date header"
                       : "cannot parse the server's Date: " + date);
      return;
    }
    const int64_t skew = SkewSeconds(server, before, after);
    facts_.clock_skew_seconds = skew;
    const std::string how = skew == 0
                                ? "the server's Date agrees with this host's clock (to 1 s)"
                                : "the server's clock is " + std::to_string(std::llabs(skew)) +
                                      " s " + (skew > 0 ? "ahead of" : "behind") + " this host's";
    if (std::llabs(skew) <= kClockSkewWarnSeconds) return Add("clock skew", RowLevel::kOk, how);
    Add("clock skew", RowLevel::kWarn,
        how + (std::llabs(skew) >= 900 ? " (SigV4 refuses requests beyond 15 min)" : ""));
  }

  // The block size of the large samples; always true (a failure falls back to the default).
  bool ResolveBlockSize() {
    report_.block_size = 1u << 20;
    report_.block_size_origin = "default";
    if (options_.block_size != 0) {
      report_.block_size = options_.block_size;
      report_.block_size_origin = "--block-size";
    } else if (options_.volume_block_size) {
      auto bs = options_.volume_block_size(client_);
      if (bs.ok()) {
        report_.block_size = *bs;
        report_.block_size_origin = "the volume's";
      } else if (bs.status().err() != ENOENT) {
        report_.block_size_origin = "default: " + bs.status().message();
      }
    }
    return true;
  }

  bool CheckBasic() {
    Status s = BasicRoundTrip();
    facts_.basic_io = s.ok();
    Add("put/get/delete", s.ok() ? RowLevel::kOk : RowLevel::kFail,
        s.ok() ? "4 KiB written, read back, overwritten, read back, deleted, then not found"
               : s.message(),
        true);
    if (!s.ok()) SkipRest("put/get/delete failed", 1);
    return s.ok();
  }

  Status BasicRoundTrip() {
    const std::string key = area_.Key("basic");
    for (int round = 0; round < 2; ++round) {
      const std::string body = RandomBytes(k4K);
      if (Status s = area_.Put("basic", body); !s.ok()) return s;
      std::string back;
      if (Status s = client_.Get(key, &back); !s.ok()) return s;
      if (back != body)
        return Status::Error(EIO, "GET " + key + ": " +
                                      (round ? "the overwrite is not visible: old bytes came back"
                                             : "the bytes read back differ from those written"));
    }
    if (Status s = client_.Delete(key); !s.ok()) return s;
    std::string back;
    Status gone = client_.Get(key, &back);
    if (gone.ok()) return Status::Error(EIO, "GET " + key + ": a deleted object still reads back");
    return gone.err() == ENOENT ? Status::Ok() : gone;
  }

  void CheckCreateOnly() {
    auto r = ProbeCreateOnly(client_, area_.prefix());
    if (!r.ok()) {
      Add("create-only PUT", RowLevel::kWarn, "could not tell: " + r.status().message());
      return;
    }
    facts_.create_only = *r == CreateOnlySupport::kHonoured ? Support::kYes : Support::kNo;
    if (*r == CreateOnlySupport::kHonoured)
      return Add("create-only PUT", RowLevel::kOk,
                 "If-None-Match: * honoured (HTTP 412 for an existing object)");
    Add("create-only PUT", RowLevel::kWarn,
        "If-None-Match: * IGNORED: a create-only PUT overwrote an existing object");
  }

  void CheckIfMatch() {
    const char* name = "conditional PUT";
    std::string etag;
    if (Status s = area_.Put("if-match", "version 1", {}, &etag); !s.ok())
      return Add(name, RowLevel::kWarn, "could not tell: " + s.message());
    if (etag.empty())
      return Add(name, RowLevel::kInfo,
                 std::string("could not tell: the PUT answered no ETag") + kNotUsed);
    S3PutOptions stale;
    stale.if_match = "\"00000000000000000000000000000000\"";
    Status w = area_.Put("if-match", "version 2", stale);
    if (w.ok()) {
      facts_.if_match = Support::kNo;
      return Add(
          name, RowLevel::kInfo,
          std::string("If-Match IGNORED: a PUT with a wrong ETag overwrote the object") + kNotUsed);
    }
    if (w.err() != ECANCELED)
      return Add(name, RowLevel::kInfo, "If-Match not supported: " + w.message() + kNotUsed);
    S3PutOptions right;
    right.if_match = etag;
    Status r = area_.Put("if-match", "version 3", right);
    if (r.ok()) {
      facts_.if_match = Support::kYes;
      return Add(name, RowLevel::kOk,
                 "If-Match honoured: 412 for a wrong ETag, accepted with the object's own");
    }
    if (r.err() != ECANCELED)
      return Add(name, RowLevel::kInfo,
                 "If-Match with the object's own ETag failed: " + r.message() + kNotUsed);
    facts_.if_match = Support::kUnreliable;
    std::string bare = etag;
    bare.erase(std::remove(bare.begin(), bare.end(), '"'), bare.end());
    right.if_match = bare;
    const bool unquoted = bare != etag && area_.Put("if-match", "version 4", right).ok();
    Add(name, RowLevel::kInfo,
        std::string("If-Match UNRELIABLE: 412 even with the object's own ETag ") + etag +
            (unquoted ? "; only the unquoted ETag matches (as Ceph Pacific RGW does)" : "") +
            kNotUsed + " (the writer lease uses create-only PUT and DELETE)");
  }

  void CheckListingAndMultiDelete() {
    std::vector<std::string> keys;
    for (int i = 0; i < kListKeys; ++i) {
      keys.push_back(area_.Key("list/" + std::to_string(i)));
      if (Status s = area_.Put("list/" + std::to_string(i), RandomBytes(64)); !s.ok()) {
        Add("listing pages", RowLevel::kFail,
            "could not write the objects to list: " + s.message());
        Add("multi-delete", RowLevel::kSkipped,
            "not run: the objects to delete could not be written");
        return;
      }
    }
    CheckPaging(keys);
    Status s = client_.DeleteMany(keys);
    if (!s.ok()) {
      facts_.multi_delete = Support::kNo;
      return Add("multi-delete", RowLevel::kWarn, "DeleteObjects failed: " + s.message());
    }
    if (client_.single_deletes()) {  // refused as unimplemented; the keys went one by one
      facts_.multi_delete = Support::kNo;
      facts_.single_deletes = true;
      return Add("multi-delete", RowLevel::kWarn,
                 "DeleteObjects is not implemented (" + client_.single_deletes_cause() +
                     "): s3nbd deletes one key per request instead");
    }
    std::vector<std::string> left;
    Status l = client_.List(area_.Key("list/"), [&](const S3ObjectInfo& o) {
      left.push_back(o.key);
      return Status::Ok();
    });
    if (!l.ok())
      return Add("multi-delete", RowLevel::kWarn, "could not list what it left: " + l.message());
    facts_.multi_delete = left.empty() ? Support::kYes : Support::kNo;
    if (left.empty())
      return Add("multi-delete", RowLevel::kOk,
                 "DeleteObjects removed " + std::to_string(kListKeys) + " objects in one request");
    Add("multi-delete", RowLevel::kWarn,
        "DeleteObjects answered success but " + std::to_string(left.size()) + " of " +
            std::to_string(kListKeys) + " objects are still listed");
  }

  void CheckPaging(const std::vector<std::string>& want) {
    std::vector<std::string> got;
    std::string token;
    int pages = 0;
    for (bool more = true; more && pages < 3 * kListKeys; ++pages) {
      auto page = client_.ListPage(area_.Key("list/"), kListPageKeys, token);
      if (!page.ok()) {  // an error, not silent loss: s3nbd's listings fail the same way
        facts_.paging = Support::kError;
        return Add("listing pages", RowLevel::kFail,
                   "page " + std::to_string(pages + 1) + ": " + page.status().message());
      }
      for (const S3ObjectInfo& o : page->objects) got.push_back(o.key);
      more = page->truncated;
      token = page->next_token;
    }
    const std::string what = std::to_string(got.size()) + " keys in " + std::to_string(pages) +
                             " pages of max-keys=" + std::to_string(kListPageKeys);
    if (got != want) {
      facts_.paging = Support::kNo;
      return Add("listing pages", RowLevel::kFail,
                 "ListObjectsV2 lost, repeated or misordered keys: " + what + ", expected " +
                     std::to_string(want.size()) + " in key order",
                 true);
    }
    facts_.paging = pages > 1 ? Support::kYes : Support::kUnreliable;
    Add("listing pages", pages > 1 ? RowLevel::kOk : RowLevel::kInfo,
        pages > 1 ? "ListObjectsV2 with continuation tokens: " + what
                  : "max-keys was ignored: " + what + " (paging not exercised)",
        true);
  }

  void CheckRange() {
    const std::string body = RandomBytes(k4K);
    if (Status s = area_.Put("range", body); !s.ok())
      return Add("ranged GET", RowLevel::kWarn, "could not write the object: " + s.message());
    std::string got;
    bool partial = false;
    Status s = client_.GetRange(area_.Key("range"), 100, 1000, &got, &partial);
    if (!s.ok()) return Add("ranged GET", RowLevel::kWarn, s.message());
    if (partial && got == body.substr(100, 1000)) {
      facts_.range = Support::kYes;
      return Add("ranged GET", RowLevel::kOk, "bytes=100-1099: the 1000 bytes, HTTP 206");
    }
    facts_.range = Support::kNo;
    if (!partial && got == body)
      return Add("ranged GET", RowLevel::kInfo,
                 std::string("Range ignored: the whole object came back (HTTP 200)") + kNotUsed);
    Add("ranged GET", RowLevel::kWarn,
        "bytes=100-1099 returned " + std::to_string(got.size()) + " bytes that are not the range" +
            (partial ? " (HTTP 206)" : " (HTTP 200)"));
  }

  void CheckVersioning() {
    auto v = client_.GetBucketVersioning();
    if (!v.ok()) return Add("versioning", RowLevel::kInfo, "unknown: " + v.status().message());
    facts_.versioning = *v;
    if (v->empty()) return Add("versioning", RowLevel::kOk, "not enabled");
    if (*v == "Suspended")
      return Add("versioning", RowLevel::kInfo, "suspended (versions from before remain)");
    Add("versioning", RowLevel::kWarn,
        *v +
            ": overwritten and deleted objects stay as noncurrent versions (also this run's, "
            "under " +
            area_.prefix() + ")");
  }

  void SampleSpeed() {
    const int samples = std::max(1, options_.samples);
    LatencySample small = SampleLatency(area_, "lat-4k", k4K, samples, options_.interrupted);
    Add("latency 4 KiB", small.status.ok() ? RowLevel::kInfo : RowLevel::kWarn,
        small.status.ok() ? Latencies(small) : small.status.message());
    if (Interrupted()) return;
    const uint64_t bs = report_.block_size;
    const int big_n =
        static_cast<int>(std::min<uint64_t>(std::max<uint64_t>(kSampleBytes / bs, 1), samples));
    LatencySample big = SampleLatency(area_, "lat-block", bs, big_n, options_.interrupted);
    Add("latency " + SizeName(bs), big.status.ok() ? RowLevel::kInfo : RowLevel::kWarn,
        big.status.ok()
            ? Latencies(big) + "; one at a time: PUT " +
                  Fixed(MiBPerSecond(big.put.bytes, big.put.total_seconds)) + " MiB/s, GET " +
                  Fixed(MiBPerSecond(big.get.bytes, big.get.total_seconds)) + " MiB/s"
            : big.status.message());
    if (Interrupted()) return;
    const int par = static_cast<int>(
        std::clamp<uint64_t>(kSampleBytes / bs, 2, std::max(2, options_.parallel)));
    ThroughputSample t = SampleThroughput(area_, "par", bs, par);
    Add("throughput " + SizeName(bs), t.status.ok() ? RowLevel::kInfo : RowLevel::kWarn,
        t.status.ok() ? "PUT " + Fixed(t.put_mib_s) + " MiB/s, GET " + Fixed(t.get_mib_s) +
                            " MiB/s (" + std::to_string(t.objects) + " objects at once)"
                      : t.status.message());
  }

  void CleanUp() {
    CleanupResult r = area_.CleanUp(facts_.multi_delete == Support::kYes);
    facts_.cleaned = r.listed && r.left.empty();
    const std::string where = "s3://" + client_.config().bucket + "/" + area_.prefix();
    if (facts_.cleaned)
      return Add(
          "cleanup", RowLevel::kOk,
          std::to_string(r.written) + " keys written, all deleted: nothing left under " + where);
    if (!r.listed)
      return Add("cleanup", RowLevel::kWarn,
                 "could not check " + where + " is empty (delete it by hand): " + r.error);
    std::string names;
    for (size_t i = 0; i < r.left.size() && i < 3; ++i) names += " " + r.left[i];
    Add("cleanup", RowLevel::kWarn,
        std::to_string(r.left.size()) + " objects left under " + where + " (delete them by hand):" +
            names + (r.left.size() > 3 ? " ..." : "") + (r.error.empty() ? "" : "; " + r.error));
  }

  void CountRetries() {
    const S3Counters& c = client_.counters();
    const uint64_t requests = c.get + c.put + c.del + c.list + c.head + c.multi_delete;
    const uint64_t retries = c.retries, errors = c.errors;
    Add("retries", retries ? RowLevel::kInfo : RowLevel::kOk,
        std::to_string(retries) + " retried attempts over " + std::to_string(requests) +
            " requests (" + std::to_string(errors) + " failed for good)" +
            (retries ? ": the endpoint answered 5xx, reset or dropped connections, or timed "
                       "out (the latency samples include the waits)"
                     : ""));
  }

  S3Client& client_;
  const ProbeOptions& options_;
  ProbeReport& report_;
  ProviderFacts& facts_;
  ProbeArea area_;
};

}  // namespace

std::string DoctorArea(const std::string& prefix, const std::string& token) {
  return prefix + ".s3nbd-doctor/" + token + "/";
}

ProbeReport ProbeProvider(S3Client& client, const ProbeOptions& options) {
  ProbeReport report;
  report.area = DoctorArea(options.prefix, NewWriterToken());
  {
    Prober prober(client, options, &report);
    prober.Run();
  }
  report.features = FeatureVerdicts(report.facts);
  report.exit_code = DoctorExitCode(report.checks, report.features);
  return report;
}

}  // namespace s3nbd
