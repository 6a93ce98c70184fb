#!/bin/bash
# Runs every tests/integration/test-*.sh against a real Ceph RGW and a real nbdkit with our plugin.
# Starts RGW once (tests/lib/rgw-start.sh) unless S3NBD_TEST_ENDPOINT names a running S3 server,
# runs each test under a timeout, prints "PASS name (Ns)" or "FAIL name" plus the failing log
# tail, then one line "N passed, N failed". Exit status is non-zero if anything failed.
#   tests/run-integration.sh [NAME_FILTER]     e.g. tests/run-integration.sh roundtrip
# env: S3NBD_BUILD (build), S3NBD_TEST_ENDPOINT, TEST_TIMEOUT (300 s per test), RGW_* (rgw-start.sh)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${1:-}

if [ "$(id -u)" != 0 ]; then
  echo "run-integration: FATAL: must run as root (the ext4 test needs nbdfuse, loop devices and mount)" >&2
  exit 1
fi

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-itest.XXXXXX")
STARTED_RGW=0
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
cleanup() {
  if [ "$STARTED_RGW" = 1 ]; then
    if [ "${KEEP_RGW:-0}" = 1 ]; then
      echo "run-integration: RGW left running at $S3NBD_TEST_ENDPOINT (stop: tests/lib/rgw-stop.sh)"
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
    echo "run-integration: FATAL: Ceph RGW did not start; no tests were run" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  STARTED_RGW=1
  cat "$LOGDIR/rgw-start.log"
  export S3NBD_TEST_ENDPOINT=http://127.0.0.1:${RGW_PORT:-9180}
else
  curl -s -m 10 -o /dev/null "$S3NBD_TEST_ENDPOINT/" || {
    echo "run-integration: FATAL: S3NBD_TEST_ENDPOINT=$S3NBD_TEST_ENDPOINT does not answer" >&2
    echo "0 passed, 1 failed"
    exit 1
  }
fi

pass=0; failn=0; failed=()
shopt -s nullglob
tests=(tests/integration/test-*.sh)
[ ${#tests[@]} -gt 0 ] || { echo "run-integration: FATAL: no tests found" >&2; echo "0 passed, 1 failed"; exit 1; }
ran=0
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  [ -z "$FILTER" ] || [[ $name == *"$FILTER"* ]] || continue
  ran=$((ran + 1))
  start=$(date +%s)
  # --kill-after: a test that ignores SIGTERM is killed; its EXIT trap stops its servers
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
[ "$ran" -gt 0 ] || { echo "run-integration: FATAL: no test matches '$FILTER'" >&2; failn=1; }
[ "$failn" -eq 0 ] || echo "run-integration: failed: ${failed[*]}; full logs in $LOGDIR" >&2
[ "$failn" -ne 0 ] || rm -rf "$LOGDIR"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
