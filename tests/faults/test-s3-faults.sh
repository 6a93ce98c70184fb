#!/bin/bash
# S3 faults: fio (verify=crc32c, nbd engine) writes and reads back a 24 MiB random pattern while
# every S3 request goes through the HAProxy fault front: 10 % 503 SlowDown (Retry-After: 1),
# 5 % 500, 2 % resets, 1 % silent drops, 20 % delayed up to 200 ms. Without and with the cache.
# Every byte must verify, also after a restart straight against S3 (no faults, no cache); the
# client's retries are counted from the nbdkit log (-v). Silent drops cost request-timeout=3.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
SIZE=24m
FIO_JOB=(--rw=randwrite --bs=64k --size=$SIZE --iodepth=8 --verify=crc32c --do_verify=1
         --verify_fatal=1 --randrepeat=1 --randseed=4242)

B=$(new_bucket)
create_volume "$B" nc 64M 256K
create_volume "$B" wc 64M 256K
export S3NBD_DEBUG=1   # the S3 client logs every retry (with nbdkit -v)
faults=0 http_faults=0

check_front() { # the front injected every kind of fault (else the run proves nothing)
  local k n
  for k in slowdown503 internal500 reset drop delay none; do
    n=$(front_count "$k"); log "front $FRONT_PORT: $k $n"
    [ "$n" -gt 0 ] || [ "${FAULTS_ALLOW_NONE:-0}" = 1 ] || fail "the front injected no '$k' fault: the test proves nothing"
  done
  faults=$((faults + $(front_faults)))
  http_faults=$((http_faults + $(front_count slowdown503) + $(front_count internal500)))
}
check_bucket() { # PREFIX: the data as stored in S3, read by a fresh server without faults
  start_server bucket="$B" prefix="$1"
  run_fio "verify-$1" "$SERVER_URI" "${FIO_JOB[@]}" --verify_only
  stop_server
}

# ---- without the cache: every write is a PUT through the faults
start_front "${FAULTS_P503:-10}" "${FAULTS_P500:-5}" "${FAULTS_PRESET:-2}" "${FAULTS_PDROP:-1}" 20 200
start_server -v endpoint="$FRONT_URL" bucket="$B" prefix=nc request-timeout=${FAULTS_REQUEST_TIMEOUT:-3} retry-time=60
run_fio nocache "$SERVER_URI" "${FIO_JOB[@]}"
stop_server
r=$(count_retries "$SERVER_LOG")
stop_front    # no request still in flight through the front when the bucket is checked
check_front
check_bucket nc

# ---- with a cache smaller than the data: writeback and evicted re-reads go through the faults
start_front "${FAULTS_P503:-10}" "${FAULTS_P500:-5}" "${FAULTS_PRESET:-2}" "${FAULTS_PDROP:-1}" 20 200
start_server -v endpoint="$FRONT_URL" bucket="$B" prefix=wc request-timeout=${FAULTS_REQUEST_TIMEOUT:-3} retry-time=60 \
  cache="$T/cache.img" cache-size=8M writeback-delay=100ms
run_fio cache "$SERVER_URI" "${FIO_JOB[@]}"
stop_server   # drains the dirty blocks through the faults
assert_grep 'retrying in' "$SERVER_LOG" "nbdkit log with the cache (retries)"
r2=$(count_retries "$SERVER_LOG")
stop_front
check_front
check_bucket wc

retries=$((r + r2))
log "retries: $r without cache, $r2 with cache; faults injected: $faults"
# every 503/500 made our client retry (a retry is logged per failed attempt); a reset or a drop
# on a reused connection may instead be retried inside libcurl, which reconnects by itself
[ "$retries" -ge "$http_faults" ] || fail "only $retries retries logged for $http_faults injected 503/500"
# how long a silently dropped request stalled before it was retried (request-timeout=3)
drop_ms=$(cat "$T"/nbdkit*.log | grep -oE 'timed out after [0-9]+ milliseconds' | grep -oE '[0-9]+' | sort -n | tail -n 1)
log "a dropped request was retried after at most ${drop_ms:-0} ms"
figure faults_injected "$faults"
figure dropped_request_retry_ms_max "${drop_ms:-0}"
figure retries "$retries"
figure bytes_verified $((4 * 24 * 1048576))
figure bytes_lost 0
log "ok"
