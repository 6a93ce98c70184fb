#!/bin/bash
# Installs the Debian packages the benchmark needs on top of scripts/install-deps.sh:
# s3backer (the FUSE baseline), haproxy (request counting and latency injection), gnuplot-nox
# (the chart), fio, linux-source (the kernel source tarball the untar job extracts, under
# /usr/src) and xz-utils (to unpack it). Idempotent: installs only what is missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/../scripts/install-deps.sh"
PKGS=(fio nbdkit libnbd-bin fuse3 haproxy gnuplot-nox s3backer util-linux e2fsprogs
      linux-source xz-utils)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench/install-deps: missing packages: ${missing[*]}; run as root (sudo make bench)" >&2
  exit 1
fi
echo "bench/install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
