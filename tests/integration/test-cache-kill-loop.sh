#!/bin/bash
# kill -9 at random moments under a write+flush workload, 12 times with flush=local and 12 with
# flush=remote (writeback running concurrently: short writeback delays). tests/lib/journal-writer.py
# writes self-describing versions of 16 KiB units (inside 64 KiB blocks, so partial-block
# writes), zeroes and trims some (erases), and journals which writes were acknowledged before a
# completed FLUSH. After every restart on the same cache file each unit must hold the newest
# flushed version or a later written one (never an older one, never garbage); at the end a clean
# stop drains the cache and the bucket alone (no cache) must pass the same check.
# 16 MiB volume, 8 MiB cache (so eviction runs too).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
KILLS=${KILLS:-12}   # per flush policy
UNIT=16384
SEED=${KILL_LOOP_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
log "seed $SEED (KILL_LOOP_SEED=$SEED reproduces the kill timing)"
WRITER=$REPO/tests/lib/journal-writer.py
B=$(new_bucket)

total_kills=0; total_flushes=0
for pol in local remote; do
  P=kl-$pol
  create_volume "$B" "$P" 16M 64K
  CACHE=$T/cache-$pol
  J=$T/journal-$pol
  : >"$J"
  for i in $(seq "$KILLS"); do
    delays=(0 20ms 100ms 300ms)
    start_server -v bucket="$B" prefix="$P" cache="$CACHE" cache-size=8M max-dirty=4M flush=$pol \
      writeback-threads=4 writeback-delay="${delays[RANDOM % 4]}"
    timeout 60 "$PY" "$WRITER" check "$SERVER_URI" "$J" "$SEED" $UNIT >"$T/check.log" 2>&1 ||
      { cat "$T/check.log" >&2; fail "flush=$pol: after kill $((i - 1)): check failed"; }
    timeout 60 "$PY" "$WRITER" write "$SERVER_URI" "$J" "$SEED" $UNIT $((2 + RANDOM % 8)) 100000 >"$T/writer.log" 2>&1 &
    wpid=$!
    for w in $(seq 300); do [ -e "$J.connected" ] && break; kill -0 "$wpid" 2>/dev/null || break; sleep 0.05; done
    [ -e "$J.connected" ] || { cat "$T/writer.log" >&2; fail "flush=$pol: the writer did not connect within 15 s"; }
    rm -f "$J.connected"
    # a random moment: 0.1 .. 1.3 s into the workload
    ms=$((100 + RANDOM % 1200))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -0 "$wpid" 2>/dev/null || { cat "$T/writer.log" >&2; fail "flush=$pol: the writer ended before the kill"; }
    kill9_server
    wait "$wpid" || { cat "$T/writer.log" >&2; fail "flush=$pol: writer failed (not by the server's death)"; }
    f=$(sed -n 's/^writer: [0-9]* writes \([0-9]*\) flushes.*/\1/p' "$T/writer.log")
    [ -n "$f" ] || { cat "$T/writer.log" >&2; fail "writer printed no summary"; }
    rec=$(grep -o 'recovered [0-9]* pending versions.*lost' "$SERVER_LOG" | head -n 1 || true)
    [ $i = 1 ] || [ -n "$rec" ] || fail "no recovery summary in $SERVER_LOG"
    log "flush=$pol kill $i: ${rec:-new cache}; $(head -c 60 "$T/writer.log" | head -n 1)"
    total_kills=$((total_kills + 1)); total_flushes=$((total_flushes + f))
  done
  # recover once more, check, then drain with a clean stop
  start_server bucket="$B" prefix="$P" cache="$CACHE" cache-size=8M flush=$pol
  timeout 60 "$PY" "$WRITER" check "$SERVER_URI" "$J" "$SEED" $UNIT >&2 || fail "flush=$pol: check after the last kill failed"
  stop_server_clean
  # the bucket alone holds the same state (check rewrote the journal as the observed baseline)
  start_server bucket="$B" prefix="$P"
  timeout 60 "$PY" "$WRITER" check "$SERVER_URI" "$J" "$SEED" $UNIT >&2 || fail "flush=$pol: bucket alone (no cache) failed the check"
  stop_server
done
log "$total_kills kills, $total_flushes completed flushes checked"
[ "$total_kills" -ge 20 ] || fail "only $total_kills kills"
[ "$total_flushes" -ge 20 ] || fail "only $total_flushes flushes completed before kills: the test checked too little"
log "ok"
