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

# shellcheck source=tests/lib/runner.sh
source tests/lib/runner.sh
runner_init run-faults s3nbd-faults
export FAULTS_FIGURES=$LOGDIR/figures
: >"$FAULTS_FIGURES"
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
runner_start_rgw
suite_start=$(date +%s)
runner_run_tests "tests/faults/test-*.sh" "$FILTER" "$TEST_TIMEOUT"

# figures: "key value" lines; keys ending in _max keep the largest value, the others add up
echo "---- reliability figures (${ran} tests, $(( $(date +%s) - suite_start ))s)"
awk '{ if ($1 ~ /_max$/) { if (!($1 in v) || $2 > v[$1]) v[$1] = $2 } else v[$1] += $2 }
     END { for (k in v) printf "  %-30s %s\n", k, v[k] }' "$FAULTS_FIGURES" | sort
lost=$(awk '$1 == "bytes_lost" {s += $2} END {print s + 0}' "$FAULTS_FIGURES")
if [ "$lost" -ne 0 ]; then echo "run-faults: $lost bytes LOST" >&2; fi
runner_finish
