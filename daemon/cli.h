// The s3nbd command line: shared flag parsing and the subcommands. Each subcommand
// returns the process exit code: 0 success, 1 failure (message on stderr), 2 usage error.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cache/volume_factory.h"

namespace s3nbd::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Parsed "--name value" / "--name=value" / "--flag" arguments.
struct Args {
  std::map<std::string, std::string> values;
  std::vector<std::string> positional;
  bool help = false;
};

// Splits argv; `boolean_flags` take no value. Returns false (message printed) on error.
bool ParseArgs(int argc, char** argv, const std::vector<std::string>& boolean_flags, Args* out);

// Applies every volume option in args (endpoint, bucket, prefix, ...) except those in `skip`.
// Prints the error and returns false on a bad value.
bool ApplyVolumeOptions(const Args& args, const std::vector<std::string>& skip, VolumeOptions* out);

int Error(const std::string& command, const Status& s);

int CmdCreate(int argc, char** argv);
int CmdInfo(int argc, char** argv);
int CmdPasswd(int argc, char** argv);

}  // namespace s3nbd::cli
