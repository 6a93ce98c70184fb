#!/bin/bash
# A cache much smaller than the working set: 16 MiB cache, 128 MiB of random data written in
# 1 MiB requests and read back (eviction of CLEAN slots, re-fetch from S3), with max-dirty=2M so
# writes must wait for writeback (backpressure) instead of failing. Everything verifies through
# the cache, the cache file never grows beyond its geometry, and the bucket alone (no cache)
# holds the same image. 128 MiB volume, 256 KiB blocks.
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
SIZE=$((128 * 1048576))
B=$(new_bucket)
create_volume "$B" ev 128M 256K
CACHE=$T/cache
random_file "$T/data" $SIZE

start_server bucket="$B" prefix=ev cache="$CACHE" cache-size=16M max-dirty=2M writeback-delay=0 \
  writeback-threads=4 dirty-timeout=60s
timeout 120 nbdcopy --flush "$T/data" "$SERVER_URI" || fail "writing 128 MiB through a 16 MiB cache failed"
cache_len=$(stat -c %s "$CACHE")
[ "$cache_len" -le $((20 * 1048576)) ] || fail "cache file is $cache_len bytes, more than its 16 MiB geometry + metadata"
# every byte back through the cache (mostly misses: the cache holds 1/8 of it)
export_to_file "$SERVER_URI" "$T/back"
cmp "$T/data" "$T/back" || fail "data read back through the small cache differs"
# random re-reads: hits and misses mixed, partial blocks
"$PY" - "$SERVER_URI" "$T/data" <<'PY' || fail "random re-reads differ"
import random, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
data = open(sys.argv[2], "rb").read()
rnd = random.Random(1)
for _ in range(300):
    off = rnd.randrange(len(data) - 300000)
    n = rnd.randrange(1, 300000)
    if h.pread(n, off) != data[off:off + n]:
        sys.exit("random re-read at %d+%d differs" % (off, n))
PY
# overwrite a quarter again (dirty data over evicted blocks), then read all back
dd if=/dev/urandom of="$T/data" bs=1M count=32 seek=48 conv=notrunc status=none
timeout 120 nbdcopy --flush "$T/data" "$SERVER_URI" || fail "second write pass failed"
export_to_file "$SERVER_URI" "$T/back"
cmp "$T/data" "$T/back" || fail "data differs after the second pass"
stop_server_clean
assert_clean_log
assert_eq $((SIZE / 262144)) "$(count_blocks "$B" ev)" "block objects in the bucket"
start_server bucket="$B" prefix=ev
export_to_file "$SERVER_URI" "$T/back"
cmp "$T/data" "$T/back" || fail "the bucket alone (no cache) differs"
stop_server
assert_clean_log
log "ok"
