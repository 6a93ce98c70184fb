// NbdNetlink: the kernel NBD driver's generic-netlink interface (linux/nbd-netlink.h) through
// libnl-genl: connect a device to sockets with a dead-connection timeout, hand it a new socket
// for a dead one (RECONFIGURE), disconnect it, and receive its link-dead events. One object
// owns one netlink socket; it is used by one thread (no locking).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/util/status.h"

struct nl_sock;

namespace s3nbd::cli {

struct NbdDeviceSetup {
  int index = -1;               // N of /dev/nbdN
  uint64_t size = 0;            // bytes
  uint64_t block_size = 4096;   // logical block size the kernel shows
  uint64_t server_flags = 0;    // NBD transmission flags (NBD_FLAG_*)
  uint64_t timeout = 0;         // request timeout, s (0: the kernel's 30 s, never fail)
  uint64_t dead_timeout = 0;    // s the kernel holds I/O while every connection is dead
  std::string backend;          // /sys/block/nbdN/backend; RECONFIGURE must name it
};

class NbdNetlink {
 public:
  // A socket for commands; with `link_dead_events` it also joins the driver's multicast
  // group, and WaitLinkDead reports the devices whose connections died.
  static Result<std::unique_ptr<NbdNetlink>> Open(bool link_dead_events);
  ~NbdNetlink();
  NbdNetlink(const NbdNetlink&) = delete;
  NbdNetlink& operator=(const NbdNetlink&) = delete;

  // The kernel takes its own reference to every fd; the caller may close them afterwards.
  Status Connect(const NbdDeviceSetup& setup, const std::vector<int>& fds);
  // Replaces one dead connection of the device with `fd`. The kernel silently drops a socket
  // when no connection of the device is dead: call it once per link-dead event.
  Status Reconnect(int index, const std::string& backend, int fd);
  Status Disconnect(int index);

  // Waits up to timeout_ms for link-dead events; returns the device index of each (one per
  // connection that died), empty on timeout. Needs Open(true).
  Result<std::vector<int>> WaitLinkDead(int timeout_ms);

 private:
  NbdNetlink(nl_sock* sock, int family) : sock_(sock), family_(family) {}
  Status Send(const char* what, int cmd, const NbdDeviceSetup* setup, int index,
              const std::string& backend, const std::vector<int>& fds);

  nl_sock* sock_;
  int family_;
  std::vector<int> events_;  // filled by the receive callback
};

}  // namespace s3nbd::cli
