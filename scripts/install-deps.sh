#!/bin/bash
# Installs every Debian package s3nbd needs to build, test and run its demo.
# Idempotent: installs only what is missing (a no-op in ~1 s on a ready machine).
set -euo pipefail
PKGS=(
  # build
  g++ make cmake pkg-config
  nbdkit-plugin-dev libcurl4-openssl-dev libssl-dev liburing-dev libzstd-dev libxxhash-dev
  libgtest-dev libgmock-dev libnbd-dev
  # s3nbd attach: the kernel nbd driver's netlink interface
  libnl-genl-3-dev
  # s3nbd exporter's HTTP server
  libcpp-httplib-dev
  # make deb: the Debian package and its check
  dpkg-dev debhelper lintian
  # fuzzing (make check-fuzz): clang with libFuzzer; clang also checks the lock annotations
  # (make check-thread-safety)
  clang libclang-rt-14-dev
  # run and test
  # (nbdfuse is in libnbd-bin on bookworm; nbdsh and the tests need python3-libnbd)
  nbdkit libnbd-bin python3-libnbd fuse3 curl e2fsprogs qemu-utils fio util-linux kmod
  # the test CA and the https RGW's certificate (tests/lib/rgw-start.sh)
  openssl
  # the man pages (pod2man), systemd-analyze verify of the units
  perl systemd
  # the reliability suite (make check-faults): HAProxy fault front, libFuzzer target
  haproxy clang libclang-rt-14-dev
  # the power-cut test's FUSE file system (tests/faults/lazyfs/; fuse3 gives fusermount3)
  libfuse3-dev fuse3
  # the embedded S3 server (Ceph RADOS Gateway, single node)
  ceph-mon ceph-osd radosgw
  # end-to-end tests (make check-e2e): a guest of Debian's kernel under qemu, its initramfs holds
  # busybox-static, nbd-client, socat, mke2fs and our s3nbd (tests/e2e/lib/guest-kit.sh)
  qemu-system-x86 linux-image-amd64 busybox-static nbd-client socat cpio
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# test-s3rver.sh installs npm's s3rver (a second S3 implementation); a node from elsewhere
# (e.g. NodeSource, which bundles npm) is fine, so Debian's are installed only if npm is missing
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (sudo make deps)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
