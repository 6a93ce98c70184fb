// A handshaken NBD socket for the kernel; see nbd_connection.h.
#include "daemon/nbd_connection.h"

#include <fcntl.h>
#include <libnbd.h>
#include <linux/nbd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace s3nbd::cli {
namespace {

constexpr int kHandshakeTimeoutMs = 30000;

Status Errno(const std::string& what) {
  int e = errno;
  return Status::Error(e, what + ": " + std::strerror(e));
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path)
    return Status::Error(ENAMETOOLONG, "socket path " + path + " is too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Errno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return Errno("connect to " + path);
  return fd;
}

Result<UniqueFd> ConnectTcp(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::Error(EHOSTUNREACH, "resolve " + host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(res, ::freeaddrinfo);
  Status last = Status::Error(EHOSTUNREACH, "connect to " + host + ":" + port + ": no address");
  for (addrinfo* a = res; a; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) {
      last = Errno("socket");
      continue;
    }
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      last = Errno("connect to " + host + ":" + port);
      continue;
    }
    int one = 1;
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
  }
  return last;
}

Status NbdError(const std::string& what) {
  int e = nbd_get_errno();
  const char* m = nbd_get_error();
  return Status::Error(e ? e : EIO, what + ": " + (m ? m : "unknown libnbd error"));
}

// Drives libnbd's handshake on `fd` (a duplicate of the kernel's socket) to READY, bounded.
Status Handshake(nbd_handle* h, int fd) {
  if (nbd_aio_connect_socket(h, fd) == -1) return NbdError("NBD handshake");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandshakeTimeoutMs);
  while (nbd_aio_is_connecting(h) == 1) {
    unsigned dir = nbd_aio_get_direction(h);
    pollfd p{nbd_aio_get_fd(h), 0, 0};
    if (dir & LIBNBD_AIO_DIRECTION_READ) p.events |= POLLIN;
    if (dir & LIBNBD_AIO_DIRECTION_WRITE) p.events |= POLLOUT;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status::Error(ETIMEDOUT, "NBD handshake: the server did not answer within " +
                                          std::to_string(kHandshakeTimeoutMs / 1000) + " s");
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Errno("NBD handshake: poll");
    if (n <= 0) continue;
    int rc = (p.revents & POLLOUT) && !(p.revents & (POLLIN | POLLHUP | POLLERR))
                 ? nbd_aio_notify_write(h)
                 : nbd_aio_notify_read(h);
    if (rc == -1) return NbdError("NBD handshake");
  }
  if (nbd_aio_is_ready(h) != 1) return NbdError("NBD handshake");
  return Status::Ok();
}

}  // namespace

uint64_t KernelFlags(bool read_only, bool flush, bool fua, bool trim, bool multi_conn) {
  uint64_t f = NBD_FLAG_HAS_FLAGS;
  if (read_only) f |= NBD_FLAG_READ_ONLY;
  if (flush) f |= NBD_FLAG_SEND_FLUSH;
  if (fua) f |= NBD_FLAG_SEND_FUA;
  if (trim) f |= NBD_FLAG_SEND_TRIM;
  if (multi_conn) f |= NBD_FLAG_CAN_MULTI_CONN;
  return f;
}

Result<UniqueFd> OpenKernelConnection(const ServerPaths& paths, const std::string& name,
                                      NbdExport* out) {
  if (paths.tls)
    return Status::Error(EPROTONOSUPPORT,
                         "the kernel's NBD client cannot use TLS; serve the volume without "
                         "tls for attach (on a unix socket or loopback)");
  auto fd = paths.socket.empty() ? ConnectTcp(paths.tcp_host, paths.tcp_port)
                                 : ConnectUnix(paths.socket);
  if (!fd.ok()) return fd.status();

  std::unique_ptr<nbd_handle, decltype(&nbd_close)> h(nbd_create(), nbd_close);
  if (!h) return NbdError("libnbd");
  // libnbd owns (and closes) a duplicate; the connection stays open on ours
  int dup = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Errno("dup");
  if (nbd_set_export_name(h.get(), name.c_str()) == -1 ||
      nbd_set_request_structured_replies(h.get(), false) == -1) {
    ::close(dup);
    return NbdError("libnbd");
  }
  if (Status s = Handshake(h.get(), dup); !s.ok()) return s;
  int64_t size = nbd_get_size(h.get());
  int ro = nbd_is_read_only(h.get()), flush = nbd_can_flush(h.get()), fua = nbd_can_fua(h.get()),
      trim = nbd_can_trim(h.get()), mc = nbd_can_multi_conn(h.get());
  if (size < 0 || ro < 0 || flush < 0 || fua < 0 || trim < 0 || mc < 0)
    return NbdError("NBD handshake: export flags");
  out->size = static_cast<uint64_t>(size);
  out->flags = KernelFlags(ro, flush, fua, trim, mc);
  h.reset();  // closes only the duplicate
  // libnbd made the shared file description non-blocking; the kernel wants it blocking
  int fl = ::fcntl(fd->get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd->get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return Errno("fcntl");
  return fd;
}

}  // namespace s3nbd::cli
