// s3nbd serve / stop: runs nbdkit with the s3nbd plugin for a volume (exec, so systemd and
// the caller see nbdkit itself), and stops a running server after flushing it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "daemon/cli.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kServeUsage =
    "usage: s3nbd serve [VOLUME] [--foreground] [--socket PATH | --listen ADDR:PORT]\n"
    "                   [--pidfile PATH] [--tls] [--tls-certificates DIR] [--tls-psk FILE]\n"
    "                   [--plugin PATH] [--config-dir DIR] [--run-dir DIR] [--KEY VALUE ...]\n"
    "Serves the volume with nbdkit and the s3nbd plugin: on the unix socket RUN_DIR/VOLUME.sock\n"
    "(RUN_DIR: --run-dir, $S3NBD_RUN_DIR, /run/s3nbd) or on TCP with --listen; as a daemon with\n"
    "the pid file RUN_DIR/VOLUME.pid, or in the foreground with --foreground. The plugin writes\n"
    "RUN_DIR/VOLUME.stats (see 's3nbd stats'). Every other --KEY VALUE (and every key of the\n"
    "config file) is passed to the plugin as KEY=VALUE. Secrets are never passed: use\n"
    "credentials-file, a profile or the AWS credential chain (s3nbd(8), CREDENTIALS).\n"
    "  --tls                 require TLS (nbdkit --tls=require); implied by the next two\n"
    "  --tls-certificates D  X.509 certificates directory; --tls-psk F  PSK file\n"
    "  --plugin PATH         the plugin .so (else $S3NBD_PLUGIN, beside s3nbd, the installed one)\n"
    "  $S3NBD_NBDKIT         the nbdkit binary (default: nbdkit on PATH)\n";

constexpr const char* kStopUsage =
    "usage: s3nbd stop [VOLUME] [--pidfile PATH] [--no-flush] [--timeout SECONDS] [--force]\n"
    "Flushes the running server of VOLUME (like 's3nbd flush'), then sends it SIGTERM and waits\n"
    "until it has exited (default up to 600 s). Refused while VOLUME is attached to an NBD\n"
    "device ('s3nbd detach' it first): --force stops the server anyway, and the device's\n"
    "requests in flight then fail.\n";

}  // namespace

int CmdServe(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"foreground", "tls", "unsafe-single-host"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kServeUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("serve", kServeUsage, "unexpected argument");
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("serve", args, {"foreground"}, false, &conf, &options)) return rc;
  auto paths = ResolveServerPaths(args, conf);
  if (!paths.ok()) return Error("serve", paths.status());
  auto plugin = FindPlugin(args, conf);
  if (!plugin.ok()) return Error("serve", plugin.status().Wrap("volume " + conf.DisplayName()));
  if (pid_t pid = RunningPid(paths->pidfile))
    return Error(
        "serve",
        Status::Error(EEXIST, "volume " + conf.DisplayName() + ": already served by pid " +
                                  std::to_string(pid) + " (pid file " + paths->pidfile + ")"));
  for (const std::string* p : {&paths->socket, &paths->pidfile, &paths->statsfile}) {
    if (p->empty()) continue;
    if (Status s = MakeDirFor(*p); !s.ok())
      return Error("serve", s.Wrap("volume " + conf.DisplayName()));
  }
  if (!paths->socket.empty())
    ::unlink(paths->socket.c_str());  // stale: no server holds it (pid file)

  const char* nbdkit = std::getenv("S3NBD_NBDKIT");
  std::vector<std::string> cmd = {nbdkit && *nbdkit ? nbdkit : "nbdkit"};
  if (args.values.count("foreground")) cmd.push_back("--foreground");
  cmd.push_back("--pidfile=" + paths->pidfile);
  if (!paths->socket.empty()) {
    cmd.push_back("--unix=" + paths->socket);
  } else {
    cmd.push_back("--ipaddr=" + paths->tcp_host);
    cmd.push_back("--port=" + paths->tcp_port);
  }
  if (paths->tls) cmd.push_back("--tls=require");
  if (!paths->tls_certificates.empty())
    cmd.push_back("--tls-certificates=" + paths->tls_certificates);
  if (!paths->tls_psk.empty()) cmd.push_back("--tls-psk=" + paths->tls_psk);
  cmd.push_back(*plugin);
  for (const std::string& p : PluginParams(conf)) cmd.push_back(p);
  if (!conf.Get("statsfile")) cmd.push_back("statsfile=" + paths->statsfile);

  std::vector<char*> cargv;
  for (auto& s : cmd) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  std::fflush(stdout);
  ::execvp(cargv[0], cargv.data());
  return Error("serve",
               Status::Error(errno, "volume " + conf.DisplayName() + ": cannot run " + cmd[0] +
                                        ": " + std::strerror(errno) + " (apt-get install nbdkit)"));
}

int CmdStop(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"no-flush", "force"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kStopUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("stop", kStopUsage, "unexpected argument");
  VolumeConf conf;
  if (int rc = SelectVolume("stop", args, {"no-flush", "timeout", "force"}, false, &conf, nullptr))
    return rc;
  // An attached device would see its requests fail (nbdkit answers ESHUTDOWN while it stops)
  // and then wait for a server that does not come back: detach first.
  if (const pid_t d = RunningAttachDaemon(RuntimePath(args, conf, ".attach.pid"));
      d > 0 && !args.values.count("force")) {
    const std::string device = conf.Get("device").value_or("its NBD device");
    return Error("stop", Status::Error(EBUSY, "volume " + conf.DisplayName() + " is attached to " +
                                                  device + " (reconnect daemon pid " +
                                                  std::to_string(d) + "): run 's3nbd detach " +
                                                  (conf.name.empty() ? device : conf.name) +
                                                  "' first, or 'stop --force' to stop the "
                                                  "server anyway (the device's I/O then fails)"));
  }
  auto paths = ResolveServerPaths(args, conf);
  if (!paths.ok()) return Error("stop", paths.status());
  pid_t pid = RunningPid(paths->pidfile);
  if (!pid)
    return Error("stop",
                 Status::Error(ESRCH, "volume " + conf.DisplayName() +
                                          ": not running (no live pid in " + paths->pidfile + ")"));
  long timeout = args.values.count("timeout") ? std::atol(args.values["timeout"].c_str()) : 600;
  if (timeout <= 0)
    return Usage("stop", kStopUsage, "--timeout must be a positive number of seconds");
  if (!args.values.count("no-flush")) {
    if (Status s = FlushServer(*paths, conf.DisplayName()); !s.ok()) return Error("stop", s);
  }
  if (::kill(pid, SIGTERM) != 0)
    return Error("stop",
                 Status::Error(errno, "volume " + conf.DisplayName() + ": cannot signal pid " +
                                          std::to_string(pid) + ": " + std::strerror(errno)));
  for (long i = 0; i < timeout * 10; i++) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return kExitOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error("stop", Status::Error(ETIMEDOUT, "volume " + conf.DisplayName() + ": pid " +
                                                    std::to_string(pid) + " still running after " +
                                                    std::to_string(timeout) + " s"));
}

}  // namespace s3nbd::cli
