// s3nbd fsck: lists every object under a volume's prefix, verifies each block object in
// parallel (GET + DecodeBlock), reports orphans, blocks beyond the volume, corrupt and all-zero
// objects, and with --repair deletes what is safe — never another volume's objects (a nested
// volume's subtree), never while a writer holds the lease. Workers share only an atomic index
// and write disjoint slots of the result vector.
#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include "cache/volume/volume_config.h"
#include "daemon/cli.h"
#include "daemon/fsck_check.h"
#include "daemon/lease_check.h"
#include "daemon/progress.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd fsck [VOLUME] [--endpoint URL --bucket NAME [--prefix P]] [--repair]\n"
    "                  [--delete-corrupt] [--force] [--jobs N]\n"
    "Checks every object under the volume's prefix: each block object is read and decoded\n"
    "(header, volume tag, checksum) by N parallel workers (default 8). Reports on stdout, one\n"
    "line each: 'orphan: KEY' (not a key s3nbd writes), 'out-of-range: block N ...' (beyond\n"
    "the volume size), 'corrupt: block N ...: CAUSE', 'zero: block N ...' (an all-zero block\n"
    "that should be absent), 'unreadable: block N ...: CAUSE' (the GET failed), and\n"
    "'other-volume: PREFIX' for a volume nested under the prefix (its objects are left alone).\n"
    "  --repair          delete orphans, out-of-range and all-zero objects; refused while the\n"
    "                    volume is served here or any writer holds its lease\n"
    "  --delete-corrupt  with --repair, also delete corrupt blocks (they then read as zeros)\n"
    "  --force           with --repair, go ahead although a writer holds the lease (it is dead)\n"
    "Exit status: 0 nothing wrong (or everything found was repaired), 1 problems remain.\n";

struct Problem {
  std::string kind;  // orphan, out-of-range, corrupt, zero, unreadable
  std::string key;
  std::string text;
  bool deletable;  // by --repair
};

}  // namespace

int CmdFsck(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"repair", "delete-corrupt", "force"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("fsck", kUsage, "unexpected argument");
  bool repair = args.values.count("repair"), delete_corrupt = args.values.count("delete-corrupt");
  if (delete_corrupt && !repair) return Usage("fsck", kUsage, "--delete-corrupt needs --repair");
  bool force = args.values.count("force");
  if (force && !repair) return Usage("fsck", kUsage, "--force needs --repair");
  int jobs = 8;
  if (args.values.count("jobs")) {
    jobs = std::atoi(args.values["jobs"].c_str());
    if (jobs < 1 || jobs > 256) return Usage("fsck", kUsage, "--jobs must be from 1 to 256");
  }
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("fsck", args, {"repair", "delete-corrupt", "force", "jobs"}, !repair, &conf,
                            &options))
    return rc;
  std::string vol = "volume " + VolumeName(options);
  if (repair) {
    auto paths = ResolveServerPaths(args, conf);
    if (paths.ok())
      if (pid_t pid = RunningPid(paths->pidfile))
        return Error("fsck", Status::Error(EBUSY, vol + ": served by pid " + std::to_string(pid) +
                                                      "; stop it before --repair ('s3nbd stop')"));
  }
  auto client = ConnectBucket(options);
  if (!client.ok()) return Error("fsck", client.status());
  auto d = ReadDescriptor(**client, options);
  if (!d.ok()) return Error("fsck", d.status());
  BlockKeys keys(*NormalizePrefix(options.prefix), d->key_layout);
  if (repair)
    if (Status l = RefuseWhileLeased(**client, keys, vol, force, std::time(nullptr)); !l.ok())
      return Error("fsck", l.Wrap("--repair"));

  // All keys first: a nested volume's descriptor may be listed after its other objects.
  std::vector<std::string> listed;
  Status s = (*client)->List(keys.prefix(), [&](const S3ObjectInfo& o) {
    listed.push_back(o.key);
    return Status::Ok();
  });
  if (!s.ok()) return Error("fsck", s.Wrap(vol + ": listing"));
  const std::vector<std::string> others = OtherVolumePrefixes(keys, listed);
  std::vector<Problem> problems;
  std::vector<std::pair<uint64_t, std::string>> blocks;  // in range: block, key
  uint64_t objects = 0;
  for (const std::string& key : listed) {
    KeyClass c = ClassifyKey(keys, key, d->block_count(), others);
    if (c.kind == KeyKind::kOtherVolume) continue;
    objects++;
    if (c.kind == KeyKind::kBlock) blocks.emplace_back(c.block, key);
    if (c.kind == KeyKind::kOrphan)
      problems.push_back({"orphan", key, "orphan: " + key + " (not an object of this volume)", true});
    if (c.kind == KeyKind::kOutOfRange)
      problems.push_back({"out-of-range", key,
                          "out-of-range: block " + std::to_string(c.block) + " (" + key +
                              "): the volume has " + std::to_string(d->block_count()) + " blocks",
                          true});
  }
  for (const std::string& p : others)
    std::printf("other-volume: %s (a volume nested under this prefix; its objects are left alone)\n",
                p.empty() ? "(bucket root)" : p.c_str());

  auto codec = CodecFor(options, *d, VolumeName(options));  // encrypted: needs passphrase-file
  if (!codec.ok()) return Error("fsck", codec.status());
  const CodecIdentity& id = *codec;
  std::vector<Problem> found(blocks.size());
  std::vector<char> has(blocks.size(), 0);
  std::atomic<size_t> next{0};
  {
    Progress progress("checking " + std::to_string(blocks.size()) + " blocks", blocks.size());
    std::vector<std::jthread> workers;
    for (int w = 0; w < jobs; w++)
      workers.emplace_back([&] {
        for (size_t i; (i = next.fetch_add(1)) < blocks.size(); progress.Add(1)) {
          const auto& [block, key] = blocks[i];
          std::string where = "block " + std::to_string(block) + " (" + key + ")";
          std::string body;
          Status g = (*client)->Get(key, &body);
          if (g.err() == ENOENT) continue;  // deleted since the listing
          if (!g.ok()) {
            found[i] = {"unreadable", key, "unreadable: " + where + ": " + g.message(), false};
            has[i] = 1;
            continue;
          }
          ObjectCheck c = CheckBlockObject(id, block, body);
          if (c.state == ObjectState::kCorrupt) {
            found[i] = {"corrupt", key, "corrupt: " + where + ": " + c.cause, delete_corrupt};
            has[i] = 1;
          } else if (c.state == ObjectState::kAllZero) {
            found[i] = {"zero", key,
                        "zero: " + where + ": all-zero block stored (should be absent)", true};
            has[i] = 1;
          }
        }
      });
  }
  for (size_t i = 0; i < found.size(); i++)
    if (has[i]) problems.push_back(std::move(found[i]));

  std::vector<std::string> to_delete;
  for (const Problem& p : problems) {
    std::printf("%s\n", p.text.c_str());
    if (repair && p.deletable) to_delete.push_back(p.key);
  }
  size_t remaining = problems.size();
  if (!to_delete.empty()) {
    if (Status del = (*client)->DeleteMany(to_delete); !del.ok())
      return Error("fsck", del.Wrap(vol + ": repair"));
    remaining -= to_delete.size();
    std::printf("repaired: deleted %zu objects\n", to_delete.size());
  }
  std::printf("fsck: %s: %llu objects, %zu blocks checked, %zu problems found, %zu remain\n",
              vol.c_str(), static_cast<unsigned long long>(objects), blocks.size(), problems.size(),
              remaining);
  if (remaining && !repair)
    std::printf("fsck: run with --repair to delete orphans, out-of-range and zero objects\n");
  return remaining ? kExitFailure : kExitOk;
}

}  // namespace s3nbd::cli
