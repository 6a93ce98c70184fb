// s3nbd attach / detach: connects a volume to a kernel NBD device through the driver's netlink
// interface (serving it first if no server of the volume runs), leaving a reconnect daemon
// (attach_reconnect.h) that replaces connections lost when the server restarts; and
// disconnects it. Both refuse clearly when the nbd kernel module is not loaded.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "cache/volume/volume_config.h"
#include "daemon/attach_reconnect.h"
#include "daemon/cli.h"
#include "daemon/nbd_connection.h"
#include "daemon/nbd_netlink.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kAttachUsage =
    "usage: s3nbd attach [VOLUME] [/dev/nbdN] [--nbd-connections N] [--nbd-timeout SECONDS]\n"
    "                    [--nbd-reconnect-timeout SECONDS] [--start-server BOOL]\n"
    "                    [--config-dir DIR] [--run-dir DIR] [--KEY VALUE ...]\n"
    "Attaches the volume to the kernel NBD device (VOLUME's 'device' key if not given) through\n"
    "the nbd driver's netlink interface, serving the volume first ('s3nbd serve') unless its\n"
    "server runs, and leaves a daemon that reconnects the device when the server restarts\n"
    "(pid file RUN_DIR/VOLUME.attach.pid). Needs the nbd kernel module (modprobe nbd) and root.\n"
    "  --nbd-connections N  connections the kernel opens (default 4)\n"
    "  --nbd-timeout S      request timeout (default: none; the kernel retries after 30 s)\n"
    "  --nbd-reconnect-timeout S  how long the kernel holds I/O while the server is away\n"
    "                       (default 600; 0: no reconnect daemon, a lost connection fails I/O)\n"
    "  --start-server BOOL  false: never start a server, one must answer on socket/listen\n";

constexpr const char* kDetachUsage =
    "usage: s3nbd detach /dev/nbdN | VOLUME [--config-dir DIR] [--run-dir DIR]\n"
    "Disconnects the NBD device, given directly or as the 'device' key of VOLUME's conf; with\n"
    "VOLUME it first stops attach's reconnect daemon. The server keeps running ('s3nbd stop').\n";

constexpr uint64_t kDefaultReconnectTimeout = 600;

// $S3NBD_NBD_MODULE_DIR replaces it in tests (to exercise the refusal on any host).
std::string NbdModuleDir() {
  const char* e = std::getenv("S3NBD_NBD_MODULE_DIR");
  return e && *e ? e : "/sys/module/nbd";
}

Status CheckNbdModule(const std::string& command) {
  struct stat st;
  if (::stat(NbdModuleDir().c_str(), &st) == 0) return Status::Ok();
  return Status::Error(ENODEV, command + ": the nbd kernel module is not loaded (modprobe nbd)");
}

Status CheckDevice(const std::string& device) {
  struct stat st;
  if (device.rfind("/dev/nbd", 0) != 0)
    return Status::Error(EINVAL, "device '" + device + "' is not an NBD device (/dev/nbdN)");
  if (::stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
    return Status::Error(ENODEV, "device " + device + " does not exist or is not a block device");
  return Status::Ok();
}

// Runs argv, waits, returns its exit status (127 if it could not start; message printed).
int Run(std::vector<std::string> argv) {
  std::vector<char*> c;
  for (auto& s : argv) c.push_back(s.data());
  c.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    ::execvp(c[0], c.data());
    std::fprintf(stderr, "s3nbd: cannot run %s: %s\n", c[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "s3nbd";
}

int DeviceIndex(const std::string& device) {
  std::string n = device.substr(std::string("/dev/nbd").size());
  if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoi(n);
}

Result<uint64_t> CountKey(const VolumeConf& conf, const std::string& key, uint64_t fallback,
                          uint64_t lo, uint64_t hi) {
  auto v = conf.Get(key);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v->c_str(), &end, 10);
  if (v->empty() || *end || errno || n < lo || n > hi || (*v)[0] == '-')
    return Status::Error(EINVAL, key + ": '" + *v + "' is not a whole number from " +
                                     std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<uint64_t>(n);
}

// Alive and not a zombie (an init that is slow to reap must not make detach wait).
bool Alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || line.size() < paren + 3 || line[paren + 2] != 'Z';
}

// Sends SIGTERM to the reconnect daemon named by `pidfile` and waits up to 10 s for it.
void StopReconnectDaemon(const std::string& pidfile) {
  if (pid_t pid = RunningPid(pidfile); pid > 0) {
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && Alive(pid); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::unlink(pidfile.c_str());
}

// Forks the reconnect daemon, writes its pid file; the parent returns.
Status StartReconnectDaemon(const AttachTarget& target, std::unique_ptr<NbdNetlink> events,
                            const std::string& pidfile) {
  if (Status s = MakeDirFor(pidfile); !s.ok()) return s;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) return Status::Error(errno, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setsid();
    if (::chdir("/") != 0) {
      // nothing depends on the working directory
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 0);
    ::_exit(RunReconnectLoop(target, events.get()));
  }
  std::ofstream out(pidfile, std::ios::trunc);
  out << pid << "\n";
  if (!out.flush())
    return Status::Error(EIO, "cannot write the reconnect daemon's pid file " + pidfile);
  return Status::Ok();
}

}  // namespace

int CmdAttach(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {"unsafe-single-host"}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kAttachUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  std::string device;
  std::vector<std::string> rest;
  for (const auto& p : args.positional) {
    if (p.rfind("/dev/", 0) == 0 && device.empty())
      device = p;
    else
      rest.push_back(p);
  }
  if (rest.size() > 1) return Usage("attach", kAttachUsage, "unexpected argument");
  args.positional = rest;
  VolumeConf conf;
  VolumeOptions options;
  if (int rc = SelectVolume("attach", args, {}, false, &conf, &options)) return rc;
  if (device.empty()) device = conf.Get("device").value_or("");
  if (device.empty())
    return Usage("attach", kAttachUsage, "name the device (/dev/nbdN) or set 'device' in the conf");
  std::string vol = "volume " + conf.DisplayName();
  if (Status s = CheckNbdModule("attach"); !s.ok()) return Error("attach", s);
  if (Status s = CheckDevice(device); !s.ok()) return Error("attach", s.Wrap(vol));
  int index = DeviceIndex(device);
  if (index < 0)
    return Error("attach", Status::Error(EINVAL, "device '" + device + "' is not /dev/nbdN"));
  if (NbdDeviceConnected(index))
    return Error("attach", Status::Error(EBUSY, vol + ": " + device +
                                                    " is already connected (s3nbd detach it)"));
  auto paths = ResolveServerPaths(args, conf);
  if (!paths.ok()) return Error("attach", paths.status());
  auto conns = CountKey(conf, "nbd-connections", 4, 1, 64);
  auto timeout = CountKey(conf, "nbd-timeout", 0, 0, 86400 * 365);
  auto dead = CountKey(conf, "nbd-reconnect-timeout", kDefaultReconnectTimeout, 0, 86400 * 365);
  auto start = ParseBool("start-server", conf.Get("start-server").value_or("true"));
  for (const Status* s : {&conns.status(), &timeout.status(), &dead.status(), &start.status()})
    if (!s->ok()) return Error("attach", s->Wrap(vol));

  if (*start && !RunningPid(paths->pidfile)) {
    std::vector<std::string> serve = {SelfExe(), "serve"};
    for (const auto& p : args.positional) serve.push_back(p);
    for (const auto& [k, v] : args.values) serve.push_back("--" + k + "=" + v);
    if (int rc = Run(serve); rc != 0)
      return Error("attach",
                   Status::Error(EIO, vol + ": could not start its server (s3nbd serve exit " +
                                          std::to_string(rc) + ")"));
  }
  // Events first: a connection that dies right after the connect must not go unseen.
  std::unique_ptr<NbdNetlink> events;
  if (*dead > 0) {
    auto e = NbdNetlink::Open(true);
    if (!e.ok()) return Error("attach", e.status().Wrap(vol));
    events = std::move(*e);
  }
  auto nl = NbdNetlink::Open(false);
  if (!nl.ok()) return Error("attach", nl.status().Wrap(vol));

  NbdDeviceSetup setup;
  setup.index = index;
  setup.timeout = *timeout;
  setup.dead_timeout = *dead;
  setup.backend = "s3nbd:" + conf.DisplayName();
  std::vector<UniqueFd> socks;
  std::vector<int> fds;
  for (uint64_t i = 0; i < *conns; i++) {
    NbdExport ex;
    auto fd = OpenKernelConnection(*paths, conf.DisplayName(), &ex);
    if (!fd.ok())
      return Error("attach", fd.status().Wrap(vol + ": connection " + std::to_string(i + 1)));
    if (i == 0) {
      setup.size = ex.size;
      setup.server_flags = ex.flags;
    }
    fds.push_back(fd->get());
    socks.push_back(std::move(*fd));
  }
  if (Status s = (*nl)->Connect(setup, fds); !s.ok())
    return Error("attach", s.Wrap(vol + ": " + device));
  socks.clear();  // the kernel holds its own references

  std::string how = "no reconnect";
  if (events) {
    AttachTarget target{*paths, conf.DisplayName(), vol + " on " + device, index, setup.backend,
                        setup.size};
    std::string pidfile = RuntimePath(args, conf, ".attach.pid");
    if (Status s = StartReconnectDaemon(target, std::move(events), pidfile); !s.ok())
      std::fprintf(stderr, "s3nbd attach: warning: %s: %s\n", vol.c_str(), s.message().c_str());
    how = "reconnects for up to " + std::to_string(*dead) + " s";
  }
  std::printf("attached %s to %s (%llu connections, %s)\n", vol.c_str(), device.c_str(),
              static_cast<unsigned long long>(*conns), how.c_str());
  return kExitOk;
}

int CmdDetach(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kDetachUsage, stdout);
    return kExitOk;
  }
  if (args.positional.size() != 1)
    return Usage("detach", kDetachUsage, "expected exactly one device or VOLUME");
  std::string device = args.positional[0];
  std::string pidfile;
  if (device.rfind("/dev/", 0) != 0) {
    VolumeConf conf;
    if (int rc = SelectVolume("detach", args, {}, false, &conf, nullptr)) return rc;
    device = conf.Get("device").value_or("");
    if (device.empty())
      return Error("detach", Status::Error(EINVAL, "volume " + conf.name + ": " + conf.path +
                                                       " has no 'device' key"));
    pidfile = RuntimePath(args, conf, ".attach.pid");
  } else {
    for (const auto& [k, v] : args.values)
      if (k != "run-dir" && k != "config-dir")
        return Usage("detach", kDetachUsage, "options are for a VOLUME, not a device");
  }
  if (Status s = CheckNbdModule("detach"); !s.ok()) return Error("detach", s);
  if (Status s = CheckDevice(device); !s.ok()) return Error("detach", s);
  int index = DeviceIndex(device);
  if (index < 0)
    return Error("detach", Status::Error(EINVAL, "device '" + device + "' is not /dev/nbdN"));
  // Without a VOLUME the daemon notices the disconnect itself and exits within a second.
  if (!pidfile.empty()) StopReconnectDaemon(pidfile);
  auto nl = NbdNetlink::Open(false);
  Status s = nl.ok() ? (*nl)->Disconnect(index) : nl.status();
  if (!s.ok()) return Error("detach", s.Wrap(device));
  std::printf("detached %s\n", device.c_str());
  return kExitOk;
}

}  // namespace s3nbd::cli
