// s3nbd passwd: re-wraps an encrypted volume's data key under a new passphrase. Rewrites
// only the descriptor, and safely: the descriptor must be unchanged between the read and the
// write (re-read just before), and the written one is read back and opened with the new
// passphrase. S3 PUTs are atomic, so a crash leaves either the old or the new descriptor.
// Refused where the endpoint ignores create-only PUT (nothing keeps a concurrent writer of the
// volume out there) unless --unsafe-single-host.
#include <cstdio>

#include "cache/codec/volume_key.h"
#include "cache/s3/create_only_probe.h"
#include "cache/volume/volume_config.h"
#include "daemon/cli.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd passwd --endpoint URL --bucket NAME [--prefix P] --passphrase-file OLD\n"
    "                    --new-passphrase-file NEW [--region R] [--credentials-file F]\n"
    "                    [--unsafe-single-host]\n"
    "Changes the passphrase of an encrypted volume. The data key does not change, so no block\n"
    "is rewritten and a running server keeps working; only P/volume.s3nbd is replaced.\n"
    "Refused where the S3 endpoint ignores If-None-Match: * unless --unsafe-single-host.\n";

Status Change(S3Client& client, const VolumeOptions& options, const std::string& new_file) {
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  const std::string key = BlockKeys(*prefix, KeyLayout::kFlat).DescriptorKey();
  const std::string name = "volume " + VolumeName(options);
  auto old_pass = ReadPassphraseFile(options.passphrase_file);
  if (!old_pass.ok()) return old_pass.status();
  auto new_pass = ReadPassphraseFile(new_file);
  if (!new_pass.ok()) return new_pass.status();
  std::string before;
  if (Status s = client.Get(key, &before); !s.ok()) return s.Wrap(name);
  auto d = DecodeDescriptor(before);
  if (!d.ok()) return d.status().Wrap(name);
  if (Status s = RequireVersion1(*d, name); !s.ok()) return s;
  if (!d->encrypted()) return Status::Error(EINVAL, name + ": the volume is not encrypted; it has no passphrase");
  if (Status s = RewrapDataKey(&*d, *old_pass, *new_pass); !s.ok()) return s.Wrap(name + ": old passphrase");
  const std::string after = EncodeDescriptor(*d);
  std::string now;
  if (Status s = client.Get(key, &now); !s.ok()) return s.Wrap(name);
  if (now != before)
    return Status::Error(EAGAIN, name + ": the descriptor changed while the key was re-wrapped (another "
                                        "passwd?); nothing written, try again");
  if (Status s = client.Put(key, after); !s.ok()) return s.Wrap(name + ": writing the descriptor");
  std::string back;
  if (Status s = client.Get(key, &back); !s.ok()) return s.Wrap(name + ": reading the descriptor back");
  auto check = DecodeDescriptor(back);
  if (back != after || !check.ok() || !UnwrapDataKey(*check, *new_pass).ok())
    return Status::Error(EIO, name + ": the descriptor read back is not the one written (a concurrent "
                                     "change?); check which passphrase opens it");
  return Status::Ok();
}

}  // namespace

int CmdPasswd(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"unsafe-single-host"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!args.positional.empty() || !args.values.count("passphrase-file") ||
      !args.values.count("new-passphrase-file")) {
    std::fputs("s3nbd passwd: --passphrase-file and --new-passphrase-file are required\n", stderr);
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  VolumeOptions options;
  if (!ApplyVolumeOptions(args, {"new-passphrase-file"}, &options)) return kExitUsage;
  auto client = ConnectBucket(options);
  if (!client.ok()) return Error("passwd", client.status());
  if (Status s = RequireCreateOnly(**client, *NormalizePrefix(options.prefix), "passwd: volume " + VolumeName(options),
                                   options.unsafe_single_host);
      !s.ok()) {
    std::fprintf(stderr, "s3nbd %s\n", s.message().c_str());
    return kExitFailure;
  }
  if (Status s = Change(**client, options, args.values["new-passphrase-file"]); !s.ok()) return Error("passwd", s);
  std::printf("passphrase changed for volume %s\n", VolumeName(options).c_str());
  return kExitOk;
}

}  // namespace s3nbd::cli
