#!/bin/bash
# Losing the local disk with flush=remote: ext4 through nbdfuse + loop on a cached volume, a tree
# of files written and synced (each sync is a FLUSH that waits for S3), then more files written
# while nbdkit is killed (kill -9) at a random moment, and the cache file is DELETED. A fresh
# nbdkit WITHOUT cache must serve, from the bucket alone, an image as of some flush epoch: after
# ext4's own journal replay (mounting a local copy) `e2fsck -fn` is clean and every file synced before
# the crash is intact. 128 MiB volume, 64 KiB blocks, 32 MiB cache. Root only.
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
need nbdfuse fusermount3 mkfs.ext4 e2fsck mount umount losetup
[ "$(id -u)" = 0 ] || fail "must run as root (mount -o loop)"
SEED=${LOST_CACHE_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
log "seed $SEED (LOST_CACHE_SEED reproduces the kill moment)"

B=$(new_bucket)
create_volume "$B" lc 128M 64K
FUSEDIR=$T/fuse
MNT=$T/mnt
CACHE=$T/cache
mkdir -p "$FUSEDIR" "$MNT"
on_exit "fusermount3 -u '$FUSEDIR' || umount -l '$FUSEDIR'"
on_exit "umount '$MNT' || umount -l '$MNT'"
on_exit "touch '$T/stop'"

start_server bucket="$B" prefix=lc cache="$CACHE" cache-size=32M flush=remote writeback-delay=300ms
fuse_up "$FUSEDIR" "$SERVER_SOCK"
mkfs.ext4 -q -F "$FUSEDIR/nbd" || fail "mkfs.ext4 failed"
mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "mount -o loop failed"

# phase 1: files written and synced; they must survive losing the cache
( cd /usr/share/doc && find . -type f -size -64k | sort | sed -n '1,600p' ) >"$T/files"
[ "$(wc -l <"$T/files")" -ge 200 ] || fail "fewer than 200 files under /usr/share/doc"
mkdir -p "$MNT/synced"
( cd /usr/share/doc && tar -cf - -T "$T/files" ) | ( cd "$MNT/synced" && tar -xf - ) || fail "copying the tree failed"
head -c $((6 * 1048576 + 99)) /dev/urandom >"$MNT/synced/big"
( cd "$MNT" && find synced -type f -print0 | sort -z | xargs -0 sha256sum ) >"$T/sums"
sync -f "$MNT/synced/big" || fail "sync failed"
sync || fail "sync failed"
log "$(wc -l <"$T/sums") files synced"

# phase 2: more writes (files, rewrites, deletes, syncs) while nbdkit dies
cat >"$T/writer.sh" <<'SH'
mnt=$1 stop=$2 i=0
while [ ! -e "$stop" ] && [ $i -lt 1000 ]; do
  i=$((i + 1))
  mkdir -p "$mnt/more/d$i" 2>/dev/null || true
  for f in 1 2 3 4 5 6 7 8; do head -c $((f * 5000 + i * 37)) /dev/urandom >"$mnt/more/d$i/f$f" 2>/dev/null || true; done
  head -c 300000 /dev/urandom >"$mnt/more/rewrite" 2>/dev/null || true
  [ $((i % 3)) -ne 0 ] || rm -rf "$mnt/more/d$((i - 2))" 2>/dev/null || true
  [ $((i % 2)) -ne 0 ] || sync -f "$mnt/more/rewrite" 2>/dev/null || true
done
SH
bash "$T/writer.sh" "$MNT" "$T/stop" 2>/dev/null &   # its writes fail once nbdkit is gone
wpid=$!
ms=$((500 + RANDOM % 2500))
sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
kill -0 "$wpid" 2>/dev/null || fail "the writer ended before the kill"
kill9_server
log "kill -9 after ${ms} ms of phase 2; deleting the cache file"
rm -f "$CACHE"
touch "$T/stop"
for i in $(seq 300); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$wpid" 2>/dev/null && { kill -9 "$wpid"; fail "the writer did not stop within 30 s of the crash"; }
wait "$wpid" || true
# tear down the now failing ext4 and the FUSE file (their writes can only fail now)
umount -l "$MNT" || fail "lazy umount of the ext4 failed"
for i in $(seq 300); do [ -z "$(losetup -j "$FUSEDIR/nbd" 2>/dev/null)" ] && break; sleep 0.1; done
[ -z "$(losetup -j "$FUSEDIR/nbd" 2>/dev/null)" ] || fail "the loop device was not released within 30 s"
fuse_down "$FUSEDIR"

# the bucket alone
start_server bucket="$B" prefix=lc
export_to_file "$SERVER_URI" "$T/img"
stop_server
# the kernel replays ext4's journal at mount, as it would after a power cut; then a full check
mount -o loop "$T/img" "$MNT" || fail "mounting the bucket's image (journal replay) failed"
umount "$MNT" || fail "umount after the journal replay failed"
e2fsck -fn "$T/img" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "e2fsck -fn of the bucket's image found problems"; }
mount -o loop,ro "$T/img" "$MNT" || fail "mounting the bucket's image failed"
( cd "$MNT" && sha256sum --quiet -c "$T/sums" ) || fail "files synced before the crash differ in the bucket"
n=$(find "$MNT/more" -type f 2>/dev/null | wc -l)
umount "$MNT" || fail "umount failed"
log "bucket image is clean; synced files intact; $n phase-2 files present"
log "ok"
