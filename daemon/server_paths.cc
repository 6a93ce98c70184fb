// Run-time paths of a volume's server; see server_paths.h.
#include "daemon/server_paths.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "cache/volume/volume_config.h"

namespace s3nbd::cli {

#ifndef S3NBD_PLUGINDIR  // CMakeLists.txt sets it from pkg-config's nbdkit plugindir
#error "S3NBD_PLUGINDIR must name nbdkit's plugin directory"
#endif
const char* const kInstalledPlugin = S3NBD_PLUGINDIR "/nbdkit-s3nbd-plugin.so";

Status ParseListen(const std::string& text, std::string* host, std::string* port) {
  auto bad = [&](const char* why) {
    return Status::Error(
        EINVAL, "listen: '" + text + "' " + why + " (examples: 127.0.0.1:10809, [::1]:10809)");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("is not ADDR:PORT");
  std::string h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return bad("has an unbalanced '['");
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return bad("needs [brackets] around an IPv6 address");
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::atoi(p.c_str()) < 1 || std::atoi(p.c_str()) > 65535)
    return bad("has no port from 1 to 65535");
  *host = h;
  *port = p;
  return Status::Ok();
}

Result<ServerPaths> ResolveServerPaths(const Args& args, const VolumeConf& conf) {
  ServerPaths p;
  auto listen = conf.Get("listen");
  auto socket = conf.Get("socket");
  if (listen && socket)
    return Status::Error(
        EINVAL, "volume " + conf.DisplayName() + ": give either socket or listen, not both");
  if (listen) {
    if (Status s = ParseListen(*listen, &p.tcp_host, &p.tcp_port); !s.ok())
      return s.Wrap("volume " + conf.DisplayName());
  } else {
    p.socket = socket.value_or(RuntimePath(args, conf, ".sock"));
  }
  p.pidfile = conf.Get("pidfile").value_or(RuntimePath(args, conf, ".pid"));
  p.statsfile = conf.Get("statsfile").value_or(RuntimePath(args, conf, ".stats"));
  p.tls_certificates = conf.Get("tls-certificates").value_or("");
  p.tls_psk = conf.Get("tls-psk").value_or("");
  p.tls = !p.tls_certificates.empty() || !p.tls_psk.empty();
  if (auto t = conf.Get("tls")) {
    auto b = ParseBool("tls", *t);
    if (!b.ok()) return b.status().Wrap("volume " + conf.DisplayName());
    p.tls = p.tls || *b;
  }
  return p;
}

Result<std::string> FindPlugin(const Args& args, const VolumeConf& conf) {
  std::string tried;
  auto exists = [&](const std::string& path) {
    struct stat st;
    tried += (tried.empty() ? "" : ", ") + path;
    return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  };
  if (auto p = conf.Get("plugin")) {
    if (exists(*p)) return *p;
    (void)args;
    return Status::Error(ENOENT, "plugin: " + *p + " does not exist");
  }
  if (const char* e = std::getenv("S3NBD_PLUGIN"); e && *e) {
    if (exists(e)) return std::string(e);
    return Status::Error(ENOENT, "plugin: $S3NBD_PLUGIN=" + std::string(e) + " does not exist");
  }
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    if (std::string beside = dir + "/nbdkit-s3nbd-plugin.so"; exists(beside)) return beside;
  }
  if (exists(kInstalledPlugin)) return std::string(kInstalledPlugin);
  return Status::Error(ENOENT, "plugin: nbdkit-s3nbd-plugin.so not found (tried " + tried +
                                   "); give --plugin PATH or set S3NBD_PLUGIN");
}

Status MakeDirFor(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); i++) {
    if (i < dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Error(errno, "cannot create directory " + part + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

pid_t RunningPid(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return 0;
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return static_cast<pid_t>(pid);
  return 0;
}

pid_t RunningAttachDaemon(const std::string& pidfile) {
  const pid_t pid = RunningPid(pidfile);
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string arg;
  std::vector<std::string> argv;
  while (std::getline(in, arg, '\0')) argv.push_back(arg);
  // argv[0] ends in "s3nbd" (a path or the bare name), and "attach" is among the words
  const bool s3nbd = !argv.empty() && (argv[0] == "s3nbd" || argv[0].ends_with("/s3nbd"));
  const bool attach = std::find(argv.begin(), argv.end(), "attach") != argv.end();
  return s3nbd && attach ? pid : 0;
}

}  // namespace s3nbd::cli
