// s3nbd info: prints a volume's descriptor and what is stored (object count, bytes).
#include <cstdio>

#include "cache/volume/volume_config.h"
#include "daemon/cli.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd info [VOLUME] [--endpoint URL --bucket NAME [--prefix P]] [--no-count]\n"
    "Prints the volume descriptor as 'key: value' lines, then the number of stored block\n"
    "objects, their bytes and the compression ratio (plaintext bytes of the stored blocks /\n"
    "stored bytes, headers included; one listing of the volume; --no-count skips it).\n"
    "--show-credential-source: resolves the AWS credential chain only and prints which source\n"
    "won ('credential-source: ...', and 'credential-expiration: ...' for temporary credentials);\n"
    "never a key, secret or token. The bucket is not contacted.\n";

int ShowCredentialSource(const VolumeOptions& options) {
  auto holder = CredentialsFor(options, /*allow_anonymous=*/true);
  if (!holder.ok()) return Error("info", holder.status());
  auto creds = (*holder)->Get();
  if (!creds.ok()) return Error("info", creds.status());
  std::printf("credential-source: %s\n", (*holder)->source().c_str());
  if ((*creds)->expiration) {
    std::printf("credential-expiration: %s\n", FormatIso8601(*(*creds)->expiration).c_str());
  }
  return kExitOk;
}

}  // namespace

int CmdInfo(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"no-count", "show-credential-source"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("info", kUsage, "unexpected argument");
  VolumeConf conf;
  VolumeOptions options;
  // info never writes: anonymous access is fine
  if (int rc = SelectVolume("info", args, {"no-count", "show-credential-source"}, true, &conf,
                            &options)) {
    return rc;
  }
  if (args.values.count("show-credential-source")) return ShowCredentialSource(options);
  auto client = ConnectBucket(options);
  if (!client.ok()) return Error("info", client.status());
  auto d = ReadDescriptor(**client, options);
  if (!d.ok()) return Error("info", d.status());
  auto prefix = NormalizePrefix(options.prefix);
  std::printf("volume: %s\n", VolumeName(options).c_str());
  std::printf("endpoint: %s\n", options.s3.endpoint.c_str());
  std::printf("uuid: %s\n", d->UuidString().c_str());
  std::printf("size: %llu\n", static_cast<unsigned long long>(d->size));
  std::printf("block-size: %u\n", d->block_size);
  std::printf("blocks: %llu\n", static_cast<unsigned long long>(d->block_count()));
  std::printf("key-layout: %s\n", KeyLayoutName(d->key_layout));
  std::printf("compression: %s\n", CompressionName(*d).c_str());
  std::printf("encryption: %s\n", d->encryption.c_str());
  std::printf("created: %s\n", d->created.c_str());
  if (args.values.count("no-count")) return kExitOk;
  BlockKeys keys(*prefix, d->key_layout);
  uint64_t objects = 0, bytes = 0;
  Status s = (*client)->List(keys.BlockListPrefix(), [&](const S3ObjectInfo& o) {
    if (keys.ParseBlockKey(o.key)) {
      objects++;
      bytes += o.size;
    }
    return Status::Ok();
  });
  if (!s.ok()) return Error("info", s);
  std::printf("stored-blocks: %llu\n", static_cast<unsigned long long>(objects));
  std::printf("stored-bytes: %llu\n", static_cast<unsigned long long>(bytes));
  std::printf("allocated: %.1f%%\n", d->block_count() ? 100.0 * objects / d->block_count() : 0.0);
  if (bytes)
    std::printf("compression-ratio: %.2f\n", static_cast<double>(objects) * d->block_size / bytes);
  else
    std::printf("compression-ratio: -\n");
  return kExitOk;
}

}  // namespace s3nbd::cli
