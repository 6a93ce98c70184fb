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
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
FILTER=${1:-}

# shellcheck source=tests/lib/runner.sh
source tests/lib/runner.sh
runner_init run-e2e s3nbd-e2e
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw-e2e}
fatal() { runner_fatal "$@"; }
# A passing test's figures are printed under its PASS line.
print_figures() { grep -E '\] (figures?|host):' "$LOGDIR/$1.log" | sed 's/^/    | /'; }

start=$(date +%s)
export S3NBD_E2E_KIT=$LOGDIR/kit
bash tests/e2e/lib/guest-kit.sh "$S3NBD_E2E_KIT" >"$LOGDIR/guest-kit.log" 2>&1 ||
  { cat "$LOGDIR/guest-kit.log" >&2; fatal "building the guest kit failed; no tests were run"; }
echo "$(tail -n 1 "$LOGDIR/guest-kit.log") ($(($(date +%s) - start))s)"

runner_start_rgw
runner_run_tests "tests/e2e/test-*.sh" "$FILTER" "$TEST_TIMEOUT" print_figures
echo "run-e2e: total $(($(date +%s) - start))s"
runner_finish
