// s3nbd doctor: probes an S3 provider (ProbeProvider) before it is trusted with a volume and
// prints the table of checks and of s3nbd features safe there (or JSON). Exit 0 all good,
// 3 usable with warnings, 1 an essential check failed, 2 usage, 130 interrupted.
// Single-threaded apart from the probe's throughput sample; the signal handler only sets a flag.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "cache/s3/provider_probe.h"
#include "cache/volume/volume_config.h"
#include "cache/volume/volume_factory.h"
#include "daemon/cli.h"
#include "daemon/doctor_report.h"
#include "daemon/doctor_target.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd doctor ENDPOINT | VOLUME | --endpoint URL --bucket NAME [--prefix P]\n"
    "                    [--block-size SIZE] [--samples N] [--json]\n"
    "                    [--region R] [--addressing path|virtual] [--ca-file F]\n"
    "                    [--credentials-file F] [--profile NAME] [--retry-time S]\n"
    "Probes an S3 provider before s3nbd trusts it and prints a table: endpoint,\n"
    "authentication, bucket, clock skew, PUT/GET/DELETE, create-only PUT (If-None-Match: *),\n"
    "conditional PUT (If-Match), ListObjectsV2 paging, DeleteObjects, ranged GET, versioning,\n"
    "latency and throughput; then which s3nbd features are safe there, with a warning where\n"
    "the writer lease cannot be trusted. It writes only under\n"
    "P.s3nbd-doctor/<random>/ and deletes all of it at the end (the 'cleanup' row).\n"
    "  ENDPOINT            http(s)://HOST[:PORT]/BUCKET[/PREFIX]\n"
    "  --block-size SIZE   size of the large samples (default: the volume's, else 1M)\n"
    "  --samples N         sequential samples per operation and size (default 8, 1-100)\n"
    "  --json              one JSON document instead of the table\n"
    "  --retry-time S      retry budget per request (default 20 here)\n"
    "Exit status: 0 every check passed; 3 usable with warnings (a feature is unsafe or\n"
    "unavailable, e.g. the writer lease); 1 an essential check failed (endpoint,\n"
    "authentication, bucket, PUT/GET/DELETE, a listing losing keys); 2 usage error;\n"
    "130 interrupted (SIGINT/SIGTERM: it stops after the current check and cleans up).\n";

const std::vector<std::string> kOwnFlags = {"json", "samples", "block-size"};
constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM: stopped, cleaned up, table printed

std::atomic<bool> g_interrupted{false};  // set by the signal handler only
extern "C" void OnSignal(int) { g_interrupted.store(true); }

// The first SIGINT/SIGTERM stops the probe after its current step (the scratch area is then
// emptied); a second one kills as usual (SA_RESETHAND).
void CatchSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The URL form becomes the volume flags; refused next to --endpoint/--bucket.
int ApplyUrl(Args* args) {
  if (args->positional.empty() || !LooksLikeUrl(args->positional[0])) return kExitOk;
  if (args->values.count("endpoint") || args->values.count("bucket"))
    return Usage("doctor", kUsage, "give ENDPOINT or --endpoint/--bucket, not both");
  auto url = ParseDoctorUrl(args->positional[0]);
  if (!url.ok()) return Usage("doctor", kUsage, url.status().message());
  args->positional.clear();
  args->values["endpoint"] = url->endpoint;
  args->values["bucket"] = url->bucket;
  if (!url->prefix.empty() && !args->values.count("prefix")) args->values["prefix"] = url->prefix;
  return kExitOk;
}

// The probe's own numbers; 0 from --block-size means "the volume's".
int ProbeSettings(const Args& args, const VolumeOptions& options, ProbeOptions* probe) {
  if (auto it = args.values.find("samples"); it != args.values.end()) {
    auto n = ParseSize("--samples", it->second);
    if (!n.ok() || *n < 1 || *n > 100) return Usage("doctor", kUsage, "--samples must be 1 to 100");
    probe->samples = static_cast<int>(*n);
  }
  uint64_t bs = options.expect_block_size;  // block-size= of the volume's conf
  if (auto it = args.values.find("block-size"); it != args.values.end()) {
    auto n = ParseSize("--block-size", it->second);
    if (!n.ok()) return Error("doctor", n.status());
    bs = *n;
  }
  if (bs != 0) {
    if (Status s = ValidateGeometry(bs, bs); !s.ok()) return Error("doctor", s);
    probe->block_size = static_cast<uint32_t>(bs);
  }
  return kExitOk;
}

}  // namespace

int CmdDoctor(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"json"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("doctor", kUsage, "unexpected argument");
  if (int rc = ApplyUrl(&args)) return rc;
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("doctor", args, kOwnFlags, false, &conf, &options)) return rc;
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return Error("doctor", prefix.status());
  ProbeOptions probe;
  probe.prefix = *prefix;
  if (int rc = ProbeSettings(args, options, &probe)) return rc;
  // Quick answers: a doctor that waits a minute per request is no help.
  if (!conf.Get("retry-time")) options.s3.retry_seconds = 20;
  if (!conf.Get("request-timeout")) options.s3.request_timeout_ms = 30000;
  options.s3.max_connections = std::max(options.s3.max_connections, probe.parallel);
  probe.volume_block_size = [&options](S3Client& client) -> Result<uint32_t> {
    auto d = ReadDescriptor(client, options);
    if (!d.ok()) return d.status();
    return d->block_size;
  };

  auto creds = CredentialsFor(options, options.readonly);
  if (!creds.ok()) return Error("doctor", creds.status());
  S3Config config = options.s3;
  config.credential_source = *creds;
  auto client = S3Client::Create(config);
  if (!client.ok()) return Error("doctor", client.status());

  probe.interrupted = &g_interrupted;
  CatchSignals();
  ProbeReport report = ProbeProvider(**client, probe);
  DoctorHeader header{
      options.s3.endpoint, options.s3.bucket,
      conf.name.empty() ? std::string(prefix->empty() ? "" : VolumeName(options)) : conf.name};
  std::fputs((args.values.count("json") ? DoctorJson(header, report) : DoctorTable(header, report))
                 .c_str(),
             stdout);
  for (const ProbeRow& r : report.checks)
    if (r.level == RowLevel::kFail && r.essential)
      std::fprintf(stderr, "s3nbd doctor: %s: %s\n", r.name.c_str(), r.detail.c_str());
  if (report.interrupted) {
    std::fprintf(stderr, "s3nbd doctor: interrupted; the checks after it were not run\n");
    return kExitInterrupted;
  }
  return report.exit_code;
}

}  // namespace s3nbd::cli
