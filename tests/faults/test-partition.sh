#!/bin/bash
# Partition and takeover. Writer A (lease-time=6) reaches S3 through a proxy that HOLDS its
# client->server bytes (tests/lib/hold-proxy.py) longer than its lease, while A writes block 0
# (without a cache: the write waits for its PUT; with a cache: the upload waits). After A's lease
# expired, writer B takes the volume over directly, writes block 0 and flushes; a fresh reader
# sees B's data. Then the proxy releases what it holds (for connections still open; the bytes of
# a connection A reset are dropped). B's data must still read back: A's late PUT must have been
# abandoned (its attempts are bounded by the lease and its connection reset), not delivered.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
BS=65536
B=$(new_bucket)
PROXY_PORT=$((FAULT_PORT_BASE + 9))
PROXY_URL=http://127.0.0.1:$PROXY_PORT
CTL=$T/proxy.ctl
refused=0

start_proxy() {
  echo pass >"$CTL"
  "$PY" "$REPO/tests/lib/hold-proxy.py" "$PROXY_PORT" "${S3_ENDPOINT##*:}" "$CTL" >"$T/proxy.log" 2>&1 &
  PROXY_PID=$!
  _SERVER_PIDS+=("$PROXY_PID")
  local i
  for i in $(seq 100); do grep -q listening "$T/proxy.log" && return 0; sleep 0.1; done
  fail "hold-proxy did not start"
}
proxy_state() { # hold|pass: waits until the proxy has switched
  local n i
  n=$(grep -c "^state $1" "$T/proxy.log" || true)
  echo "$1" >"$CTL"
  for i in $(seq 100); do
    [ "$(grep -c "^state $1" "$T/proxy.log" || true)" -gt "$n" ] && return 0
    sleep 0.05
  done
  fail "hold-proxy did not switch to $1"
}
# block 0 of a fresh read-only server straight on the bucket, as sha256
read_block0() { # PREFIX
  start_server bucket="$B" prefix="$1" readonly=true
  "$PY" -c 'import sys, nbd, hashlib
h = nbd.NBD(); h.connect_uri(sys.argv[1])
print(hashlib.sha256(h.pread(int(sys.argv[2]), 0)).hexdigest())' "$SERVER_URI" "$BS"
  stop_server
}

scenario() { # NAME [CACHE ARGS...]
  local name=$1; shift
  local p=part-$name
  create_volume "$B" "$p" 4M "$BS"
  head -c "$BS" /dev/urandom >"$T/a-$name"
  head -c "$BS" /dev/urandom >"$T/b-$name"
  start_proxy
  start_server endpoint="$PROXY_URL" bucket="$B" prefix="$p" lease-time=6 "$@"
  local a_pid=$SERVER_PID a_uri=$SERVER_URI a_log=$SERVER_LOG
  proxy_state hold
  log "$name: proxy holds A's requests; A writes block 0"
  timeout 200 "$PY" -c 'import sys, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pwrite(open(sys.argv[2], "rb").read(), 0)
    print("A write acknowledged")
except nbd.Error as e:
    print("A write refused:", e.string)' "$a_uri" "$T/a-$name" >"$T/a-$name.out" 2>&1 &
  local writer=$!
  sleep 9   # > lease-time: A's lease has expired for everyone
  if [ -z "$*" ] && grep -q acknowledged "$T/a-$name.out"; then   # no cache: the write waits for its PUT
    fail "$name: A's write was acknowledged although its PUT was held"
  fi
  log "$name: B takes over directly, writes block 0 and flushes"
  start_server bucket="$B" prefix="$p" lease-time=6
  nbdsh -u "$SERVER_URI" -c "h.pwrite(open('$T/b-$name', 'rb').read(), 0); h.flush()" ||
    fail "$name: B could not write after the takeover"
  stop_server
  local want
  want=$(sha256sum <"$T/b-$name" | cut -d' ' -f1)
  assert_eq "$want" "$(read_block0 "$p")" "$name: block 0 after B's flush"
  log "$name: the proxy releases what it holds"
  proxy_state pass
  sleep 5
  wait "$writer" || true
  cat "$T/a-$name.out" >&2
  grep -E '^(released|dropped)' "$T/proxy.log" >&2 || true
  # the block PUT (BS bytes and more) was held, then released or dropped
  awk -v bs="$BS" '/^(released|dropped)/ { sub("bytes=", "", $3); if ($3 + 0 >= bs) n++ } END { exit !n }' \
    "$T/proxy.log" || fail "$name: the proxy never held A's block PUT"
  local got
  got=$(read_block0 "$p")
  if [ "$got" != "$want" ]; then
    [ "$got" = "$(sha256sum <"$T/a-$name" | cut -d' ' -f1)" ] &&
      fail "$name: A's late write landed over B's flushed data"
    fail "$name: block 0 is neither B's data nor A's"
  fi
  assert_grep "writer lease expired" "$a_log" "$name: A's log names the abandoned write"
  refused=$((refused + 1))
  # A cannot drain its cache (its lease is lost) and would wait for shutdown-timeout: kill it
  kill -9 "$a_pid" 2>/dev/null || true
  wait "$a_pid" 2>/dev/null || true
  _kill_pid "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
}

# PARTITION_ONLY=nocache|cache runs one scenario
case ${PARTITION_ONLY:-} in "" | nocache) scenario nocache ;; esac
case ${PARTITION_ONLY:-} in "" | cache) scenario cache cache="$T/cache.img" cache-size=4M writeback-delay=100ms ;; esac
figure partition_late_writes_refused "$refused"
log "ok"
