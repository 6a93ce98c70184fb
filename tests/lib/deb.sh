#!/bin/bash
# Helpers for testing the Debian package without installing it on the machine: the .deb that
# 'make deb' built, its extraction into a throw-away root (dpkg -x), and an overlay of nbdkit's
# compiled-in plugin directory that shows the package's plugin beside the machine's plugins,
# so that 'nbdkit s3nbd' finds it by its short name. deb_overlay_plugindir changes mounts: call
# it only inside a private mount namespace (unshare -m), never in the machine's own.

deb_repo() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }
deb_version() { sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$(deb_repo)/debian/changelog"; }
deb_arch() { dpkg --print-architecture; }
# build-deb/s3nbd_VERSION_ARCH.deb (DEB_BUILD=... as for make deb)
deb_file() {
  local d=${DEB_BUILD:-build-deb}
  case $d in /*) ;; *) d=$(deb_repo)/$d ;; esac
  echo "$d/s3nbd_$(deb_version)_$(deb_arch).deb"
}
nbdkit_plugindir() { nbdkit --dump-config | sed -n 's/^plugindir=//p'; }

deb_extract() { # DEB ROOT
  mkdir -p "$2" && dpkg -x "$1" "$2"
}

deb_overlay_plugindir() { # ROOT: nbdkit's plugindir := machine's plugins + ROOT's s3nbd plugin
  local root=$1 pd ov f
  pd=$(nbdkit_plugindir)
  [ -n "$pd" ] && [ -d "$pd" ] || { echo "deb: nbdkit has no plugin directory ($pd)" >&2; return 1; }
  [ -f "$root$pd/nbdkit-s3nbd-plugin.so" ] ||
    { echo "deb: the package has no $pd/nbdkit-s3nbd-plugin.so" >&2; return 1; }
  ov=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-plugindir.XXXXXX")
  for f in "$pd"/*; do [ -e "$f" ] && ln -s "$f" "$ov/"; done
  ln -sfn "$root$pd/nbdkit-s3nbd-plugin.so" "$ov/nbdkit-s3nbd-plugin.so"
  mount --bind "$ov" "$pd"
}
