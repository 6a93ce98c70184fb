#!/bin/bash
# ext4 through nbdfuse + loop on a volume WITH the cache: copy a tree of ~2000 small files,
# sync, umount, stop nbdkit cleanly (drain), restart on the same cache, remount and verify every
# checksum; then a fresh nbdkit WITHOUT cache must show the same files (the data reached S3).
# 128 MiB volume, 64 KiB blocks, 32 MiB cache (smaller than what is written: eviction runs).
# ext4's 4 KiB metadata writes into cached 64 KiB blocks must be patched in place (stats).
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
need nbdfuse fusermount3 mkfs.ext4 e2fsck mount umount mountpoint
[ "$(id -u)" = 0 ] || fail "must run as root (mount -o loop)"

B=$(new_bucket)
create_volume "$B" fs 128M 64K
FUSEDIR=$T/fuse
MNT=$T/mnt
CACHE=$T/cache
mkdir -p "$FUSEDIR" "$MNT"
on_exit "fusermount3 -u '$FUSEDIR' || umount -l '$FUSEDIR'"
on_exit "umount '$MNT' || umount -l '$MNT'"
CARGS=(cache="$CACHE" cache-size=32M writeback-delay=200ms statsfile="$T/stats")

start_server bucket="$B" prefix=fs "${CARGS[@]}"
fuse_up "$FUSEDIR" "$SERVER_SOCK"
mkfs.ext4 -q -F "$FUSEDIR/nbd" || fail "mkfs.ext4 failed"
mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "mount -o loop failed"

# many small real files (from /usr/share/doc) plus generated ones and two larger random files
mkdir -p "$MNT/tree" "$MNT/gen"
( cd /usr/share/doc && find . -type f -size -64k | sort | sed -n '1,1500p' ) >"$T/files"
[ "$(wc -l <"$T/files")" -ge 500 ] || fail "fewer than 500 files under /usr/share/doc to copy"
( cd /usr/share/doc && tar -cf - -T "$T/files" ) | ( cd "$MNT/tree" && tar -xf - ) || fail "copying the tree failed"
for d in $(seq 20); do
  mkdir -p "$MNT/gen/d$d"
  for f in $(seq 25); do head -c $((d * 97 + f * 1311)) /dev/urandom >"$MNT/gen/d$d/f$f"; done
done
head -c $((24 * 1048576 + 4321)) /dev/urandom >"$MNT/big1"
head -c $((9 * 1048576)) /dev/urandom >"$MNT/big2"
( cd "$MNT" && find . -type f ! -path './lost+found/*' -print0 | sort -z | xargs -0 sha256sum ) >"$T/sums"
nfiles=$(wc -l <"$T/sums")
[ "$nfiles" -ge 1000 ] || fail "only $nfiles files written"
log "$nfiles files written"
sync
in_place=0
for _ in $(seq 50); do  # the stats file is rewritten every second
  in_place=$(awk '$1 == "cache_writes_in_place" {print $2}' "$T/stats" 2>/dev/null || true)
  [ "${in_place:-0}" -gt 0 ] && break
  sleep 0.2
done
[ "${in_place:-0}" -gt 0 ] || { cat "$T/stats" >&2; fail "no partial write was patched in place (cache_writes_in_place)"; }
log "$in_place partial writes patched in place"
umount "$MNT" || fail "umount failed"
fuse_down "$FUSEDIR"
stop_server_clean
assert_clean_log
cache_bytes=$(du -B1 "$CACHE" | cut -f1)
log "cache file uses $cache_bytes bytes on disk; $(count_blocks "$B" fs) block objects stored"

check_fs() { # WHAT: fsck, remount read-only, verify every checksum and the file count
  e2fsck -fn "$FUSEDIR/nbd" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "$1: e2fsck -fn found problems"; }
  mount -o loop,ro "$FUSEDIR/nbd" "$MNT" || fail "$1: mount failed"
  ( cd "$MNT" && sha256sum --quiet -c "$T/sums" ) || fail "$1: checksums differ"
  assert_eq "$nfiles" "$(cd "$MNT" && find . -type f ! -path './lost+found/*' | wc -l)" "$1: number of files"
  umount "$MNT" || fail "$1: umount failed"
}

# restart on the same cache file
start_server bucket="$B" prefix=fs "${CARGS[@]}"
fuse_up "$FUSEDIR" "$SERVER_SOCK"
check_fs "restart with the cache"
fuse_down "$FUSEDIR"
stop_server_clean
assert_clean_log

# the bucket alone
start_server bucket="$B" prefix=fs
fuse_up "$FUSEDIR" "$SERVER_SOCK"
check_fs "fresh nbdkit without cache"
fuse_down "$FUSEDIR"
stop_server
assert_clean_log
log "ok"
