#!/bin/bash
# Shared by the test runners (tests/run-integration.sh, tests/e2e/run-e2e.sh,
# tests/faults/run-faults.sh): a log dir, Ceph RGW started once (unless S3NBD_TEST_ENDPOINT names
# a running S3 server) and stopped on exit, each test under a timeout with PASS/FAIL lines and
# the failing log tail, and the closing "N passed, N failed" line. Sourced from the repo root.
#   runner_init NAME LOGPREFIX      sets RUNNER, LOGDIR; installs the exit trap
#   runner_start_rgw                 RGW or the given endpoint; exports S3NBD_TEST_ENDPOINT
#   runner_run_tests GLOB FILTER TIMEOUT [PASS_HOOK]   PASS_HOOK NAME runs after each pass
#   runner_finish                    summary line; returns non-zero if anything failed

runner_fatal() { echo "$RUNNER: FATAL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

_runner_cleanup() {
  [ "$STARTED_RGW" = 1 ] || return 0
  if [ "${KEEP_RGW:-0}" = 1 ]; then
    echo "$RUNNER: RGW left running at $S3NBD_TEST_ENDPOINT (stop: tests/lib/rgw-stop.sh)"
  else
    bash "$REPO/tests/lib/rgw-stop.sh"
  fi
}

runner_init() {
  RUNNER=$1
  REPO=$PWD
  LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
  STARTED_RGW=0
  pass=0; failn=0; failed=(); ran=0
  trap _runner_cleanup EXIT
  trap 'exit 130' INT TERM
}

runner_start_rgw() {
  if [ -z "${S3NBD_TEST_ENDPOINT:-}" ]; then
    if ! timeout 300 bash tests/lib/rgw-start.sh >"$LOGDIR/rgw-start.log" 2>&1; then
      cat "$LOGDIR/rgw-start.log" >&2
      runner_fatal "Ceph RGW did not start; no tests were run"
    fi
    STARTED_RGW=1
    cat "$LOGDIR/rgw-start.log"
    export S3NBD_TEST_ENDPOINT=http://127.0.0.1:${RGW_PORT:-9180}
  else
    curl -s -m 10 -o /dev/null "$S3NBD_TEST_ENDPOINT/" ||
      runner_fatal "S3NBD_TEST_ENDPOINT=$S3NBD_TEST_ENDPOINT does not answer"
  fi
}

runner_run_tests() {
  local glob=$1 filter=$2 limit=$3 hook=${4:-} t name start rc secs why
  local tests
  shopt -s nullglob
  # shellcheck disable=SC2206  # the glob is ours
  tests=($glob)
  [ ${#tests[@]} -gt 0 ] || runner_fatal "no tests found"
  for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    [ -z "$filter" ] || [[ $name == *"$filter"* ]] || continue
    ran=$((ran + 1))
    start=$(date +%s)
    # --kill-after: a test that ignores SIGTERM is killed; its EXIT trap stops what it started
    timeout --kill-after=30 "$limit" bash "$t" >"$LOGDIR/$name.log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
      pass=$((pass + 1)); echo "PASS $name (${secs}s)"
      [ -z "$hook" ] || "$hook" "$name"
    else
      failn=$((failn + 1)); failed+=("$name")
      why="exit $rc"
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after ${limit}s"; fi
      echo "FAIL $name (${secs}s, $why)"
      tail -n 40 "$LOGDIR/$name.log" | sed 's/^/    | /'
    fi
  done
  [ "$ran" -gt 0 ] || { echo "$RUNNER: FATAL: no test matches '$filter'" >&2; failn=$((failn + 1)); }
}

runner_finish() {
  [ "$failn" -eq 0 ] || echo "$RUNNER: failed: ${failed[*]}; full logs in $LOGDIR" >&2
  [ "$failn" -ne 0 ] || rm -rf "$LOGDIR"
  echo "$pass passed, $failn failed"
  [ "$failn" -eq 0 ]
}
