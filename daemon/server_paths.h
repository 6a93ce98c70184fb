// ServerPaths: where the server of a volume lives at run time — the nbdkit plugin to load,
// the unix socket or TCP address, the pid file, the stats file — from the volume's conf,
// the flags and the defaults under RUN_DIR. Also reading a pid file. Pure apart from stat().
#pragma once

#include <sys/types.h>

#include <string>

#include "cache/util/status.h"
#include "daemon/cli.h"

namespace s3nbd::cli {

struct ServerPaths {
  std::string socket;    // unix socket, or "" when listening on TCP
  std::string tcp_host;  // with --listen / listen = ADDR:PORT
  std::string tcp_port;
  std::string pidfile;
  std::string statsfile;
  bool tls = false;  // tls / tls-certificates / tls-psk: flush connects with TLS too
  std::string tls_certificates;
  std::string tls_psk;
};

Result<ServerPaths> ResolveServerPaths(const Args& args, const VolumeConf& conf);

// Splits "ADDR:PORT" or "[V6ADDR]:PORT"; only numeric ports.
Status ParseListen(const std::string& text, std::string* host, std::string* port);

// --plugin, $S3NBD_PLUGIN, nbdkit-s3nbd-plugin.so beside the s3nbd binary (a build tree),
// then kInstalledPlugin. Fails naming every place tried.
Result<std::string> FindPlugin(const Args& args, const VolumeConf& conf);
extern const char* const kInstalledPlugin;

// Creates the directories above `path` (mkdir -p of its dirname, mode 0755).
Status MakeDirFor(const std::string& path);

// The pid in `pidfile` if that process is alive; 0 if the file is absent or stale.
pid_t RunningPid(const std::string& pidfile);
// The pid in `pidfile` (RUN_DIR/VOLUME.attach.pid) if it is a live `s3nbd attach` reconnect
// daemon (its command line says so: a reused pid of another program does not count); else 0.
pid_t RunningAttachDaemon(const std::string& pidfile);

// NBD FLUSH to the server at `paths` (libnbd); cmd_flush.cc.
Status FlushServer(const ServerPaths& paths, const std::string& volume);

}  // namespace s3nbd::cli
