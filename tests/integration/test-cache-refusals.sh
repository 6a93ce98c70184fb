#!/bin/bash
# A cache file that does not belong to the volume is refused, with a message naming the cache:
# a cache of another volume (UUID), a cache made for another block size (the volume's descriptor
# is given the cache's UUID but a different block size; refused even with discard-bad-cache),
# and a cache whose index region has flipped bytes — refused, then accepted with
# discard-bad-cache=true, which drops the cache and serves the data from S3 (checked byte for
# byte). A refusal leaves the cache file untouched. 16 MiB volumes, 64 KiB blocks.
set -euo pipefail
# shellcheck disable=SC2119  # kill9_server, stop_server_clean, assert_clean_log: default to the last server
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cache.sh
source "$REPO/tests/lib/cache.sh"
B=$(new_bucket)
create_volume "$B" a 16M 64K
create_volume "$B" b 16M 64K
create_volume "$B" x 16M 128K
CACHE=$T/cache-a
MODEL=$T/model
truncate -s 16M "$MODEL"

# volume a fills its cache (flushed and drained: all CLEAN records)
start_server bucket="$B" prefix=a cache="$CACHE" cache-size=8M writeback-delay=0
for i in 0 1 2 3 4 5; do
  "$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" pwrite-random $((i * 1048576 + i * 3333)) 200000 || fail "write $i"
done
stop_server_clean
sum0=$(sha256sum <"$CACHE")

# 1. another volume (UUID)
expect_start_failure "$T/uuid.log" bucket="$B" prefix=b cache="$CACHE"
assert_grep "belongs to volume" "$T/uuid.log" "refusal of another volume's cache"
assert_grep "$CACHE" "$T/uuid.log" "refusal naming the cache file"
assert_eq "$sum0" "$(sha256sum <"$CACHE")" "cache file after the UUID refusal"

# 2. another block size with the same UUID: x's descriptor now claims a's UUID
get_object "$B" a/volume.s3nbd "$T/desc-a" || fail "cannot read a's descriptor"
get_object "$B" x/volume.s3nbd "$T/desc-x" || fail "cannot read x's descriptor"
uuid_a=$(sed -n 's/^uuid //p' "$T/desc-a")
[ -n "$uuid_a" ] || fail "no uuid line in a's descriptor"
sed "s/^uuid .*/uuid $uuid_a/" "$T/desc-x" >"$T/desc-x2"
put_object "$B" x/volume.s3nbd "$T/desc-x2" || fail "cannot rewrite x's descriptor"
for discard in false true; do
  expect_start_failure "$T/bs-$discard.log" bucket="$B" prefix=x cache="$CACHE" discard-bad-cache=$discard
  assert_grep "made for block size 65536, volume has 131072" "$T/bs-$discard.log" "block size refusal (discard-bad-cache=$discard)"
  assert_grep "$CACHE" "$T/bs-$discard.log" "block size refusal naming the cache file"
done
assert_eq "$sum0" "$(sha256sum <"$CACHE")" "cache file after the block size refusals"

# 3. flip bytes inside a used index record (the index starts at 4096, 64-byte records)
rec=$("$PY" - "$CACHE" <<'PY'
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(4096)
    idx = f.read(1 << 20)
for i in range(len(idx) // 64):
    r = idx[i * 64:(i + 1) * 64]
    if r[:4] == b"SNCR" and r[4] in (1, 2):  # a CLEAN or DIRTY record
        print(i)
        break
PY
)
[ -n "$rec" ] || fail "no used record found in the cache index"
printf '\xde\xad' | dd of="$CACHE" bs=1 seek=$((4096 + rec * 64 + 20)) conv=notrunc status=none
log "flipped 2 bytes of index record $rec"
expect_start_failure "$T/corrupt.log" bucket="$B" prefix=a cache="$CACHE"
assert_grep "corrupt cache" "$T/corrupt.log" "refusal of a corrupted cache"
assert_grep "$CACHE" "$T/corrupt.log" "corrupt-cache refusal naming the cache file"
assert_grep "discard.bad.cache" "$T/corrupt.log" "corrupt-cache refusal saying how to override"

start_server bucket="$B" prefix=a cache="$CACHE" cache-size=8M discard-bad-cache=true
assert_grep "discarding it as requested" "$SERVER_LOG" "warning about the discarded cache"
"$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" verify >&2 || fail "data after discarding the cache differs"
stop_server_clean
# the reformatted cache is accepted again without the option, and still serves the same data
start_server bucket="$B" prefix=a cache="$CACHE" cache-size=8M
"$PY" "$REPO/tests/lib/nbd-ops.py" "$SERVER_URI" "$MODEL" verify >&2 || fail "data with the reformatted cache differs"
stop_server_clean
assert_clean_log
log "ok"
