#!/bin/bash
# qemu-img against s3nbd over NBD: `qemu-img convert -n` of a sparse raw image into a volume that
# was full of random data must leave exactly the image's non-zero blocks in the bucket (holes and
# explicit zeros in the image delete objects); `qemu-img compare` through a fresh server finds it
# identical (and notices a one-byte change); `qemu-img map` reports holes (zero:true, data:false)
# everywhere but the non-zero blocks; a qcow2 converted out of the volume compares equal.
# 64 MiB volume, 256 KiB blocks.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/e2e/lib/e2e.sh
source "$REPO/tests/e2e/lib/e2e.sh"

MIB=1048576 BS=262144
SIZE=$((64 * MIB))
B=$(new_bucket)
create_volume "$B" qimg $SIZE $BS

# the image: holes, data in blocks 0, 10-13, 50-51 (unaligned) and 255 (its last byte), and
# 1 MiB of zeros written as data over blocks 100-103
IMG=$T/img.raw
truncate -s $SIZE "$IMG"
put() { dd if="$1" of="$IMG" bs=1 count=0 seek="$2" status=none; dd if="$1" of="$IMG" bs=64K seek="$2" count="$3" conv=notrunc iflag=count_bytes oflag=seek_bytes status=none; }
put /dev/urandom 0 4096
put /dev/urandom $((10 * BS)) $MIB
put /dev/urandom $((50 * BS + 200 * 1024)) $((100 * 1024))
put /dev/zero $((100 * BS)) $MIB
printf '\377' | dd of="$IMG" bs=1 seek=$((SIZE - 1)) conv=notrunc status=none
DATA_BLOCKS=0,10,11,12,13,50,51,255
[ "$(stat -c %s "$IMG")" -eq $SIZE ] || fail "image has the wrong size"

# the volume starts out full of random data: every block is an object
serve_volume "$B" qimg
random_file "$T/noise" $SIZE
nbdcopy "$T/noise" "$SERVER_URI" || fail "filling the volume with nbdcopy failed"
rm -f "$T/noise"
stop_volume
assert_eq $((SIZE / BS)) "$(count_blocks "$B" qimg)" "block objects after filling the volume"

serve_volume "$B" qimg
t0=$(date +%s.%N)
qemu-img convert -n -f raw -O raw "$IMG" "$SERVER_URI" || fail "qemu-img convert into the volume failed"
log "figure: qemu-img convert of the 64 MiB image: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s"
stop_volume
assert_eq 8 "$(count_blocks "$B" qimg)" "block objects after converting the image (its non-zero blocks)"

serve_volume "$B" qimg
qemu-img compare -f raw -F raw "$IMG" "$SERVER_URI" >"$T/compare.log" 2>&1 ||
  { cat "$T/compare.log" >&2; fail "qemu-img compare: the volume differs from the image"; }
cp --sparse=always "$IMG" "$T/changed.raw"
printf 'X' | dd of="$T/changed.raw" bs=1 seek=$((12 * BS + 777)) conv=notrunc status=none
rc=0; qemu-img compare -f raw -F raw "$T/changed.raw" "$SERVER_URI" >"$T/compare2.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "qemu-img compare exit status for an image that differs by one byte"
# qemu-img names the first differing sector
off=$(sed -n 's/^Content mismatch at offset \([0-9]*\)!*$/\1/p' "$T/compare2.log")
{ [ -n "$off" ] && [ "$off" -le $((12 * BS + 777)) ] && [ "$off" -gt $((12 * BS + 777 - 512)) ]; } ||
  { cat "$T/compare2.log" >&2; fail "qemu-img compare does not name the sector changed at $((12 * BS + 777))"; }

qemu-img map --output=json -f raw "$SERVER_URI" >"$T/map.json" || fail "qemu-img map failed"
"$PY" "$E2E_DIR/lib/check-map.py" "$T/map.json" $BS $SIZE $DATA_BLOCKS >&2 ||
  { cat "$T/map.json" >&2; fail "qemu-img map does not show the expected holes and data"; }

qemu-img convert -f raw -O qcow2 "$SERVER_URI" "$T/out.qcow2" || fail "qemu-img convert out of the volume failed"
stop_volume
qemu-img compare -f raw -F qcow2 "$IMG" "$T/out.qcow2" >"$T/compare3.log" 2>&1 ||
  { cat "$T/compare3.log" >&2; fail "the qcow2 converted out of the volume differs from the image"; }
log "ok"
