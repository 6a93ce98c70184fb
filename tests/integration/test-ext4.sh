#!/bin/bash
# ext4 on the volume: nbdfuse exposes the export as a file, mkfs.ext4 + mount -o loop, copy a
# tree of files, unmount, e2fsck clean, restart the server, remount and verify every checksum.
# 96 MiB volume, 256 KiB blocks. Root only (loop mount).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
need nbdfuse fusermount3 mkfs.ext4 e2fsck mount umount losetup mountpoint
[ "$(id -u)" = 0 ] || fail "must run as root (mount -o loop)"

B=$(new_bucket)
create_volume "$B" fs 96M 256K
FUSEDIR=$T/fuse
MNT=$T/mnt
mkdir -p "$FUSEDIR" "$MNT"
# cleanup runs last-registered first: unmount ext4, then the FUSE file, then the servers
on_exit "fusermount3 -u '$FUSEDIR' || umount -l '$FUSEDIR'"
on_exit "umount '$MNT' || umount -l '$MNT'"

FUSE_PID=
fuse_up() { # serve $SERVER_SOCK as $FUSEDIR/nbd
  rm -f "$T/nbdfuse.pid"
  nbdfuse -P "$T/nbdfuse.pid" "$FUSEDIR" --unix "$SERVER_SOCK" 2>"$T/nbdfuse.log" &
  FUSE_PID=$!
  local i
  for i in $(seq 300); do
    [ -s "$T/nbdfuse.pid" ] && [ -e "$FUSEDIR/nbd" ] && return 0
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$T/nbdfuse.log" >&2; fail "nbdfuse exited"; }
    sleep 0.1
  done
  fail "nbdfuse did not come up in 30 s"
}
fuse_down() {
  local i
  fusermount3 -u "$FUSEDIR" || fail "fusermount3 -u failed"
  for i in $(seq 300); do kill -0 "$FUSE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$FUSE_PID" 2>/dev/null && fail "nbdfuse did not exit after unmount"
  wait "$FUSE_PID" || true
}

start_server bucket="$B" prefix=fs
fuse_up
assert_eq $((96 * 1048576)) "$(stat -c %s "$FUSEDIR/nbd")" "size of the nbdfuse file"
mkfs.ext4 -q -F "$FUSEDIR/nbd" || fail "mkfs.ext4 failed"
mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "mount -o loop failed"

# a tree of real files (a subset of /usr/share/doc, regular files only) and a few random ones
mkdir -p "$MNT/tree"
( cd /usr/share/doc && find . -maxdepth 2 -type f -size -200k | sort | sed -n '1,400p' ) >"$T/files"
[ "$(wc -l <"$T/files")" -ge 20 ] || fail "not enough files under /usr/share/doc to copy"
( cd /usr/share/doc && tar -cf - -T "$T/files" ) | ( cd "$MNT/tree" && tar -xf - ) || fail "copying the tree failed"
mkdir -p "$MNT/rand"
for i in 1 2 3; do head -c $((i * 3 * 1048576 + i * 777)) /dev/urandom >"$MNT/rand/f$i"; done
( cd "$MNT" && find . -type f ! -path './lost+found/*' -print0 | sort -z | xargs -0 sha256sum ) >"$T/sums"
nfiles=$(wc -l <"$T/sums")
log "$nfiles files written"
sync
umount "$MNT" || fail "umount failed"
e2fsck -fn "$FUSEDIR/nbd" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "e2fsck -fn found problems"; }
fuse_down
stop_server
objs=$(count_blocks "$B" fs)
{ [ "$objs" -gt 0 ] && [ "$objs" -le 384 ]; } || fail "block objects: $objs, want 1..384"
log "$objs block objects stored"

# a new server process: everything must come from the bucket
start_server bucket="$B" prefix=fs
fuse_up
e2fsck -fn "$FUSEDIR/nbd" >"$T/fsck2.log" 2>&1 || { cat "$T/fsck2.log" >&2; fail "e2fsck after restart found problems"; }
mount -o loop,ro "$FUSEDIR/nbd" "$MNT" || fail "remount failed"
( cd "$MNT" && sha256sum --quiet -c "$T/sums" ) || fail "checksums differ after restart"
assert_eq "$nfiles" "$( cd "$MNT" && find . -type f ! -path './lost+found/*' | wc -l)" "number of files after restart"
umount "$MNT"
fuse_down
log "ok"
