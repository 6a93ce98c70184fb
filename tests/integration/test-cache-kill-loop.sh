#!/bin/bash
# kill -9 at random moments under a write+flush workload, 24 times: flush=local and flush=remote,
# each with one writer and with two writers on their own connections sharing every block
# (writeback running concurrently: short writeback delays). tests/lib/journal-writer.py
# writes self-describing versions of 16 KiB units (inside 64 KiB blocks, so partial-block
# writes), zeroes and trims some (erases), and journals which writes were acknowledged before a
# completed FLUSH. After every restart on the same cache file each unit must hold the newest
# flushed version or a later written one (never an older one, never garbage); at the end a clean
# stop drains the cache and the bucket alone (no cache) must pass the same check.
# 16 MiB volume, 8 MiB cache (so eviction runs too).
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
KILLS=${KILLS:-6}   # per phase (4 phases)
UNIT=16384
SEED=${KILL_LOOP_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
log "seed $SEED (KILL_LOOP_SEED=$SEED reproduces the kill timing)"
WRITER=$REPO/tests/lib/journal-writer.py
B=$(new_bucket)

# check_all WHAT: every lane's journal against the export at $SERVER_URI
check_all() {
  local k
  for ((k = 0; k < NW; k++)); do
    LANE=$k/$NW timeout 60 "$PY" "$WRITER" check "$SERVER_URI" "$J-$k" "$SEED" $UNIT >"$T/check.log" 2>&1 ||
      { cat "$T/check.log" >&2; fail "flush=$pol, $NW writer(s): $1: check of lane $k failed"; }
  done
}

total_kills=0; total_flushes=0
# flush policy : writers (each on its own connection; 2 writers share every block)
for phase in local:1 local:2 remote:1 remote:2; do
  pol=${phase%:*} NW=${phase#*:}
  P=kl-$pol-$NW
  create_volume "$B" "$P" 16M 64K
  CACHE=$T/cache-$P
  J=$T/journal-$P
  for ((k = 0; k < NW; k++)); do : >"$J-$k"; done
  for i in $(seq "$KILLS"); do
    delays=(0 20ms 100ms 300ms)
    start_server -v bucket="$B" prefix="$P" cache="$CACHE" cache-size=8M max-dirty=4M flush="$pol" \
      writeback-threads=4 writeback-delay="${delays[RANDOM % 4]}"
    check_all "after kill $((i - 1))"
    wpids=()
    for ((k = 0; k < NW; k++)); do
      LANE=$k/$NW timeout 60 "$PY" "$WRITER" write "$SERVER_URI" "$J-$k" "$SEED" $UNIT $((2 + RANDOM % 8)) 100000 \
        >"$T/writer$k.log" 2>&1 &
      wpids+=($!)
    done
    for ((k = 0; k < NW; k++)); do
      for _ in $(seq 300); do [ -e "$J-$k.connected" ] && break; kill -0 "${wpids[k]}" 2>/dev/null || break; sleep 0.05; done
      [ -e "$J-$k.connected" ] || { cat "$T/writer$k.log" >&2; fail "flush=$pol: writer $k did not connect within 15 s"; }
      rm -f "$J-$k.connected"
    done
    # a random moment: 0.1 .. 1.0 s into the workload
    ms=$((100 + RANDOM % 900))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    for ((k = 0; k < NW; k++)); do
      kill -0 "${wpids[k]}" 2>/dev/null || { cat "$T/writer$k.log" >&2; fail "flush=$pol: writer $k ended before the kill"; }
    done
    kill9_server
    summary=""
    for ((k = 0; k < NW; k++)); do
      wait "${wpids[k]}" || { cat "$T/writer$k.log" >&2; fail "flush=$pol: writer $k failed (not by the server's death)"; }
      f=$(sed -n 's/^writer: [0-9]* writes \([0-9]*\) flushes.*/\1/p' "$T/writer$k.log")
      [ -n "$f" ] || { cat "$T/writer$k.log" >&2; fail "writer $k printed no summary"; }
      total_flushes=$((total_flushes + f))
      summary+=" [$(sed -n 's/^writer: \([0-9]* writes [0-9]* flushes\).*/\1/p' "$T/writer$k.log")]"
    done
    rec=$(grep -o 'recovered [0-9]* pending versions.*lost' "$SERVER_LOG" | head -n 1 || true)
    [ "$i" = 1 ] || [ -n "$rec" ] || fail "no recovery summary in $SERVER_LOG"
    log "flush=$pol writers=$NW kill $i: ${rec:-new cache};$summary"
    total_kills=$((total_kills + 1))
  done
  # recover once more, check, then drain with a clean stop
  start_server bucket="$B" prefix="$P" cache="$CACHE" cache-size=8M flush="$pol"
  check_all "after the last kill"
  stop_server_clean
  # the bucket alone holds the same state (check rewrote the journals as the observed baseline)
  start_server bucket="$B" prefix="$P"
  check_all "bucket alone (no cache)"
  stop_server
done
log "$total_kills kills, $total_flushes completed flushes checked"
[ "$total_kills" -ge 20 ] || fail "only $total_kills kills"
[ "$total_flushes" -ge 20 ] || fail "only $total_flushes flushes completed before kills: the test checked too little"
log "ok"
