#!/bin/bash
# Runs every tests/e2e/test-*.sh: s3nbd under its real consumers (the kernel nbd driver in a
# Debian-kernel guest, qemu's NBD block backend, qemu-img) against a real Ceph RGW. Builds the
# guest kit (tests/e2e/lib/guest-kit.sh) once, starts RGW once (tests/lib/rgw-start.sh) unless
# S3NBD_TEST_ENDPOINT names a running S3 server, runs each test under a timeout and prints
# "PASS name (Ns)" with the test's figures or "FAIL name" with its log tail, then one line
# "N passed, N failed". Exit status is non-zero if anything failed.
#   tests/e2e/run-e2e.sh [NAME_FILTER]         e.g. tests/e2e/run-e2e.sh kernel
# env: S3NBD_BUILD (build), S3NBD_TEST_ENDPOINT, TEST_TIMEOUT (600 s per test), S3NBD_E2E_SERVE
#      (tests/e2e/lib/e2e.sh), S3NBD_E2E_KVER (guest-kit.sh), RGW_PORT MON_PORT OSD_PORT_MIN
#      OSD_PORT_MAX S3NBD_RGW_DIR (rgw-start.sh; the state dir defaults to .../s3nbd-rgw-e2e)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
FILTER=${1:-}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-e2e.XXXXXX")
STARTED_RGW=0
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw-e2e}
cleanup() {
  if [ "$STARTED_RGW" = 1 ]; then
    if [ "${KEEP_RGW:-0}" = 1 ]; then
      echo "run-e2e: RGW left running at $S3NBD_TEST_ENDPOINT (stop: tests/lib/rgw-stop.sh)"
    else
      bash "$REPO/tests/lib/rgw-stop.sh"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fatal() { echo "run-e2e: FATAL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

start=$(date +%s)
export S3NBD_E2E_KIT=$LOGDIR/kit
bash tests/e2e/lib/guest-kit.sh "$S3NBD_E2E_KIT" >"$LOGDIR/guest-kit.log" 2>&1 ||
  { cat "$LOGDIR/guest-kit.log" >&2; fatal "building the guest kit failed; no tests were run"; }
echo "$(tail -n 1 "$LOGDIR/guest-kit.log") ($(($(date +%s) - start))s)"

if [ -z "${S3NBD_TEST_ENDPOINT:-}" ]; then
  if ! timeout 300 bash tests/lib/rgw-start.sh >"$LOGDIR/rgw-start.log" 2>&1; then
    cat "$LOGDIR/rgw-start.log" >&2
    fatal "Ceph RGW did not start; no tests were run"
  fi
  STARTED_RGW=1
  cat "$LOGDIR/rgw-start.log"
  export S3NBD_TEST_ENDPOINT=http://127.0.0.1:${RGW_PORT:-9180}
else
  curl -s -m 10 -o /dev/null "$S3NBD_TEST_ENDPOINT/" || fatal "S3NBD_TEST_ENDPOINT=$S3NBD_TEST_ENDPOINT does not answer"
fi

pass=0; failn=0; failed=(); ran=0
shopt -s nullglob
tests=(tests/e2e/test-*.sh)
[ ${#tests[@]} -gt 0 ] || fatal "no tests found"
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  [ -z "$FILTER" ] || [[ $name == *"$FILTER"* ]] || continue
  ran=$((ran + 1))
  t0=$(date +%s)
  # --kill-after: a test that ignores SIGTERM is killed; its EXIT trap stops its servers and guests
  timeout --kill-after=30 "$TEST_TIMEOUT" bash "$t" >"$LOGDIR/$name.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t0))
  if [ "$rc" -eq 0 ]; then
    pass=$((pass + 1)); echo "PASS $name (${secs}s)"
    grep -E '\] (figures?|host):' "$LOGDIR/$name.log" | sed 's/^/    | /'
  else
    failn=$((failn + 1)); failed+=("$name")
    why="exit $rc"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after ${TEST_TIMEOUT}s"; fi
    echo "FAIL $name (${secs}s, $why)"
    tail -n 40 "$LOGDIR/$name.log" | sed 's/^/    | /'
  fi
done
[ "$ran" -gt 0 ] || { echo "run-e2e: FATAL: no test matches '$FILTER'" >&2; failn=$((failn + 1)); }
echo "run-e2e: total $(($(date +%s) - start))s"
[ "$failn" -eq 0 ] || echo "run-e2e: failed: ${failed[*]}; full logs in $LOGDIR" >&2
[ "$failn" -ne 0 ] || rm -rf "$LOGDIR"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
