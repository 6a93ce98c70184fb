#!/bin/bash
# Builds the Debian package (make deb, which also runs lintian) and checks it without
# installing it on this machine: the files it holds and where (the plugin in nbdkit's own
# compiled-in plugin directory), its Depends, then from a throw-away root (dpkg -x)
# 's3nbd --help' and, in a private mount namespace whose nbdkit plugin directory also shows
# the package's plugin, 'nbdkit s3nbd --help' by the plugin's short name. Serving a volume from
# the package against S3 is tests/integration/test-deb.sh.
#   scripts/check-deb.sh            (S3NBD_DEB_NO_BUILD=1: check the existing .deb)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib/deb.sh
source tests/lib/deb.sh
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
for t in dpkg-deb dpkg-buildpackage unshare nbdkit; do
  command -v "$t" >/dev/null || fail "$t missing (make deps)"
done
[ "$(id -u)" = 0 ] || fail "must run as root (unshare -m and mount for the plugin-directory overlay)"
start=$(date +%s)
[ -n "${S3NBD_DEB_NO_BUILD:-}" ] || make --no-print-directory deb
DEB=$(deb_file)
[ -f "$DEB" ] || fail "$DEB not built (make deb)"
PD=$(nbdkit_plugindir)

# contents: every file where nbdkit, man, systemd and the admin expect it
LIST=$(dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|')
for f in "$PD/nbdkit-s3nbd-plugin.so" /usr/bin/s3nbd /usr/share/man/man8/s3nbd.8.gz \
  /usr/share/man/man1/nbdkit-s3nbd-plugin.1.gz /lib/systemd/system/s3nbd@.service \
  /lib/systemd/system/s3nbd-attach@.service /lib/systemd/system/s3nbd-exporter.service \
  /etc/s3nbd/example.conf.sample /usr/share/doc/s3nbd/copyright; do
  grep -qxF "$f" <<<"$LIST" || fail "$DEB lacks $f"
done
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for d in nbdkit libcurl4 libnbd0 libcpp-httplib; do
  grep -q "$d" <<<"$DEPENDS" || fail "Depends lacks $d: $DEPENDS"
done
# the template units are not enabled or started by the package (administrators pick volumes)
CTRL=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-deb-ctrl.XXXXXX")
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-deb-root.XXXXXX")
trap 'rm -rf "$CTRL" "$ROOT"' EXIT
dpkg-deb -e "$DEB" "$CTRL"
# (dh_installsystemd --no-enable --no-start: no start at all, and 'enable' only where the admin
# had enabled the unit before, under a was-enabled guard)
if grep -qs 'deb-systemd-invoke\|systemctl' "$CTRL/postinst"; then fail "postinst starts units"; fi
if [ "$(grep -cs 'deb-systemd-helper enable' "$CTRL/postinst")" -gt "$(grep -cs 'was-enabled' "$CTRL/postinst")" ]; then
  fail "postinst enables units that the administrator did not enable"
fi

# from the throw-away root
deb_extract "$DEB" "$ROOT"
"$ROOT/usr/bin/s3nbd" --help >"$ROOT/cli-help" || fail "s3nbd --help from the package failed"
grep -q 'exporter' "$ROOT/cli-help" || fail "s3nbd --help from the package lists no exporter"
unshare -m bash -c 'source tests/lib/deb.sh && deb_overlay_plugindir "$1" && nbdkit s3nbd --help' \
  _ "$ROOT" >"$ROOT/plugin-help" 2>&1 || { cat "$ROOT/plugin-help" >&2; fail "nbdkit s3nbd --help"; }
grep -q 'bucket=' "$ROOT/plugin-help" || { cat "$ROOT/plugin-help" >&2; fail "nbdkit s3nbd --help shows no bucket="; }
# and the machine's own plugin directory was left alone
if ! dpkg -s s3nbd >/dev/null 2>&1 && [ -e "$PD/nbdkit-s3nbd-plugin.so" ]; then
  fail "$PD/nbdkit-s3nbd-plugin.so appeared on the machine"
fi
echo "check-deb: $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB): contents, Depends, s3nbd --help and 'nbdkit s3nbd --help' OK ($(( $(date +%s) - start )) s)"
