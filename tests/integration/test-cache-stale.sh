#!/bin/bash
# A stale dirty cache must not be uploaded over another writer's newer data (issue: host A
# crashes with dirty blocks, host B takes the volume over and writes, A restarts). Writer A
# (cache, flush=local, a long writeback-delay so its blocks stay dirty) is killed with -9;
# writer B (no cache) takes the volume over, writes the same blocks and stops; A's restart on
# its cache file is refused with "stale dirty data" naming both sessions, and B's data is
# intact; with discard-stale-cache=true A starts, drops its stale blocks and reads B's data.
# Also: a second server on a cache file that a live server uses is refused, naming its pid.
# 16 MiB volume, 64 KiB blocks.
set -euo pipefail
# shellcheck disable=SC2119  # defaults to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
B=$(new_bucket)
create_volume "$B" st 16M 64K
OPS=$REPO/tests/lib/nbd-ops.py
CACHE=$T/cache
truncate -s 16M "$T/model-a" "$T/model-b"

start_server bucket="$B" prefix=st cache="$CACHE" flush=local writeback-delay=600s
A_PID=$SERVER_PID
# four blocks that are not a sequential stream (blocks 0, 2, 4, 6): a stream's whole blocks
# are uploaded at once, whatever writeback-delay says
for b in 0 2 4 6; do
  "$PY" "$OPS" "$SERVER_URI" "$T/model-a" pwrite-random $((b * 65536)) 65536 || fail "A's write of block $b"
done
# a second server on the same cache file while A serves: refused, naming A
expect_start_failure "$T/second.log" bucket="$B" prefix=st cache="$CACHE" readonly=true
assert_grep "in use by another server .*pid $A_PID" "$T/second.log" "second server on a live cache"
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
[ "$(count_blocks "$B" st)" = 0 ] || fail "A uploaded although its writeback-delay is 600 s"

# B takes over (A's process on this host is gone, so its lease is taken over at once)
start_server bucket="$B" prefix=st
for b in 0 2 4 6; do
  "$PY" "$OPS" "$SERVER_URI" "$T/model-b" pwrite-random $((b * 65536)) 65536 || fail "B's write of block $b"
done
stop_server_clean
[ "$(count_blocks "$B" st)" = 4 ] || fail "B's four blocks are not in the bucket"

expect_start_failure "$T/stale.log" bucket="$B" prefix=st cache="$CACHE" flush=local
assert_grep "stale dirty data: 4 dirty versions" "$T/stale.log" "A's restart on its stale cache"
assert_grep "discard-stale-cache=true" "$T/stale.log" "the message names the way out"
start_server bucket="$B" prefix=st readonly=true
"$PY" "$OPS" "$SERVER_URI" "$T/model-b" verify >&2 || fail "B's data changed after A's refused restart"
stop_server

start_server bucket="$B" prefix=st cache="$CACHE" discard-stale-cache=true
assert_grep "dropping stale dirty data as requested" "$SERVER_LOG" "discard-stale-cache"
"$PY" "$OPS" "$SERVER_URI" "$T/model-b" verify >&2 || fail "reads after discarding the stale cache"
stop_server_clean
start_server bucket="$B" prefix=st readonly=true
"$PY" "$OPS" "$SERVER_URI" "$T/model-b" verify >&2 || fail "the bucket after discarding the stale cache"
stop_server
log "stale cache refused, then dropped on request; B's data intact"
