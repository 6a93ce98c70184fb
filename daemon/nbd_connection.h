// One NBD connection for the kernel's nbd driver: a socket to the volume's server (unix socket
// or TCP, from ServerPaths) on which the NBD handshake is done in user space with libnbd; the
// socket is then in transmission phase and ready to be handed to the kernel. The kernel speaks
// simple replies only, so structured replies are not negotiated. Pure functions, no state.
#pragma once

#include <cstdint>
#include <string>

#include "cache/local/uring_file.h"  // UniqueFd
#include "cache/util/status.h"
#include "daemon/server_paths.h"

namespace s3nbd::cli {

struct NbdExport {
  uint64_t size = 0;
  uint64_t flags = 0;  // NBD transmission flags as the kernel wants them (NBD_FLAG_*)
};

// The kernel's transmission flags for what the server offered.
uint64_t KernelFlags(bool read_only, bool flush, bool fua, bool trim, bool multi_conn);

// Connects to the server at `paths` and negotiates export `name`. TLS is refused: the kernel
// cannot carry it. On success *out describes the export.
Result<UniqueFd> OpenKernelConnection(const ServerPaths& paths, const std::string& name,
                                      NbdExport* out);

}  // namespace s3nbd::cli
