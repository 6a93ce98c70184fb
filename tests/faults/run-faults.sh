#!/bin/bash
# s3nbd's reliability suite: runs every tests/faults/test-*.sh against a real Ceph RGW (started
# here unless S3NBD_TEST_ENDPOINT names a running S3 server), a real nbdkit and a real HAProxy
# fault front; prints "PASS name (Ns)" or "FAIL name" with the failing log tail, then the figures
# the tests recorded (faults injected, retries, crashes survived, bytes verified, bytes lost, bad
# inputs tried, ...) and one last line "N passed, N failed". Non-zero exit if anything failed.
#   tests/faults/run-faults.sh [NAME_FILTER]
# env: S3NBD_BUILD (build), S3NBD_TEST_ENDPOINT, FAULT_PORT_BASE (9150: HAProxy listeners
#      FAULT_PORT_BASE..+9), FAULTS_TEST_TIMEOUT (420 s per test), RGW_* (tests/lib/rgw-start.sh)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
TEST_TIMEOUT=${FAULTS_TEST_TIMEOUT:-420}
FILTER=${1:-}

if [ "$(id -u)" != 0 ]; then
  echo "run-faults: FATAL: must run as root (ext4 on loop devices, tmpfs mounts)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
for t in haproxy fio nbdkit nbdfuse mkfs.ext4 e2fsck /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "run-faults: FATAL: '$t' is not installed (make deps)" >&2; echo "0 passed, 1 failed"; exit 1; }
done

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-faults.XXXXXX")
export FAULTS_FIGURES=$LOGDIR/figures
: >"$FAULTS_FIGURES"
STARTED_RGW=0
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
cleanup() {
  if [ "$STARTED_RGW" = 1 ]; then
    if [ "${KEEP_RGW:-0}" = 1 ]; then
      echo "run-faults: RGW left running at $S3NBD_TEST_ENDPOINT (stop: tests/lib/rgw-stop.sh)"
    else
      bash "$REPO/tests/lib/rgw-stop.sh"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${S3NBD_TEST_ENDPOINT:-}" ]; then
  if ! timeout 300 bash tests/lib/rgw-start.sh >"$LOGDIR/rgw-start.log" 2>&1; then
    cat "$LOGDIR/rgw-start.log" >&2
    echo "run-faults: FATAL: Ceph RGW did not start; no tests were run" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  STARTED_RGW=1
  cat "$LOGDIR/rgw-start.log"
  export S3NBD_TEST_ENDPOINT=http://127.0.0.1:${RGW_PORT:-9180}
else
  curl -s -m 10 -o /dev/null "$S3NBD_TEST_ENDPOINT/" || {
    echo "run-faults: FATAL: S3NBD_TEST_ENDPOINT=$S3NBD_TEST_ENDPOINT does not answer" >&2
    echo "0 passed, 1 failed"
    exit 1
  }
fi

pass=0; failn=0; failed=()
shopt -s nullglob
tests=(tests/faults/test-*.sh)
[ ${#tests[@]} -gt 0 ] || { echo "run-faults: FATAL: no tests found" >&2; echo "0 passed, 1 failed"; exit 1; }
ran=0
suite_start=$(date +%s)
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  [ -z "$FILTER" ] || [[ $name == *"$FILTER"* ]] || continue
  ran=$((ran + 1))
  start=$(date +%s)
  timeout --kill-after=30 "$TEST_TIMEOUT" bash "$t" >"$LOGDIR/$name.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ]; then
    pass=$((pass + 1)); echo "PASS $name (${secs}s)"
  else
    failn=$((failn + 1)); failed+=("$name")
    why="exit $rc"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after ${TEST_TIMEOUT}s"; fi
    echo "FAIL $name (${secs}s, $why)"
    tail -n 40 "$LOGDIR/$name.log" | sed 's/^/    | /'
  fi
done
[ "$ran" -gt 0 ] || { echo "run-faults: FATAL: no test matches '$FILTER'" >&2; failn=1; }

# figures: "key value" lines; keys ending in _max keep the largest value, the others add up
echo "---- reliability figures (${ran} tests, $(( $(date +%s) - suite_start ))s)"
awk '{ if ($1 ~ /_max$/) { if (!($1 in v) || $2 > v[$1]) v[$1] = $2 } else v[$1] += $2 }
     END { for (k in v) printf "  %-30s %s\n", k, v[k] }' "$FAULTS_FIGURES" | sort
lost=$(awk '$1 == "bytes_lost" {s += $2} END {print s + 0}' "$FAULTS_FIGURES")
if [ "$lost" -ne 0 ]; then echo "run-faults: $lost bytes LOST" >&2; fi
[ "$failn" -eq 0 ] || echo "run-faults: failed: ${failed[*]}; full logs in $LOGDIR" >&2
[ "$failn" -ne 0 ] || rm -rf "$LOGDIR"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
