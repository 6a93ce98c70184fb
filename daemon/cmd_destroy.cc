// s3nbd destroy: deletes a volume while holding its writer lease (so no writer serves it
// meanwhile) — its block objects (batched DeleteObjects), its writer token, its descriptor,
// and the lease last; an interrupted destroy leaves a volume that still opens (as partly
// zeroed) and can be destroyed again. Asks on a terminal unless --yes. Refused while another
// writer holds the lease (unless --force), and where the endpoint ignores create-only PUT (the
// lease keeps no writer out) unless --unsafe-single-host.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <vector>

#include "cache/lease/writer_lease.h"
#include "cache/s3/create_only_probe.h"
#include "cache/volume/volume_config.h"
#include "daemon/cli.h"
#include "daemon/lease_check.h"
#include "daemon/progress.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd destroy [VOLUME] [--endpoint URL --bucket NAME [--prefix P]] [--yes] [--force]\n"
    "                     [--unsafe-single-host]\n"
    "Takes the volume's writer lease, deletes every block object, the descriptor and finally\n"
    "the lease. Other objects under the prefix (see 's3nbd fsck') are left alone. Without --yes\n"
    "it asks for the volume name on the terminal; without a terminal and without --yes it\n"
    "refuses (exit 2). Refused while the volume is served (its pid file names a live process,\n"
    "or any writer, on any host, holds the lease; --force goes ahead anyway, for a dead writer),\n"
    "and where the S3 endpoint ignores If-None-Match: * (the lease could not keep a writer out)\n"
    "unless --unsafe-single-host.\n";

constexpr size_t kBatch = 1000;  // DeleteObjects' limit per request

}  // namespace

int CmdDestroy(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"yes", "force", "unsafe-single-host"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("destroy", kUsage, "unexpected argument");
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("destroy", args, {"yes", "force"}, false, &conf, &options)) return rc;
  std::string name = VolumeName(options), vol = "volume " + name;
  bool yes = args.values.count("yes");
  if (!yes && isatty(STDIN_FILENO) != 1)
    return Usage("destroy", kUsage,
                 vol + ": refusing to delete without --yes (no terminal to ask on)");
  if (auto paths = ResolveServerPaths(args, conf); paths.ok())
    if (pid_t pid = RunningPid(paths->pidfile))
      return Error("destroy", Status::Error(EBUSY, vol + ": served by pid " + std::to_string(pid) +
                                                       "; stop it first ('s3nbd stop')"));
  auto client = ConnectBucket(options);
  if (!client.ok()) return Error("destroy", client.status());
  auto d = ReadDescriptor(**client, options);
  if (!d.ok()) return Error("destroy", d.status());
  const std::string prefix = *NormalizePrefix(options.prefix);
  BlockKeys keys(prefix, d->key_layout);
  if (Status s = RequireCreateOnly(**client, prefix, "destroy: " + vol, options.unsafe_single_host); !s.ok()) {
    std::fprintf(stderr, "s3nbd %s\n", s.message().c_str());
    return kExitFailure;
  }
  const bool force = args.values.count("force") > 0;
  if (Status l = RefuseWhileLeased(**client, keys, vol, force, std::time(nullptr)); !l.ok())
    return Error("destroy", l);
  // Held to the end: no writer opens the volume while its blocks go.
  auto lease = WriterLease::Acquire(client->get(), keys.LeaseKey(), name, options.lease_seconds,
                                    options.force_takeover || force);
  if (!lease.ok()) return Error("destroy", lease.status().Wrap(vol));
  (*lease)->StartRenewal();
  // Released on every way out (the WriterLease destructor leaves it, for nbdkit's fork).
  struct ReleaseOnExit {
    WriterLease* lease;
    ~ReleaseOnExit() { lease->Release(); }
  } release{lease->get()};
  std::vector<std::string> blocks;
  Status s = (*client)->List(keys.BlockListPrefix(), [&](const S3ObjectInfo& o) {
    if (keys.ParseBlockKey(o.key)) blocks.push_back(o.key);
    return Status::Ok();
  });
  if (!s.ok()) return Error("destroy", s.Wrap(vol + ": listing"));
  if (!yes) {
    std::fprintf(stderr,
                 "Destroy %s (uuid %s, %llu bytes, %zu stored blocks)? Its data will be lost.\n"
                 "Type the volume name '%s' to confirm: ",
                 vol.c_str(), d->UuidString().c_str(), static_cast<unsigned long long>(d->size),
                 blocks.size(), name.c_str());
    std::string answer;
    if (!std::getline(std::cin, answer) || answer != name) {
      std::fprintf(stderr, "s3nbd destroy: %s: not confirmed; nothing deleted\n", vol.c_str());
      return kExitFailure;
    }
  }
  {
    Progress progress("deleting " + std::to_string(blocks.size()) + " blocks", blocks.size());
    for (size_t i = 0; i < blocks.size(); i += kBatch) {
      std::vector<std::string> batch(blocks.begin() + i,
                                     blocks.begin() + std::min(blocks.size(), i + kBatch));
      if (Status del = (*client)->DeleteMany(batch); !del.ok())
        return Error("destroy",
                     del.Wrap(vol + ": deleting blocks (descriptor kept; run destroy again)"));
      progress.Add(batch.size());
    }
  }
  if (Status del = (*client)->Delete(keys.WriterKey()); !del.ok())
    return Error("destroy", del.Wrap(vol + ": deleting the writer session token"));
  if (Status del = (*client)->Delete(keys.DescriptorKey()); !del.ok())
    return Error("destroy", del.Wrap(vol + ": deleting the descriptor"));
  std::printf("destroyed %s: %zu block objects, lease and descriptor deleted\n", vol.c_str(),
              blocks.size());
  return kExitOk;
}

}  // namespace s3nbd::cli
