#!/bin/bash
# --key-layout hashed: data round-trips through a new server, and block objects are stored as
# PREFIX/h/XXXX/XXXXXXXXXXXXXXXX (4 + 16 lowercase hex digits), none under PREFIX/b/.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
LIB=$REPO/tests/lib
B=$(new_bucket)
create_volume "$B" hv 16M 64K --key-layout hashed
run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix hv >"$T/info" || fail "s3nbd info failed"
assert_grep '^key-layout: hashed$' "$T/info" "s3nbd info"

IMG=$T/in.img
truncate -s 16M "$IMG"
for blk in 0 1 7 100 255; do
  dd if=/dev/urandom of="$IMG" bs=64K seek="$blk" count=1 conv=notrunc status=none
done
dd if=/dev/urandom of="$IMG" bs=1 seek=$((3 * 1048576 + 333)) count=5000 conv=notrunc status=none

start_server bucket="$B" prefix=hv
nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy in failed"
stop_server
start_server bucket="$B" prefix=hv
rm -f "$T/out.img"
nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy out failed"
cmp "$IMG" "$T/out.img" || fail "data read back differs"
stop_server

want=$("$PY" "$LIB/nbd-blocks.py" count "$IMG" 65536)
list_keys "$B" hv/h/ >"$T/keys"
assert_eq "$want" "$(grep -c . "$T/keys" || true)" "objects under hv/h/ (= non-zero 64K blocks)"
bad=$(grep -cvE '^hv/h/[0-9a-f]{4}/[0-9a-f]{16}$' "$T/keys" || true)
assert_eq 0 "$bad" "keys not of the form hv/h/xxxx/<16 hex>: $(grep -vE '^hv/h/[0-9a-f]{4}/[0-9a-f]{16}$' "$T/keys" | head -3 | tr '\n' ' ')"
# each written block number appears exactly once, as its 16-hex-digit name
for blk in 0 1 7 48 100 255; do
  assert_eq 1 "$(grep -c "/$(printf '%016x' "$blk")\$" "$T/keys" || true)" "objects for block $blk"
done
# the hash spreads blocks over more than one directory
assert_ne 1 "$(cut -d/ -f3 "$T/keys" | sort -u | wc -l)" "distinct h/xxxx/ directories"
assert_eq 0 "$(count_keys "$B" hv/b/)" "objects under hv/b/ (flat layout must not be used)"
log "ok"
