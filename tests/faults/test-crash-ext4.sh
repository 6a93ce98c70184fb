#!/bin/bash
# ext4 crash variant: ext4 (nbdfuse + loop mount) on a cached volume, a file workload (writes,
# renames, deletes, sync) and kill -9 of nbdkit at a random moment, EXT4_ROUNDS times (default
# 10), alternating flush=local and flush=remote. After every restart: mount (replays the ext4
# journal), every file recorded after a completed sync is there with its checksum, unmount,
# and e2fsck -fn finds nothing. 64 MiB volume, 64 KiB blocks, cache 8 MiB.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
need nbdfuse fusermount3 mkfs.ext4 e2fsck mount umount mountpoint
[ "$(id -u)" = 0 ] || fail "must run as root (mount -o loop)"
ROUNDS=${EXT4_ROUNDS:-10}
B=$(new_bucket)
create_volume "$B" fs 64M 64K
FUSEDIR=$T/fuse MNT=$T/mnt
mkdir -p "$FUSEDIR" "$MNT"
on_exit "fusermount3 -u -z '$FUSEDIR'"
on_exit "umount -l '$MNT'"
: >"$T/synced"   # "sha256  name" of files written before a completed sync

fuse_up() {
  rm -f "$T/nbdfuse.pid"
  nbdfuse -P "$T/nbdfuse.pid" "$FUSEDIR" --unix "$SERVER_SOCK" 2>>"$T/nbdfuse.log" &
  FUSE_PID=$!
  _SERVER_PIDS+=("$FUSE_PID")
  local i
  for i in $(seq 300); do
    [ -s "$T/nbdfuse.pid" ] && [ -e "$FUSEDIR/nbd" ] && return 0
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$T/nbdfuse.log" >&2; fail "nbdfuse exited"; }
    sleep 0.1
  done
  fail "nbdfuse did not come up in 30 s"
}
fuse_down() {
  timeout 30 fusermount3 -u -z "$FUSEDIR" 2>/dev/null || true
  _kill_pid "$FUSE_PID"
  wait "$FUSE_PID" 2>/dev/null || true
}
workload() { # writes files until killed; records each file once a sync after it completed
  # (it deletes only files of the current, unrecorded batch)
  local i=0 pending=()
  while [ $i -lt 400 ]; do
    i=$((i + 1))
    local f=f$ROUND-$i
    head -c $(( (RANDOM % 96 + 1) * 1024 )) /dev/urandom >"$MNT/$f.tmp" || return 0
    mv "$MNT/$f.tmp" "$MNT/$f" || return 0
    pending+=("$f")
    if [ $((i % 5)) -eq 0 ]; then
      [ $((RANDOM % 3)) -ne 0 ] || rm -f "$MNT/f$ROUND-$((i - 4))" 2>/dev/null || true
      sync -f "$MNT" || return 0
      for g in "${pending[@]}"; do
        [ -e "$MNT/$g" ] || continue
        (cd "$MNT" && sha256sum "$g") >>"$T/synced.new" || return 0
      done
      pending=()
    fi
  done
}

for ROUND in $(seq 1 "$ROUNDS"); do
  mode=local; [ $((ROUND % 2)) -eq 0 ] && mode=remote
  # the writer killed by SIGKILL still holds the lease: it is dead, take it over
  start_server bucket="$B" prefix=fs cache="$T/cache.img" cache-size=8M flush=$mode writeback-delay=200ms \
    force-takeover=true
  fuse_up
  [ "$ROUND" -gt 1 ] || mkfs.ext4 -q -F "$FUSEDIR/nbd" || fail "mkfs.ext4 failed"
  timeout 60 mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "round $ROUND: mount failed (journal replay)"
  # check every file recorded after a completed sync, then e2fsck after unmounting
  if [ -s "$T/synced" ]; then
    # the workload never deletes a recorded file: a missing one is lost
    (cd "$MNT" && sha256sum --quiet -c "$T/synced" 2>&1) >"$T/check.out" ||
      { head -n 20 "$T/check.out" >&2; fail "round $ROUND: files recorded after a completed sync are lost or differ"; }
  fi
  n=$(wc -l <"$T/synced")
  timeout 60 umount "$MNT" || fail "round $ROUND: umount failed"
  timeout 120 e2fsck -fn "$FUSEDIR/nbd" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "round $ROUND: e2fsck -fn found problems after kill $((ROUND - 1))"; }
  log "round $ROUND (flush=$mode): $n synced files verified, e2fsck clean"
  [ "$ROUND" -eq 1 ] || figure crashes_survived 1   # the kill of the round before
  timeout 60 mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "round $ROUND: remount failed"
  : >"$T/synced.new"
  workload &
  WL=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.1f", 1 + (r % 30) / 10 }')"
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  kill "$WL" 2>/dev/null || true
  wait "$WL" 2>/dev/null || true
  cat "$T/synced.new" >>"$T/synced"
  timeout 60 umount -l "$MNT" || true
  fuse_down
done
# a last clean round: mount, check, e2fsck
start_server bucket="$B" prefix=fs cache="$T/cache.img" cache-size=8M force-takeover=true
fuse_up
timeout 60 mount -o loop "$FUSEDIR/nbd" "$MNT" || fail "final mount failed"
(cd "$MNT" && sha256sum --quiet -c "$T/synced" 2>&1) >"$T/check.out" ||
  { head -n 20 "$T/check.out" >&2; fail "final: files recorded after a completed sync are lost or differ"; }
timeout 60 umount "$MNT" || fail "final umount failed"
timeout 120 e2fsck -fn "$FUSEDIR/nbd" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "final e2fsck -fn found problems"; }
fuse_down
stop_server
figure crashes_survived 1
figure ext4_fsck_clean $((ROUNDS + 1))
log "ok: $ROUNDS kills, e2fsck clean every time, $(wc -l <"$T/synced") synced files checked"
