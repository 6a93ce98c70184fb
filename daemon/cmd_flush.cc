// s3nbd flush: sends NBD FLUSH to the running server of a volume (libnbd). With a write-back
// cache an NBD FLUSH drains the dirty blocks to S3, so this makes everything written durable.
#include <libnbd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "daemon/cli.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd flush [VOLUME] [--socket PATH | --listen ADDR:PORT] [--config-dir DIR] "
    "[--run-dir DIR]\n"
    "Connects to the running server of VOLUME (its unix socket, default RUN_DIR/VOLUME.sock, or\n"
    "its TCP address) and sends NBD FLUSH: returns when everything written so far is in S3.\n";

struct NbdCloser {
  void operator()(nbd_handle* h) const { nbd_close(h); }
};

}  // namespace

Status FlushServer(const ServerPaths& paths, const std::string& volume) {
  std::unique_ptr<nbd_handle, NbdCloser> h(nbd_create());
  auto fail = [&](const std::string& what) {
    return Status::Error(
        nbd_get_errno() ? nbd_get_errno() : EIO,
        "flush: volume " + volume + ": " + what + ": " + (nbd_get_error() ? nbd_get_error() : "?"));
  };
  if (!h) return fail("libnbd");
  if (paths.tls) {
    if (nbd_set_tls(h.get(), LIBNBD_TLS_REQUIRE) == -1) return fail("TLS");
    if (!paths.tls_certificates.empty() &&
        nbd_set_tls_certificates(h.get(), paths.tls_certificates.c_str()) == -1)
      return fail("TLS certificates " + paths.tls_certificates);
    if (!paths.tls_psk.empty()) {
      // The PSK file is "username:hexkey" lines; connect as its first user.
      std::ifstream in(paths.tls_psk);
      std::string line;
      if (!std::getline(in, line) || line.find(':') == std::string::npos)
        return Status::Error(EINVAL, "flush: volume " + volume +
                                         ": cannot read a 'user:key' line from " + paths.tls_psk);
      if (nbd_set_tls_psk_file(h.get(), paths.tls_psk.c_str()) == -1 ||
          nbd_set_tls_username(h.get(), line.substr(0, line.find(':')).c_str()) == -1)
        return fail("TLS PSK file " + paths.tls_psk);
    }
  }
  int rc = paths.socket.empty()
               ? nbd_connect_tcp(h.get(), paths.tcp_host.c_str(), paths.tcp_port.c_str())
               : nbd_connect_unix(h.get(), paths.socket.c_str());
  std::string where = paths.socket.empty() ? paths.tcp_host + ":" + paths.tcp_port : paths.socket;
  if (rc == -1) return fail("cannot connect to " + where + " (is it served?)");
  if (nbd_can_flush(h.get()) != 1)
    return fail("the server at " + where + " does not support FLUSH");
  if (nbd_flush(h.get(), 0) == -1) return fail("NBD FLUSH failed");
  nbd_shutdown(h.get(), 0);
  return Status::Ok();
}

int CmdFlush(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    std::fputs(kVolumeSelectionHelp, stdout);
    return kExitOk;
  }
  if (args.positional.size() > 1) return Usage("flush", kUsage, "unexpected argument");
  VolumeConf conf;
  if (int rc = SelectVolume("flush", args, {}, false, &conf, nullptr)) return rc;
  // Without a VOLUME, the server's address names it in messages.
  std::string name = conf.DisplayName();
  for (const char* key : {"socket", "listen"})
    if (name.empty() && args.values.count(key)) name = args.values.at(key);
  if (name.empty()) return Usage("flush", kUsage, "name a VOLUME or give --socket PATH");
  auto paths = ResolveServerPaths(args, conf);
  if (!paths.ok()) return Error("flush", paths.status());
  if (Status s = FlushServer(*paths, name); !s.ok()) {
    std::fprintf(stderr, "s3nbd %s\n", s.message().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace s3nbd::cli
