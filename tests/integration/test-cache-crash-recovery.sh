#!/bin/bash
# The cache survives kill -9: random writes, FLUSH, kill -9 nbdkit, restart on the same cache
# file: every byte reads back. With flush=local and a long writeback delay the data was ONLY
# in the cache file when nbdkit died (the bucket holds no block); a clean stop then drains it and
# a fresh nbdkit WITHOUT cache reads exactly the same image from the bucket. With flush=remote
# the FLUSH itself put the data in the bucket. 64 MiB volume, 256 KiB blocks, 32 MiB cache.
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
SIZE=$((64 * 1048576))
BS=$((256 * 1024))
B=$(new_bucket)

for pol in local remote; do
  P=cr-$pol
  create_volume "$B" "$P" $SIZE 256K
  CACHE=$T/cache-$pol
  MODEL=$T/model-$pol
  truncate -s $SIZE "$MODEL"
  # a writeback delay far beyond the test: nothing is uploaded unless a FLUSH (remote) asks
  start_server bucket="$B" prefix="$P" cache="$CACHE" cache-size=32M flush="$pol" writeback-delay=3600s
  # unaligned writes inside blocks, across block boundaries, and a run of whole blocks
  for op in "pwrite-random 4096 1000" "pwrite-random $((BS - 777)) 5000" "pwrite-random $((3 * BS)) $((4 * BS))" \
            "pwrite-random $((SIZE - 3 * BS - 512)) $((2 * BS))" "pwrite-random $((20 * BS + 12345)) 70000" \
            "pwrite-random $((40 * BS)) $((2 * 1048576 + 4096))"; do
    # shellcheck disable=SC2086  # op is "verb offset length"
    "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" $op || fail "write ($op) failed"
  done
  # overwrite part of an already written block (a second version of the same block)
  "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" pwrite-random $((3 * BS + 100)) 300 || fail "rewrite failed"
  want=$(nonzero_blocks "$MODEL" $BS)
  log "flush=$pol: $want blocks written and flushed; kill -9"
  kill9_server
  stored=$(count_blocks "$B" "$P")
  if [ $pol = local ]; then
    assert_eq 0 "$stored" "flush=local: blocks in the bucket at the crash (data must be in the cache only)"
  else
    assert_eq "$want" "$stored" "flush=remote: blocks in the bucket at the crash"
  fi

  # restart on the same cache file: everything reads back, and still nothing was lost locally
  start_server -v bucket="$B" prefix="$P" cache="$CACHE" cache-size=32M flush="$pol" writeback-delay=3600s
  "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" verify >&2 || fail "flush=$pol: data differs after kill -9 and restart"
  rec=$(grep -o 'recovered [0-9]* pending versions ([0-9]* dirty bytes), [0-9]* unflushed writes lost' "$SERVER_LOG" | head -n 1)
  [ -n "$rec" ] || fail "no recovery summary in $SERVER_LOG"
  log "flush=$pol restart: $rec"
  case $pol,$rec in
    local,"recovered 0 "*) fail "flush=local: nothing was recovered from the cache file ($rec)" ;;
    remote,"recovered 0 "*) ;;
    remote,*) fail "flush=remote: the FLUSH had uploaded everything, yet: $rec" ;;
  esac
  [[ $rec == *", 0 unflushed writes lost" ]] || fail "flush=$pol: writes lost after kill -9: $rec"
  assert_clean_log   # nothing acknowledged may be dropped after kill -9 (no power loss)
  # a second crash right after recovery: recovered dirty data must survive that too
  kill9_server
  start_server bucket="$B" prefix="$P" cache="$CACHE" cache-size=32M flush="$pol"
  "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" verify >&2 || fail "flush=$pol: data differs after a second kill -9"
  stop_server_clean   # drains whatever is still dirty
  assert_clean_log
  assert_eq "$want" "$(count_blocks "$B" "$P")" "flush=$pol: blocks in the bucket after a clean stop"

  # the bucket alone, no cache
  start_server bucket="$B" prefix="$P"
  "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" verify >&2 || fail "flush=$pol: bucket alone differs from what was written"
  export_to_file "$SERVER_URI" "$T/img-$pol"
  cmp "$MODEL" "$T/img-$pol" || fail "flush=$pol: nbdcopy of the bucket differs"
  stop_server
  rm -f "$T/img-$pol"
done
log "ok"
