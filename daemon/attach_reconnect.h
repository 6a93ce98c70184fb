// The reconnect daemon of `s3nbd attach`: the kernel holds a device's I/O for its
// dead-connection timeout when every connection died (the server restarted or crashed); this
// loop answers each link-dead event of the device with a new, handshaken connection to the
// server (retrying every second until the server answers) and hands it to the kernel. It ends
// on SIGTERM/SIGINT or once the device is no longer connected. Single-threaded.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/nbd_netlink.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {

struct AttachTarget {
  ServerPaths paths;
  std::string export_name;
  std::string what;  // "volume V on /dev/nbdN", for messages
  int index = -1;
  std::string backend;
  uint64_t size = 0;
};

// True while /dev/nbdN is configured (the driver shows /sys/block/nbdN/pid).
bool NbdDeviceConnected(int index);

// Runs the loop on `events` (NbdNetlink::Open(true), opened before the device was connected so
// that no event is missed). Returns the exit code.
int RunReconnectLoop(const AttachTarget& target, NbdNetlink* events);

}  // namespace s3nbd::cli
