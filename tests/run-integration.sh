#!/bin/bash
# Runs every tests/integration/test-*.sh against a real Ceph RGW and a real nbdkit with our plugin.
# Starts RGW once (tests/lib/rgw-start.sh) unless S3NBD_TEST_ENDPOINT names a running S3 server,
# runs each test under a timeout, prints "PASS name (Ns)" or "FAIL name" plus the failing log
# tail, then one line "N passed, N failed". Exit status is non-zero if anything failed.
#   tests/run-integration.sh [NAME_FILTER]     e.g. tests/run-integration.sh roundtrip
# env: S3NBD_BUILD (build), S3NBD_TEST_ENDPOINT, TEST_TIMEOUT (300 s per test), RGW_* (rgw-start.sh)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${1:-}

if [ "$(id -u)" != 0 ]; then
  echo "run-integration: FATAL: must run as root (the ext4 test needs nbdfuse, loop devices and mount)" >&2
  exit 1
fi

# shellcheck source=tests/lib/runner.sh
source tests/lib/runner.sh
runner_init run-integration s3nbd-itest
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
runner_start_rgw
runner_run_tests "tests/integration/test-*.sh" "$FILTER" "$TEST_TIMEOUT"
runner_finish
