#!/bin/bash
# Data written with nbdcopy comes back identical through a NEW server process; only non-zero
# blocks are stored as objects; nbdinfo --map reports the absent blocks as hole,zero.
# Two volumes: 64 MiB with 1 MiB blocks and 64 MiB with 64 KiB blocks.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
LIB=$REPO/tests/lib
MiB=1048576

B=$(new_bucket)

# a 64 MiB image with holes: random 1 MiB chunks at a few offsets, a partial-block chunk at an
# unaligned offset, a chunk straddling a 1 MiB boundary, zeros elsewhere
IMG=$T/in.img
truncate -s 64M "$IMG"
for mib in 0 3 4 17 40 63; do
  dd if=/dev/urandom of="$IMG" bs=1M seek="$mib" count=1 conv=notrunc status=none
done
dd if=/dev/urandom of="$IMG" bs=1 seek=$((30 * MiB + 12345)) count=3000 conv=notrunc status=none
dd if=/dev/urandom of="$IMG" bs=1 seek=$((50 * MiB - 70000)) count=140000 conv=notrunc status=none

roundtrip() { # PREFIX BLOCKSIZE
  local prefix=$1 bs=$2 want got
  log "volume $prefix, block size $bs"
  create_volume "$B" "$prefix" 64M "$bs"
  assert_eq 0 "$(count_blocks "$B" "$prefix")" "block objects of a fresh volume"

  start_server bucket="$B" prefix="$prefix"
  assert_eq $((64 * MiB)) "$(nbd_size "$SERVER_URI")" "export size"
  nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into the volume failed"
  stop_server

  want=$("$PY" "$LIB/nbd-blocks.py" count "$IMG" "$bs")
  got=$(count_blocks "$B" "$prefix")
  assert_eq "$want" "$got" "block objects after writing ($prefix, bs $bs) = non-zero blocks of the image"
  [ "$want" -gt 0 ] || fail "test image has no data"

  start_server bucket="$B" prefix="$prefix"    # a new process: nothing can come from its memory
  rm -f "$T/out.img"
  nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy out of the volume failed"
  cmp "$IMG" "$T/out.img" || fail "data read back through a new server differs ($prefix)"
  nbdinfo --map --json "$SERVER_URI" >"$T/map.json" || fail "nbdinfo --map failed"
  "$PY" "$LIB/nbd-blocks.py" check-map "$IMG" "$bs" <"$T/map.json" >&2 ||
    fail "nbdinfo --map does not match the image's holes ($prefix): $(head -c 800 "$T/map.json")"
  stop_server
}

roundtrip vol1m $((1 * MiB))
roundtrip vol64k 65536

# the two volumes share a bucket but not keys
assert_eq "$("$PY" "$LIB/nbd-blocks.py" count "$IMG" $MiB)" "$(count_blocks "$B" vol1m)" "vol1m untouched by vol64k"
log "ok"
