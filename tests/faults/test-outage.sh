#!/bin/bash
# S3 outage. With the cache: the S3 server (the HAProxy front) disappears for OUTAGE_SECONDS
# (default 25 s) while a writer streams 16 MiB: writes continue into the cache up to max-dirty
# (4 MiB), then wait; when the server returns everything drains and the bucket alone holds every
# byte. Without the cache: a write fails with EIO after retry-time=5, and the log says why.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
OUTAGE=${OUTAGE_SECONDS:-25}
MAXDIRTY=$((4 * 1048576))
B=$(new_bucket)
create_volume "$B" oc 32M 256K
create_volume "$B" on 32M 256K
random_file "$T/data" $((16 * 1048576))
acked() { local v; v=$(tail -n 1 "$T/progress" 2>/dev/null || true); echo "${v:-0}"; }

# ---- with the cache
start_front 0 0 0 0 0 1
start_server endpoint="$FRONT_URL" bucket="$B" prefix=oc cache="$T/cache.img" cache-size=8M \
  max-dirty=4M writeback-delay=100ms request-timeout=5 dirty-timeout=120s
: >"$T/progress"
# the outage starts before the writer does: nothing is dirty yet
stop_front
log "S3 down; outage of ${OUTAGE}s"
timeout 300 "$PY" "$FAULTS_DIR/seq_writer.py" "$SERVER_URI" "$T/data" "$T/progress" 2>"$T/writer.err" &
WRITER=$!
before=0
sleep "$OUTAGE"
during=$(( $(acked) - before ))
log "acknowledged during the outage: $during bytes (max-dirty $MAXDIRTY)"
kill -0 "$WRITER" 2>/dev/null || { cat "$T/writer.err" >&2; fail "the writer ended during the outage"; }
[ "$during" -gt 0 ] || fail "no write was acknowledged during the outage: the cache did not absorb writes"
[ "$during" -le "$MAXDIRTY" ] || fail "$during bytes acknowledged during the outage, more than max-dirty=$MAXDIRTY"
restart_front
wait "$WRITER" || { cat "$T/writer.err" >&2; fail "the writer failed after the outage"; }
assert_eq $((16 * 1048576)) "$(acked)" "bytes acknowledged at the end"
stop_server   # drains whatever is left
stop_front
start_server bucket="$B" prefix=oc    # no cache, no front: the bucket alone
nbdcopy "$SERVER_URI" "$T/back.img" || fail "nbdcopy of the volume failed"
cmp -n $((16 * 1048576)) "$T/data" "$T/back.img" || fail "the bucket does not hold the data written across the outage"
stop_server
figure outage_seconds "$OUTAGE"
figure bytes_verified $((16 * 1048576))
figure bytes_lost 0

# ---- without the cache: a write during the outage fails with EIO after retry-time
start_front 0 0 0 0 0 1
start_server endpoint="$FRONT_URL" bucket="$B" prefix=on retry-time=5 request-timeout=3
stop_front
rc=0
timeout 120 "$PY" -c '
import sys, nbd, errno
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pwrite(b"x" * 65536, 0)
except nbd.Error as e:
    print("write failed:", e.string, "errno", e.errno)
    sys.exit(3 if e.errno in (errno.EIO, "EIO") else 4)
sys.exit(0)' "$SERVER_URI" >"$T/nocache.out" 2>&1 || rc=$?
cat "$T/nocache.out" >&2
[ "$rc" -ne 124 ] || fail "a write with S3 down hung instead of failing after retry-time=5"
assert_eq 3 "$rc" "exit of the writer (3 = EIO)"
assert_grep "pwrite: volume $B/on: .*block 0: .*(cannot reach http://127.0.0.1:$FRONT_PORT|Connection refused).*gave up after [0-9]+ attempts" \
  "$SERVER_LOG" "nbdkit log line for the failed write"
grep -E 'error: pwrite' "$SERVER_LOG" | head -n 1 >&2
kill -0 "$SERVER_PID" || fail "nbdkit died"
stop_server
log "ok"
