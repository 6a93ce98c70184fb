#!/bin/bash
# Helpers for tests/faults/test-*.sh, on top of tests/lib/common.sh (temp dir, servers, cleanup):
# the HAProxy fault front, figures for the suite's summary, fio through the nbd engine.
# shellcheck disable=SC2034  # variables here are used by the tests that source this file
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
FAULTS_DIR=$REPO/tests/faults
# listeners of the fault front: FAULT_PORT_BASE .. +9 (the standard layout keeps 9150-9159 free)
FAULT_PORT_BASE=${FAULT_PORT_BASE:-9150}
# figures: "key value" lines summed by tests/faults/run-faults.sh; a test run alone keeps its own
FAULTS_FIGURES=${FAULTS_FIGURES:-$T/figures}
figure() { echo "$1 $2" >>"$FAULTS_FIGURES"; log "figure: $1 = $2"; }

# ---- the HAProxy fault front ----------------------------------------------------------------
_NFRONTS=0
# start_front P503 P500 PRESET PDROP PDELAY DELAY_MS [UPSTREAM]: HAProxy on the next listener
# port in front of UPSTREAM (default the S3 server). Sets FRONT_PID FRONT_URL FRONT_PORT FRONT_LOG.
start_front() {
  need haproxy
  local up=${7:-${S3_ENDPOINT#http://}} i
  FRONT_PORT=$((FAULT_PORT_BASE + _NFRONTS))
  _NFRONTS=$((_NFRONTS + 1))
  FRONT_LOG=$T/haproxy$_NFRONTS.log
  FRONT_URL=http://127.0.0.1:$FRONT_PORT
  FRONT_ARGS=("$@")
  if (exec 3<>"/dev/tcp/127.0.0.1/$FRONT_PORT") 2>/dev/null; then
    fail "127.0.0.1:$FRONT_PORT is in use; set FAULT_PORT_BASE"
  fi
  _front_run "$1" "$2" "$3" "$4" "$5" "$6" "$up"
}
_front_run() {
  P503=$1 P500=$2 PRESET=$3 PDROP=$4 PDELAY=$5 DELAY_MS=$6 UPSTREAM=$7 LISTEN=127.0.0.1:$FRONT_PORT \
    DELAY_LUA=$FAULTS_DIR/delay.lua STATS_SOCK=$T/haproxy-$FRONT_PORT.sock \
    haproxy -db -f "$FAULTS_DIR/haproxy.cfg" >>"$FRONT_LOG" 2>&1 &
  FRONT_PID=$!
  _SERVER_PIDS+=("$FRONT_PID")
  for i in $(seq 100); do
    kill -0 "$FRONT_PID" 2>/dev/null || { cat "$FRONT_LOG" >&2; fail "haproxy exited at start"; }
    (exec 3<>"/dev/tcp/127.0.0.1/$FRONT_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "haproxy did not listen on $FRONT_PORT within 10 s"
}
# stop_front: the listener disappears (connections refused), as when the S3 server is down
stop_front() { _kill_pid "$FRONT_PID"; wait "$FRONT_PID" 2>/dev/null || true; }
# restart_front: the same front again on the same port
restart_front() { _front_run "${FRONT_ARGS[0]}" "${FRONT_ARGS[1]}" "${FRONT_ARGS[2]}" "${FRONT_ARGS[3]}" \
  "${FRONT_ARGS[4]}" "${FRONT_ARGS[5]}" "${FRONT_ARGS[6]:-${S3_ENDPOINT#http://}}"; }
# front_count KIND [LOG]: requests the front answered with fault KIND (slowdown503 internal500
# reset drop delay none)
front_count() { grep -c "^fault=$1 " "${2:-$FRONT_LOG}" || true; }
front_faults() { # LOG: injected faults (every kind but none and delay)
  grep -cE '^fault=(slowdown503|internal500|reset|drop) ' "${1:-$FRONT_LOG}" || true
}
# retries the S3 client logged (nbdkit -v)
count_retries() { grep -c 'failed (.*); retrying in' "$1" || true; }

# ---- fio through the nbd engine ---------------------------------------------------------------
need fio
# run_fio NAME URI ARGS...: fio with the nbd engine; output in $T/fio-NAME.out; fails the test
# on any fio error. Every job is bounded by --runtime or its size.
run_fio() {
  local name=$1 uri=$2; shift 2
  local sock=${uri#*socket=}
  timeout --kill-after=10 "${FIO_TIMEOUT:-600}" fio --name="$name" --ioengine=nbd --uri="$uri" --verify_state_save=0 \
    --output="$T/fio-$name.out" --output-format=normal "$@" >"$T/fio-$name.err" 2>&1 || {
    grep -iE "error|fail|verify|bad" "$T/fio-$name.err" "$T/fio-$name.out" | head -n 20 >&2
    fail "fio $name failed (socket $sock)"
  }
  if grep -qiE 'verify: bad|crc32c: verify failed|bad magic|err= *[1-9]' "$T/fio-$name.out"; then
    grep -iE 'verify|err=' "$T/fio-$name.out" | head -n 20 >&2
    fail "fio $name reported errors"
  fi
}
# peak RSS (kB) of a process so far
vm_hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
