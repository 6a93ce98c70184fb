// The kernel NBD driver over generic netlink; see nbd_netlink.h.
#include "daemon/nbd_netlink.h"

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace s3nbd::cli {
namespace {

Status NlError(const std::string& what, int err) {
  return Status::Error(EIO, what + ": " + nl_geterror(err) + " (see the kernel log: dmesg)");
}

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

}  // namespace

Result<std::unique_ptr<NbdNetlink>> NbdNetlink::Open(bool link_dead_events) {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return Status::Error(ENOMEM, "netlink: cannot allocate a socket");
  auto fail = [&](const std::string& what, int err) {
    nl_socket_free(sock);
    return NlError(what, err);
  };
  if (int err = genl_connect(sock); err < 0) return fail("netlink: connect", err);
  int family = genl_ctrl_resolve(sock, NBD_GENL_FAMILY_NAME);
  if (family < 0)
    return fail("netlink: the nbd driver's family (is the nbd module loaded?)", family);
  if (link_dead_events) {
    int group = genl_ctrl_resolve_grp(sock, NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
    if (group < 0) return fail("netlink: the nbd driver's event group", group);
    if (int err = nl_socket_add_membership(sock, group); err < 0)
      return fail("netlink: join the nbd event group", err);
    nl_socket_disable_seq_check(sock);  // events are not answers to our requests
    if (int err = nl_socket_set_nonblocking(sock); err < 0)
      return fail("netlink: non-blocking event socket", err);
  }
  std::unique_ptr<NbdNetlink> nl(new NbdNetlink(sock, family));
  nl_socket_modify_cb(
      sock, NL_CB_VALID, NL_CB_CUSTOM,
      [](nl_msg* msg, void* arg) -> int {
        auto* self = static_cast<NbdNetlink*>(arg);
        nlmsghdr* hdr = nlmsg_hdr(msg);
        auto* gh = static_cast<genlmsghdr*>(nlmsg_data(hdr));
        if (gh->cmd != NBD_CMD_LINK_DEAD) return NL_OK;
        nlattr* tb[NBD_ATTR_MAX + 1] = {};
        if (genlmsg_parse(hdr, 0, tb, NBD_ATTR_MAX, nullptr) == 0 && tb[NBD_ATTR_INDEX])
          self->events_.push_back(static_cast<int>(nla_get_u32(tb[NBD_ATTR_INDEX])));
        return NL_OK;
      },
      nl.get());
  return nl;
}

NbdNetlink::~NbdNetlink() { nl_socket_free(sock_); }

Status NbdNetlink::Send(const char* what, int cmd, const NbdDeviceSetup* setup, int index,
                        const std::string& backend, const std::vector<int>& fds) {
  std::unique_ptr<nl_msg, MsgFree> msg(nlmsg_alloc());
  if (!msg) return Status::Error(ENOMEM, std::string(what) + ": cannot allocate a message");
  bool ok = genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0,
                        static_cast<uint8_t>(cmd), NBD_GENL_VERSION) != nullptr;
  ok = ok && nla_put_u32(msg.get(), NBD_ATTR_INDEX, static_cast<uint32_t>(index)) == 0;
  if (setup) {
    ok = ok && nla_put_u64(msg.get(), NBD_ATTR_SIZE_BYTES, setup->size) == 0 &&
         nla_put_u64(msg.get(), NBD_ATTR_BLOCK_SIZE_BYTES, setup->block_size) == 0 &&
         nla_put_u64(msg.get(), NBD_ATTR_SERVER_FLAGS, setup->server_flags) == 0;
    if (setup->timeout) ok = ok && nla_put_u64(msg.get(), NBD_ATTR_TIMEOUT, setup->timeout) == 0;
    if (setup->dead_timeout)
      ok = ok && nla_put_u64(msg.get(), NBD_ATTR_DEAD_CONN_TIMEOUT, setup->dead_timeout) == 0;
  }
  if (!backend.empty())
    ok = ok && nla_put_string(msg.get(), NBD_ATTR_BACKEND_IDENTIFIER, backend.c_str()) == 0;
  if (ok && !fds.empty()) {
    nlattr* socks = nla_nest_start(msg.get(), NBD_ATTR_SOCKETS);
    ok = socks != nullptr;
    for (int fd : fds) {
      nlattr* item = ok ? nla_nest_start(msg.get(), NBD_SOCK_ITEM) : nullptr;
      ok = item && nla_put_u32(msg.get(), NBD_SOCK_FD, static_cast<uint32_t>(fd)) == 0;
      if (ok) nla_nest_end(msg.get(), item);
    }
    if (ok) nla_nest_end(msg.get(), socks);
  }
  if (!ok) return Status::Error(EMSGSIZE, std::string(what) + ": cannot build the message");
  // nl_send_sync frees the message and waits for the kernel's answer
  if (int err = nl_send_sync(sock_, msg.release()); err < 0) return NlError(what, err);
  return Status::Ok();
}

Status NbdNetlink::Connect(const NbdDeviceSetup& setup, const std::vector<int>& fds) {
  return Send("netlink connect", NBD_CMD_CONNECT, &setup, setup.index, setup.backend, fds);
}

Status NbdNetlink::Reconnect(int index, const std::string& backend, int fd) {
  return Send("netlink reconfigure", NBD_CMD_RECONFIGURE, nullptr, index, backend, {fd});
}

Status NbdNetlink::Disconnect(int index) {
  return Send("netlink disconnect", NBD_CMD_DISCONNECT, nullptr, index, "", {});
}

Result<std::vector<int>> NbdNetlink::WaitLinkDead(int timeout_ms) {
  pollfd p{nl_socket_get_fd(sock_), POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0 && errno != EINTR)
    return Status::Error(errno, std::string("netlink: poll: ") + std::strerror(errno));
  events_.clear();
  if (n > 0) {
    int err = nl_recvmsgs_default(sock_);
    if (err < 0 && err != -NLE_AGAIN) return NlError("netlink: receive events", err);
  }
  return events_;
}

}  // namespace s3nbd::cli
