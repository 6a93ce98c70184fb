// s3nbd create: writes a new volume descriptor under the prefix, refusing an existing one on
// any provider (CreateVolume looks, PUTs create-only, reads back); warns where the provider
// ignores create-only PUT, since serving the volume will then need unsafe-single-host.
#include <cstdio>

#include "cache/codec/volume_key.h"
#include "cache/s3/create_only_probe.h"
#include "cache/volume/volume_config.h"
#include "daemon/cli.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd create [VOLUME] [--endpoint URL --bucket NAME [--prefix P]] --size SIZE\n"
    "                    [--block-size SIZE] [--key-layout flat|hashed] [--create-bucket]\n"
    "                    [--region R] [--addressing path|virtual] [--ca-file F]\n"
    "                    [--credentials-file F] [--profile NAME]\n"
    "                    [--compress zstd[:LEVEL]] [--encrypt --passphrase-file F]\n"
    "Creates an empty (all-zero) volume: writes only its descriptor, P/volume.s3nbd.\n"
    "  --size SIZE          volume size, e.g. 10G (a multiple of 512 bytes)\n"
    "  --block-size SIZE    bytes per S3 object, a power of two from 4K to 8M (default 1M)\n"
    "  --key-layout L       flat (P/b/<hex>, default) or hashed (P/h/<hash>/<hex>, spreads\n"
    "                       blocks over key prefixes for S3's per-prefix request limits)\n"
    "  --create-bucket      create the bucket first if it does not exist\n"
    "  --compress zstd[:N]  store blocks zstd-compressed (level N, 1-19; a block that does\n"
    "                       not shrink is stored raw)\n"
    "  --encrypt            AES-256-GCM: a random data key wrapped by a key derived (scrypt)\n"
    "                       from the passphrase in --passphrase-file F (first line or all bytes)\n"
    "Credentials: --credentials-file, else the AWS chain (environment, --profile/AWS_PROFILE in\n"
    "~/.aws/config and credentials, web identity, container, EC2 instance metadata); see s3nbd(8).\n";

}  // namespace

int CmdCreate(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"create-bucket", "encrypt"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("create", kUsage, "unexpected argument");
  if (!args.values.count("size")) return Usage("create", kUsage, "--size is required");
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("create", args, {"size", "block-size", "key-layout", "create-bucket", "encrypt", "compress"},
                            false, &conf, &options))
    return rc;
  auto size = ParseSize("--size", args.values["size"]);
  if (!size.ok()) return Error("create", size.status());
  uint64_t block_size = 1 << 20;
  if (args.values.count("block-size")) {
    auto bs = ParseSize("--block-size", args.values["block-size"]);
    if (!bs.ok()) return Error("create", bs.status());
    block_size = *bs;
  }
  if (Status s = ValidateGeometry(*size, block_size); !s.ok()) return Error("create", s);
  KeyLayout layout = KeyLayout::kFlat;
  if (args.values.count("key-layout")) {
    auto l = ParseKeyLayout(args.values["key-layout"]);
    if (!l.ok()) return Error("create", l.status());
    layout = *l;
  }

  CodecChoices codec;
  if (args.values.count("compress")) {
    Status s = ParseCompression(args.values["compress"], &codec.compression, &codec.compression_level);
    if (!s.ok()) return Error("create", s.Wrap("--compress"));
  }
  bool encrypt = args.values.count("encrypt") && args.values["encrypt"] != "false";
  if (encrypt != !options.passphrase_file.empty())
    return Error("create", Status::Error(EINVAL, encrypt ? "--encrypt needs --passphrase-file FILE"
                                                         : "--passphrase-file is only used with --encrypt"));
  if (encrypt) {
    auto pass = ReadPassphraseFile(options.passphrase_file);
    if (!pass.ok()) return Error("create", pass.status());
    codec.passphrase = *pass;
  }

  S3Config config = options.s3;
  auto creds = CredentialsFor(options, false);
  if (!creds.ok()) return Error("create", creds.status());
  config.credential_source = *creds;
  auto client = S3Client::Create(config);
  if (!client.ok()) return Error("create", client.status());
  if (args.values.count("create-bucket")) {
    if (Status s = (*client)->CreateBucket(); !s.ok()) return Error("create", s);
  }
  if (Status s = (*client)->HeadBucket(); !s.ok()) return Error("create", s);
  auto d = CreateVolume(**client, options, *size, static_cast<uint32_t>(block_size), layout, codec);
  Wipe(codec.passphrase.data(), codec.passphrase.size());
  if (!d.ok()) return Error("create", d.status());
  std::printf("created volume %s: uuid %s, size %llu, block size %u, key layout %s, compression %s, "
              "encryption %s\n",
              VolumeName(options).c_str(), d->UuidString().c_str(),
              static_cast<unsigned long long>(d->size), d->block_size, KeyLayoutName(d->key_layout),
              CompressionName(*d).c_str(), d->encryption.c_str());
  // Said now rather than at the first serve; a failed probe is left to the open to report.
  auto support = CachedCreateOnlySupport(**client, *NormalizePrefix(options.prefix));
  if (support.ok() && *support == CreateOnlySupport::kIgnored)
    std::fprintf(stderr, "s3nbd create: warning: volume %s: %s; the writer lease cannot keep a second writer "
                         "out, so a writable open is refused there unless unsafe-single-host=true\n",
                 VolumeName(options).c_str(), IgnoredCreateOnlyMessage(**client).c_str());
  return kExitOk;
}

}  // namespace s3nbd::cli
