// s3nbd exporter: a Prometheus exporter — serves GET /metrics (text format 0.0.4) with the
// stats of every volume served on this host (served_volumes.h), read afresh on each scrape.
// HTTP is cpp-httplib's Server; its worker threads share only last_errors_ (under mu_).
// SIGINT/SIGTERM are taken by one thread with sigwait, which stops the server.
#include <httplib.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "cache/util/mutex.h"
#include "daemon/cli.h"
#include "daemon/served_volumes.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {
namespace {

constexpr const char* kUsage =
    "usage: s3nbd exporter --listen ADDR:PORT [--config-dir DIR] [--run-dir DIR]\n"
    "Serves http://ADDR:PORT/metrics in the Prometheus text format: the statistics of every\n"
    "volume served on this host (each CONFIG_DIR/VOLUME.conf's stats file and every\n"
    "RUN_DIR/*.stats), read afresh on each scrape; s3nbd_up{volume} is 0 for a stats file its\n"
    "server stopped rewriting. Runs in the foreground until SIGINT or SIGTERM.\n"
    "  --listen ADDR:PORT  address to listen on, e.g. 127.0.0.1:9877, [::1]:9877, 0.0.0.0:9877\n"
    "  --config-dir DIR    volume configs (default $S3NBD_CONFIG_DIR, /etc/s3nbd)\n"
    "  --run-dir DIR       stats files (default $S3NBD_RUN_DIR, /run/s3nbd)\n";

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsPage {
 public:
  MetricsPage(std::string config_dir, std::string run_dir)
      : config_dir_(std::move(config_dir)), run_dir_(std::move(run_dir)) {}

  // Called on httplib's worker threads.
  std::string Render() {
    std::vector<std::string> errors;
    auto sources = FindStatsSources(config_dir_, run_dir_, &errors);
    auto volumes = ReadServedVolumes(sources, static_cast<uint64_t>(std::time(nullptr)), &errors);
    std::string out = FormatPrometheus(volumes, true);
    out +=
        "# HELP s3nbd_exporter_errors Conf and stats files this scrape could not use (see the "
        "exporter's log).\n"
        "# TYPE s3nbd_exporter_errors gauge\n"
        "s3nbd_exporter_errors " +
        std::to_string(errors.size()) + "\n";
    LogIfChanged(errors);
    return out;
  }

 private:
  // Each problem is logged once, not on every scrape.
  void LogIfChanged(const std::vector<std::string>& errors) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (errors == last_errors_) return;
    for (const std::string& e : errors) std::fprintf(stderr, "s3nbd exporter: %s\n", e.c_str());
    last_errors_ = errors;
  }

  const std::string config_dir_, run_dir_;
  Mutex mu_;
  std::vector<std::string> last_errors_ GUARDED_BY(mu_);
};

// getaddrinfo of the --listen address, for a clear message before httplib tries it.
Status CheckAddress(const std::string& host, const std::string& port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    return Status::Error(EINVAL, "--listen " + host + ":" + port + ": cannot use address '" + host +
                                     "': " + ::gai_strerror(rc));
  ::freeaddrinfo(res);
  return Status::Ok();
}

}  // namespace

int CmdExporter(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, {}, &args)) return kExitUsage;
  if (args.help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!args.positional.empty()) return Usage("exporter", kUsage, "unexpected argument");
  for (const auto& [k, v] : args.values)
    if (k != "listen" && k != "config-dir" && k != "run-dir")
      return Usage("exporter", kUsage, "unknown option --" + k);
  if (!args.values.count("listen"))
    return Usage("exporter", kUsage, "--listen ADDR:PORT is required");
  const std::string listen = args.values["listen"];
  std::string host, port;
  if (Status s = ParseListen(listen, &host, &port); !s.ok()) return Error("exporter", s);
  if (Status s = CheckAddress(host, port); !s.ok()) return Error("exporter", s);

  // Block the stop signals before httplib starts threads, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  MetricsPage page(ConfigDir(args), RunDir(args));
  httplib::Server server;
  // httplib's default adds SO_REUSEPORT, which would let a second exporter share a busy port
  // silently: keep only SO_REUSEADDR (a restart need not wait for TIME_WAIT).
  server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(page.Render(), kContentType);
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("s3nbd exporter: the metrics are at /metrics\n", "text/plain");
  });
  errno = 0;
  if (!server.bind_to_port(host, std::stoi(port))) {
    int err = errno ? errno : EADDRNOTAVAIL;
    std::string hint = err == EADDRINUSE ? " (another process listens there; choose another port)"
                       : err == EACCES   ? " (ports below 1024 need privileges)"
                                         : "";
    return Error("exporter", Status::Error(err, "cannot listen on " + listen + ": " +
                                                    std::strerror(err) + hint));
  }
  std::atomic<bool> listen_done{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // stop() is ignored before listen_after_bind() runs: wait until it does (or has ended).
    while (!listen_done && !server.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server.stop();
  });
  std::fprintf(stderr, "s3nbd exporter: serving http://%s/metrics (configs %s, stats %s)\n",
               listen.c_str(), ConfigDir(args).c_str(), RunDir(args).c_str());
  bool ok = server.listen_after_bind();
  listen_done = true;
  ::kill(::getpid(), SIGTERM);  // ends the stopper if no signal came (blocked: only it sees it)
  stopper.join();
  if (!ok) return Error("exporter", Status::Error(EIO, "serving " + listen + " failed"));
  std::fprintf(stderr, "s3nbd exporter: stopped\n");
  return kExitOk;
}

}  // namespace s3nbd::cli
