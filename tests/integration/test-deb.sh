#!/bin/bash
# The Debian package serves a volume: the .deb from 'make deb' (built here if absent) is
# unpacked into a throw-away root; its s3nbd creates a volume; in a private mount namespace
# where nbdkit's plugin directory shows the package's plugin, 'nbdkit s3nbd ...' serves it by
# the plugin's short name and data round-trips; the package's 's3nbd serve' finds the plugin
# at its installed path. Nothing is installed on the machine (scripts/check-deb.sh checks the
# package's contents).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/deb.sh
source "$REPO/tests/lib/deb.sh"
need dpkg unshare

DEB=$(deb_file)
if [ ! -f "$DEB" ]; then
  log "no $DEB: running make deb"
  make -C "$REPO" --no-print-directory deb >"$T/make-deb.log" 2>&1 || { tail -n 30 "$T/make-deb.log" >&2; fail "make deb failed"; }
fi
ROOT=$T/root
deb_extract "$DEB" "$ROOT" || fail "dpkg -x $DEB failed"
CLI=$ROOT/usr/bin/s3nbd
unset S3NBD_PLUGIN
in_ns() { # COMMAND...: run with the package's plugin in nbdkit's plugin directory
  unshare -m bash -c 'source "$0" && deb_overlay_plugindir "$1" && shift && exec "$@"' \
    "$REPO/tests/lib/deb.sh" "$ROOT" "$@"
}

B=$(new_bucket)
timeout 60 "$CLI" create --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix v --size 8M --block-size 64K \
  >"$T/create.log" 2>&1 || { cat "$T/create.log" >&2; fail "the package's s3nbd create failed"; }

# nbdkit s3nbd by its short name, as a daemon (-P) so it outlives the unshare
SOCK=$T/deb.sock PID=$T/deb.pid
on_exit "_kill_pid \$(cat '$PID')"
in_ns nbdkit -U "$SOCK" -P "$PID" s3nbd endpoint="$S3_ENDPOINT" bucket="$B" prefix=v >"$T/nbdkit.log" 2>&1 ||
  { cat "$T/nbdkit.log" >&2; fail "nbdkit s3nbd (short name) did not start"; }
for _ in $(seq 100); do [ -S "$SOCK" ] && nbdinfo --size "$(uri_of "$SOCK")" >/dev/null 2>&1 && break; sleep 0.1; done
assert_eq 8388608 "$(nbdinfo --size "$(uri_of "$SOCK")")" "size served by 'nbdkit s3nbd'"
head -c 1048576 /dev/urandom >"$T/data"
nbdcopy "$T/data" "$(uri_of "$SOCK")" || fail "nbdcopy to 'nbdkit s3nbd' failed"
_kill_pid "$(cat "$PID")"
[ "$(count_blocks "$B" v)" -ge 16 ] || fail "the writes reached S3 as fewer than 16 blocks"

# the package's CLI serves the same volume from a conf (plugin found at its installed path)
export S3NBD_CONFIG_DIR=$T/conf S3NBD_RUN_DIR=$T/run
mkdir -p "$S3NBD_CONFIG_DIR" "$S3NBD_RUN_DIR"
printf 'endpoint = %s\nbucket = %s\nprefix = v\n' "$S3_ENDPOINT" "$B" >"$S3NBD_CONFIG_DIR/v.conf"
on_exit "_kill_pid \$(cat '$S3NBD_RUN_DIR/v.pid')"
in_ns timeout 60 "$CLI" serve v >"$T/serve.log" 2>&1 || { cat "$T/serve.log" >&2; fail "the package's s3nbd serve failed"; }
nbdcopy "$(uri_of "$S3NBD_RUN_DIR/v.sock")" "$T/back" || fail "nbdcopy from 's3nbd serve' failed"
cmp <(head -c 1048576 "$T/back") "$T/data" || fail "data read back through the package differs"
timeout 60 "$CLI" stop v >"$T/stop.log" 2>&1 || { cat "$T/stop.log" >&2; fail "s3nbd stop v failed"; }
log "package $(basename "$DEB"): nbdkit s3nbd and s3nbd serve round-trip"
