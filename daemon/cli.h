// The s3nbd command line: shared flag parsing, volume selection and the subcommands. Each
// subcommand returns the process exit code: 0 success, 1 failure (message on stderr),
// 2 usage error. Single-threaded apart from the pools fsck/destroy create and join.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cache/volume/volume_factory.h"
#include "daemon/volume_conf.h"

namespace s3nbd::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// How every volume command is told which volume: shown in each --help.
extern const char* const kVolumeSelectionHelp;

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

// Volume selection for a subcommand: positional VOLUME (CONFIG_DIR/VOLUME.conf) and/or
// --endpoint/--bucket/--prefix/... flags, flags overriding the file. Flags other than
// `own_flags`, CLI keys and plugin keys are usage errors. `positional` is how many
// positional arguments the command takes after an optional VOLUME. Returns kExitOk or the
// exit code (message printed). `options` may be null (serve: the plugin checks).
int SelectVolume(const std::string& command, const Args& args,
                 const std::vector<std::string>& own_flags, bool readonly, VolumeConf* conf,
                 VolumeOptions* options);

int Error(const std::string& command, const Status& s);
int Usage(const std::string& command, const char* usage, const std::string& why);
bool StderrIsTerminal();

int CmdCreate(int argc, char** argv);
int CmdInfo(int argc, char** argv);
int CmdPasswd(int argc, char** argv);
int CmdDestroy(int argc, char** argv);
int CmdServe(int argc, char** argv);
int CmdFlush(int argc, char** argv);
int CmdStop(int argc, char** argv);
int CmdStats(int argc, char** argv);
int CmdFsck(int argc, char** argv);
int CmdAttach(int argc, char** argv);
int CmdDetach(int argc, char** argv);
int CmdExporter(int argc, char** argv);
int CmdDoctor(int argc, char** argv);

}  // namespace s3nbd::cli
