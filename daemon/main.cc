// s3nbd: command-line entry point; dispatches to the subcommands in cli.h.
#include <cstdio>
#include <cstring>
#include <string>

#include "daemon/cli.h"

namespace {

constexpr const char* kUsage =
    "usage: s3nbd COMMAND [OPTIONS]\n"
    "Commands:\n"
    "  create    create a new volume (writes its descriptor)\n"
    "  info      show a volume's descriptor and usage\n"
    "  passwd    change the passphrase of an encrypted volume (rewrites only its descriptor)\n"
    "Run 's3nbd COMMAND --help' for the options of a command. The volume is served by\n"
    "nbdkit: nbdkit nbdkit-s3nbd-plugin.so endpoint=URL bucket=B prefix=P (see its --help).\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? s3nbd::cli::kExitUsage : s3nbd::cli::kExitOk;
  }
  std::string command = argv[1];
  if (command == "create") return s3nbd::cli::CmdCreate(argc - 2, argv + 2);
  if (command == "info") return s3nbd::cli::CmdInfo(argc - 2, argv + 2);
  if (command == "passwd") return s3nbd::cli::CmdPasswd(argc - 2, argv + 2);
  std::fprintf(stderr, "s3nbd: unknown command '%s'\n%s", command.c_str(), kUsage);
  return s3nbd::cli::kExitUsage;
}
