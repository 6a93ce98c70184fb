// credential_process runner and its JSON; see process_credential_provider.h.
#include "cache/s3/process_credential_provider.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cache/s3/flat_json.h"

extern char** environ;

namespace s3nbd {
namespace {

// Owns one end of a pipe.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

Result<Credentials> ParseProcessCredentials(const std::string& json, const std::string& what) {
  auto doc = ParseFlatJson(json);
  if (!doc.ok()) return Status::Error(EPROTO, what + ": output is not a JSON object");
  auto get = [&](const char* k) {
    auto it = doc->find(k);
    return it == doc->end() ? std::string() : it->second;
  };
  if (get("Version") != "1") {
    return Status::Error(EPROTO, what + ": output has Version '" + get("Version") + "', want 1");
  }
  Credentials c;
  c.access_key = get("AccessKeyId");
  c.secret_key = get("SecretAccessKey");
  c.session_token = get("SessionToken");
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Status::Error(EPROTO, what + ": output lacks AccessKeyId or SecretAccessKey");
  }
  if (std::string e = get("Expiration"); !e.empty()) {
    auto t = ParseIso8601(e);
    if (!t.ok()) return t.status().Wrap(what);
    c.expiration = *t;
  }
  return c;
}

Result<Credentials> ProcessCredentialProvider::Fetch() {
  const std::string what = "credential_process of profile '" + profile_ + "'";
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Status::Error(errno, what + ": pipe: " + std::strerror(errno));
  Fd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* argv[] = {"/bin/sh", "-c", command_.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Status::Error(rc, what + ": cannot start /bin/sh: " + std::strerror(rc));
  wr.Reset();
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{rd.get(), POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    char buf[4096];
    ssize_t got = read(rd.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (out.size() < (1u << 20)) out.append(buf, static_cast<size_t>(got));
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status::Error(ETIMEDOUT, what + ": no answer within " +
                                        std::to_string(timeout_.count() / 1000) + " s (killed)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
    return Status::Error(EACCES, what + ": command " + how);
  }
  return ParseProcessCredentials(out, what);
}

}  // namespace s3nbd
