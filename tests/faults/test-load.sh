#!/bin/bash
# Under load: 8 fio jobs, each on its own NBD connection and its own 16 MiB region, write 4-256 KiB
# blocks at random with crc32c verification interleaved (verify_backlog) for LOAD_SECONDS
# (default 100 s) while the cache (16 MiB for a 128 MiB working set) evicts and writes back.
# No errors, every verify passes, the data verifies again from the bucket alone, and nbdkit's
# memory stays bounded: peak RSS (VmHWM) below LOAD_RSS_LIMIT_MB (default 768).
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
SECS=${LOAD_SECONDS:-100}
LIMIT_MB=${LOAD_RSS_LIMIT_MB:-768}
B=$(new_bucket)
create_volume "$B" ld 256M 64K
start_server bucket="$B" prefix=ld cache="$T/cache.img" cache-size=16M writeback-delay=200ms
JOB=(--numjobs=8 --size=16m --offset_increment=16m --bsrange=4k-256k --bs_unaligned=0 --rw=randwrite
     --iodepth=4 --verify=crc32c --verify_backlog=16 --verify_fatal=1 --randrepeat=1 --group_reporting)
( while kill -0 "$SERVER_PID" 2>/dev/null; do vm_hwm "$SERVER_PID" >>"$T/rss" 2>/dev/null || true; sleep 5; done ) &
SAMPLER=$!
on_exit "kill $SAMPLER"
FIO_TIMEOUT=$((SECS + 240)) run_fio load "$SERVER_URI" "${JOB[@]}" --runtime="$SECS" --time_based
peak=$(vm_hwm "$SERVER_PID")
written=$(grep -oE 'WRITE: bw=[^,]*, [^,]*, io=[0-9.]+[KMG]i?B' "$T/fio-load.out" | head -n 1)
log "fio: $written; $(grep -oE 'READ: bw=[^,]*, [^,]*, io=[0-9.]+[KMG]i?B' "$T/fio-load.out" | head -n 1)"
log "nbdkit RSS samples (kB): $(tr '\n' ' ' <"$T/rss")"
log "nbdkit peak RSS: $peak kB (limit $LIMIT_MB MiB)"
[ "$peak" -lt $((LIMIT_MB * 1024)) ] || fail "nbdkit peak RSS $peak kB above $LIMIT_MB MiB"
grep -q 'err= 0' "$T/fio-load.out" || fail "fio reported errors"
stop_server
# every region read back from the bucket alone: each block object must decode (header, checksum)
start_server bucket="$B" prefix=ld
run_fio load-check "$SERVER_URI" --numjobs=8 --size=16m --offset_increment=16m --rw=read --bs=1m \
  --iodepth=4 --group_reporting
stop_server
io=$(sed -n 's/.*io=\([0-9.]*\)\([KMG]\)i\{0,1\}B.*/\1 \2/p' <<<"$written" | head -n 1)
bytes=$(awk -v n="${io% *}" -v u="${io#* }" 'BEGIN { m = (u == "K") ? 1024 : (u == "M") ? 1048576 : 1073741824; printf "%d", n * m }')
figure peak_rss_kb_max "$peak"
figure bytes_verified "$bytes"
figure load_connections 8
log "ok"
