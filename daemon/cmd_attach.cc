// s3nbd attach / detach: connects a volume to a kernel NBD device with Debian's nbd-client
// (serving it first if no server of the volume runs), and disconnects it. Both refuse clearly
// when the nbd kernel module is not loaded.
#include <sys/stat.h>
#include <sys/wait.h>
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

constexpr const char* kAttachUsage =
    "usage: s3nbd attach [VOLUME] [/dev/nbdN] [--nbd-connections N] [--nbd-timeout SECONDS]\n"
    "                    [--config-dir DIR] [--run-dir DIR] [--KEY VALUE ...]\n"
    "Attaches the volume to the kernel NBD device (VOLUME's 'device' key if not given) with\n"
    "nbd-client (Debian package nbd-client), serving the volume first ('s3nbd serve') unless its\n"
    "server runs. Needs the nbd kernel module (modprobe nbd) and root.\n"
    "  --nbd-connections N  connections the kernel opens (nbd-client -connections; default 4)\n"
    "  --nbd-timeout S      nbd-client -timeout (default: nbd-client's)\n";

constexpr const char* kDetachUsage =
    "usage: s3nbd detach /dev/nbdN | VOLUME [--config-dir DIR]\n"
    "Disconnects the NBD device (nbd-client -d), given directly or as the 'device' key of\n"
    "VOLUME's conf. The server keeps running ('s3nbd stop' ends it).\n";

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
  auto paths = ResolveServerPaths(args, conf);
  if (!paths.ok()) return Error("attach", paths.status());

  if (!RunningPid(paths->pidfile)) {
    std::vector<std::string> serve = {SelfExe(), "serve"};
    for (const auto& p : args.positional) serve.push_back(p);
    for (const auto& [k, v] : args.values) serve.push_back("--" + k + "=" + v);
    if (int rc = Run(serve); rc != 0)
      return Error("attach",
                   Status::Error(EIO, vol + ": could not start its server (s3nbd serve exit " +
                                          std::to_string(rc) + ")"));
  }
  std::vector<std::string> cmd = {"nbd-client"};
  if (!paths->socket.empty()) {
    cmd.insert(cmd.end(), {"-unix", paths->socket, device});
  } else {
    cmd.insert(cmd.end(), {paths->tcp_host, paths->tcp_port, device});
  }
  // An export name keeps nbd-client from warning about the old-style protocol; nbdkit serves
  // the volume under any name.
  cmd.insert(cmd.end(), {"-name", conf.DisplayName(), "-block-size", "4096"});
  cmd.insert(cmd.end(), {"-connections", conf.Get("nbd-connections").value_or("4")});
  if (auto t = conf.Get("nbd-timeout")) cmd.insert(cmd.end(), {"-timeout", *t});
  int rc = Run(cmd);
  if (rc != 0)
    return Error("attach",
                 Status::Error(EIO, vol + ": nbd-client failed (exit " + std::to_string(rc) +
                                        ") attaching " + device +
                                        (rc == 127 ? "; apt-get install nbd-client" : "")));
  std::printf("attached %s to %s\n", vol.c_str(), device.c_str());
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
  if (device.rfind("/dev/", 0) != 0) {
    VolumeConf conf;
    if (int rc = SelectVolume("detach", args, {}, false, &conf, nullptr)) return rc;
    device = conf.Get("device").value_or("");
    if (device.empty())
      return Error("detach", Status::Error(EINVAL, "volume " + conf.name + ": " + conf.path +
                                                       " has no 'device' key"));
  } else if (!args.values.empty()) {
    return Usage("detach", kDetachUsage, "options are for a VOLUME, not a device");
  }
  if (Status s = CheckNbdModule("detach"); !s.ok()) return Error("detach", s);
  if (Status s = CheckDevice(device); !s.ok()) return Error("detach", s);
  int rc = Run({"nbd-client", "-d", device});
  if (rc != 0)
    return Error("detach", Status::Error(EIO, "nbd-client -d " + device + " failed (exit " +
                                                  std::to_string(rc) + ")"));
  return kExitOk;
}

}  // namespace s3nbd::cli
