// The reconnect loop of an attached device; see attach_reconnect.h.
#include "daemon/attach_reconnect.h"

#include <signal.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "daemon/nbd_connection.h"

namespace s3nbd::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void Log(const AttachTarget& t, const std::string& msg) {
  std::fprintf(stderr, "s3nbd attach: %s: %s\n", t.what.c_str(), msg.c_str());
  std::fflush(stderr);
}

// One new connection for a dead one.
Status ReconnectOnce(const AttachTarget& t, NbdNetlink* commands) {
  NbdExport ex;
  auto fd = OpenKernelConnection(t.paths, t.export_name, &ex);
  if (!fd.ok()) return fd.status();
  if (ex.size != t.size)
    return Status::Error(EINVAL, "the server's export has " + std::to_string(ex.size) +
                                     " bytes, the device " + std::to_string(t.size));
  return commands->Reconnect(t.index, t.backend, fd->get());
}

}  // namespace

bool NbdDeviceConnected(int index) {
  struct stat st;
  std::string pid = "/sys/block/nbd" + std::to_string(index) + "/pid";
  return ::stat(pid.c_str(), &st) == 0;
}

int RunReconnectLoop(const AttachTarget& t, NbdNetlink* events) {
  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);

  auto commands = NbdNetlink::Open(false);
  if (!commands.ok()) {
    Log(t, "reconnect daemon: " + commands.status().message());
    return 1;
  }
  int pending = 0;   // dead connections not yet replaced (one link-dead event each)
  int failures = 0;  // attempts since the last success, for sparse logging
  while (!g_stop) {
    if (!NbdDeviceConnected(t.index)) {
      Log(t, "device disconnected; the reconnect daemon exits");
      return 0;
    }
    auto dead = events->WaitLinkDead(1000);
    if (!dead.ok()) {
      Log(t, dead.status().message());
      continue;
    }
    for (int i : *dead) {
      if (i != t.index) continue;
      ++pending;
      Log(t, "a connection to the server was lost; reconnecting");
    }
    while (pending > 0 && !g_stop) {
      Status s = ReconnectOnce(t, commands->get());
      if (!s.ok()) {
        if (failures++ % 30 == 0)
          Log(t, "reconnect: " + s.message() + " (retrying every second)");
        break;  // the next try after the next wait
      }
      --pending;
      failures = 0;
      Log(t, "reconnected (" + std::to_string(pending) + " connections still to replace)");
    }
  }
  return 0;
}

}  // namespace s3nbd::cli
