#!/bin/bash
# S3 goes away under a cached volume (a TCP forwarder in front of RGW is killed): with
# flush=local, writes and FLUSH still succeed and everything reads back from the cache; a clean
# stop gives up draining after shutdown-timeout and says dirty data was left in the cache file;
# with S3 back, a restart on the same cache uploads it and the bucket alone holds every byte.
# Then flush=remote: a FLUSH during the outage FAILS (after dirty-timeout) instead of hanging or
# lying, and succeeds once S3 is back. 32 MiB volume, 256 KiB blocks, 16 MiB cache.
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
BS=262144
B=$(new_bucket)
create_volume "$B" out 32M 256K
upstream=${S3_ENDPOINT##*:}; upstream=${upstream%%/*}
case $S3_ENDPOINT in http://127.0.0.1:*) ;; *) fail "this test needs an http://127.0.0.1:PORT endpoint, not $S3_ENDPOINT" ;; esac
PPORT=$("$PY" "$REPO/tests/lib/tcp-proxy.py" --free-port)
PROXY_PID=
proxy_up() {
  "$PY" "$REPO/tests/lib/tcp-proxy.py" "$PPORT" "$upstream" >"$T/proxy.log" 2>&1 &
  PROXY_PID=$!
  local i
  for i in $(seq 100); do grep -q listening "$T/proxy.log" && return 0; sleep 0.1; done
  fail "the TCP forwarder did not start"
}
proxy_down() { kill -9 "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=; }
# shellcheck disable=SC2016  # expanded when the cleanup runs
on_exit '[ -z "$PROXY_PID" ] || kill -9 "$PROXY_PID"'
EP=endpoint=http://127.0.0.1:$PPORT
OPS=$REPO/tests/lib/nbd-ops.py
MODEL=$T/model
truncate -s 32M "$MODEL"
CACHE=$T/cache

# ---- flush=local: the outage is invisible to the client until shutdown ----
proxy_up
start_server "$EP" bucket="$B" prefix=out cache="$CACHE" cache-size=16M flush=local writeback-delay=0 \
  shutdown-timeout=3s retry-time=5
"$PY" "$OPS" "$SERVER_URI" "$MODEL" pwrite-random 0 $((8 * BS)) || fail "write before the outage"
proxy_down
log "S3 is unreachable now"
# new blocks (absent: no S3 read needed), and partial rewrites of blocks held in the cache
"$PY" "$OPS" "$SERVER_URI" "$MODEL" pwrite-random $((40 * BS)) $((6 * BS + 4096)) || fail "write of new blocks during the outage"
"$PY" "$OPS" "$SERVER_URI" "$MODEL" pwrite-random $((2 * BS + 1000)) 70000 || fail "partial rewrite during the outage"
"$PY" "$OPS" "$SERVER_URI" "$MODEL" verify >&2 || fail "reading back from the cache during the outage"
kill "$SERVER_PID"
for i in $(seq 900); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "nbdkit did not exit within 90 s of SIGTERM while S3 was down (shutdown-timeout=3s)"
wait "$SERVER_PID" 2>/dev/null || true
assert_grep "dirty data left in the cache file" "$SERVER_LOG" "message about dirty data left at shutdown"

proxy_up
log "S3 is back"
start_server "$EP" bucket="$B" prefix=out cache="$CACHE" cache-size=16M flush=local
"$PY" "$OPS" "$SERVER_URI" "$MODEL" verify >&2 || fail "data after the restart on the cache"
stop_server_clean
assert_clean_log
start_server bucket="$B" prefix=out
"$PY" "$OPS" "$SERVER_URI" "$MODEL" verify >&2 || fail "the bucket alone (no cache) after the outage"
stop_server

# ---- flush=remote: FLUSH fails during the outage, then succeeds ----
start_server "$EP" bucket="$B" prefix=out cache="$CACHE" cache-size=16M flush=remote writeback-delay=0 \
  dirty-timeout=3s retry-time=2
proxy_down
"$PY" - "$SERVER_URI" "$MODEL" $((20 * BS)) <<'PY' || fail "flush=remote during the outage"
import os, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
off = int(sys.argv[3])
data = os.urandom(3 * 262144)
h.pwrite(data, off)
with open(sys.argv[2], "r+b") as f:  # acknowledged: it must survive in the end
    f.seek(off)
    f.write(data)
try:
    h.flush()
except nbd.Error as e:
    print("FLUSH during the outage failed as it should: %s" % e)
else:
    sys.exit("FLUSH with flush=remote succeeded although S3 was unreachable")
PY
proxy_up
"$PY" -c "import nbd, sys; h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.flush()" "$SERVER_URI" ||
  fail "FLUSH after S3 came back"
stop_server_clean
start_server bucket="$B" prefix=out
"$PY" "$OPS" "$SERVER_URI" "$MODEL" verify >&2 || fail "the bucket alone after the remote-flush outage"
stop_server
log "ok"
