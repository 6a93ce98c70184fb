// s3nbd: command-line entry point; dispatches to the subcommands in cli.h.
#include <cstdio>
#include <cstring>
#include <string>

#include "daemon/cli.h"

namespace {

constexpr const char* kUsage =
    "usage: s3nbd COMMAND [VOLUME] [OPTIONS]\n"
    "Commands:\n"
    "  create    create a new volume (writes its descriptor)\n"
    "  info      show a volume's descriptor and usage\n"
    "  serve     serve a volume with nbdkit (unix socket or TCP; daemon or foreground)\n"
    "  stop      flush and stop the server of a volume\n"
    "  flush     make everything written to a served volume durable in S3 (NBD FLUSH)\n"
    "  stats     show a served volume's statistics (table or --prometheus)\n"
    "  exporter  serve /metrics over HTTP for Prometheus: every served volume of the host\n"
    "  attach    attach a volume to /dev/nbdN (serves it if needed; nbd-client)\n"
    "  detach    detach /dev/nbdN\n"
    "  fsck      verify every object of a volume; --repair removes what is safe\n"
    "  destroy   delete a volume: its blocks, lease and descriptor\n"
    "  passwd    change the passphrase of an encrypted volume (rewrites only its descriptor)\n"
    "  doctor    probe an S3 provider (ENDPOINT URL or VOLUME): which s3nbd features are safe\n"
    "VOLUME names /etc/s3nbd/VOLUME.conf (--config-dir DIR or $S3NBD_CONFIG_DIR to change the\n"
    "directory); flags like --endpoint URL --bucket B --prefix P override or replace it.\n"
    "Run 's3nbd COMMAND --help' for the options of a command; see s3nbd(8).\n"
    "Exit status: 0 success, 1 failure, 2 usage error (doctor: 3 usable with warnings).\n";

struct Command {
  const char* name;
  int (*fn)(int, char**);
};

constexpr Command kCommands[] = {
    {"create", s3nbd::cli::CmdCreate}, {"info", s3nbd::cli::CmdInfo},
    {"serve", s3nbd::cli::CmdServe},   {"stop", s3nbd::cli::CmdStop},
    {"flush", s3nbd::cli::CmdFlush},   {"stats", s3nbd::cli::CmdStats},
    {"attach", s3nbd::cli::CmdAttach}, {"detach", s3nbd::cli::CmdDetach},
    {"fsck", s3nbd::cli::CmdFsck},     {"destroy", s3nbd::cli::CmdDestroy},
    {"passwd", s3nbd::cli::CmdPasswd}, {"exporter", s3nbd::cli::CmdExporter},
    {"doctor", s3nbd::cli::CmdDoctor},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? s3nbd::cli::kExitUsage : s3nbd::cli::kExitOk;
  }
  std::string command = argv[1];
  for (const Command& c : kCommands)
    if (command == c.name) return c.fn(argc - 2, argv + 2);
  std::fprintf(stderr, "s3nbd: unknown command '%s'\n%s", command.c_str(), kUsage);
  return s3nbd::cli::kExitUsage;
}
