#!/bin/bash
# NBD trim and write-zeroes of whole blocks delete their objects and read back as zeros; partial
# zeroing keeps the rest of the block; a full block written with zero bytes deletes its object.
# 4 MiB volume, 64 KiB blocks (64 blocks); every step is also applied to a local model file.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
OPS=$REPO/tests/lib/nbd-ops.py
K=65536

B=$(new_bucket)
P=tz
create_volume "$B" "$P" 4M 64K
start_server bucket="$B" prefix="$P"
MODEL=$T/model.img
truncate -s 4M "$MODEL"
op() { "$PY" "$OPS" "$SERVER_URI" "$MODEL" "$@" || fail "nbd op '$*' failed"; }
blocks() { count_blocks "$B" "$P"; }

op pwrite-random 0 $((64 * K))             # fill every block
op verify
assert_eq 64 "$(blocks)" "objects after filling the volume"

op trim 0 $((4 * K))                        # blocks 0-3
op expect-zeros 0 $((4 * K))
assert_eq 60 "$(blocks)" "objects after trimming blocks 0-3"

op zero $((16 * K)) $((2 * K))              # blocks 16-17
op expect-zeros $((16 * K)) $((2 * K))
assert_eq 58 "$(blocks)" "objects after write-zeroes of blocks 16-17"

op zero $((32 * K + 100)) 1000              # inside block 32: the block keeps its object
assert_eq 58 "$(blocks)" "objects after zeroing 1000 bytes inside block 32"
op expect-zeros $((32 * K + 100)) 1000
op verify                                   # ...and the rest of block 32 is intact

# unaligned range: tail of block 47, all of block 48, head of block 49
op zero $((48 * K - 1000)) $((K + 2000))
assert_eq 57 "$(blocks)" "objects after zeroing a range covering block 48 and edges of 47 and 49"

op trim-lax $((8 * K + 5)) $((K - 10))      # trim inside block 8: the rest of block 8 survives
op verify
assert_eq 57 "$(blocks)" "objects after a partial-block trim"

op pwrite-zeros $((60 * K)) "$K"            # a whole block of zero bytes, written with pwrite
assert_eq 56 "$(blocks)" "objects after writing an all-zero block 60"

op pwrite-random $((2 * K)) 10              # writing into a trimmed block brings its object back
assert_eq 57 "$(blocks)" "objects after writing 10 bytes into trimmed block 2"
op verify

# everything again through a new server process
stop_server
start_server bucket="$B" prefix="$P"
op verify
log "ok"
