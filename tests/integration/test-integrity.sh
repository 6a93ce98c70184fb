#!/bin/bash
# Damaged objects fail the read with EIO and a log line naming volume, block and cause — never
# zeros, never garbage: garbage, a truncated copy, another block's object, another volume's
# object, a flipped payload bit, an object deleted while served (never zeros); on a plain and on
# a zstd volume. The same block's OLDER
# object is not detected yet (needs the cache's generation index): the test checks that the
# header generations that will detect it increase.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
BS=65536
key() { printf '%s/b/%016x' "$1" "$2"; }   # PREFIX BLOCK
IMG=$T/in.img
truncate -s 4M "$IMG"
dd if=/dev/urandom of="$IMG" bs=$BS count=8 conv=notrunc status=none           # blocks 0-7 random
{ yes 'compressible text for zstd' || true; } | head -c $((8 * BS)) | dd of="$IMG" bs=$BS seek=8 conv=notrunc status=none

read_block() { # URI BLOCK -> exit status of a pread of that block
  nbdsh -u "$1" -c "h.pread($BS, $2 * $BS)" >"$T/read.log" 2>&1
}
expect_eio() { # URI LOG PREFIX BLOCK CAUSE
  local uri=$1 logf=$2 p=$3 blk=$4 cause=$5
  if read_block "$uri" "$blk"; then fail "$p block $blk ($cause): the read succeeded"; fi
  assert_grep "Input/output error|EIO" "$T/read.log" "$p block $blk: error seen by the client"
  assert_grep "volume $B/$p.*block $blk: .*$cause" "$logf" "$p block $blk: nbdkit log names volume, block and cause"
}

for p in plain zstd; do
  extra=(); [ "$p" = zstd ] && extra=(--compress zstd:3)
  create_volume "$B" "$p" 4M $BS "${extra[@]}"
  create_volume "$B" "other-$p" 4M $BS "${extra[@]}"
  start_server bucket="$B" prefix="$p"
  nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into $p failed"
  stop_server
  start_server bucket="$B" prefix="other-$p"
  nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into other-$p failed"
  stop_server
  get_object "$B" "$(key "$p" 9)" "$T/b9" || fail "get block 9"
  if [ "$p" = zstd ]; then
    [ "$(stat -c %s "$T/b9")" -lt $((BS / 4)) ] || fail "zstd volume: block 9 object is not compressed"
  else
    [ "$(stat -c %s "$T/b9")" -eq $((BS + 48)) ] || fail "plain volume: block 9 object size"
  fi

  # damage blocks 1-5 and 10
  head -c 1000 /dev/urandom >"$T/garbage"; put_object "$B" "$(key "$p" 1)" "$T/garbage"
  get_object "$B" "$(key "$p" 2)" "$T/o"; head -c 30000 "$T/o" >"$T/trunc"; put_object "$B" "$(key "$p" 2)" "$T/trunc"
  get_object "$B" "$(key "$p" 4)" "$T/o"; put_object "$B" "$(key "$p" 3)" "$T/o"           # block 4's object at 3
  get_object "$B" "$(key "other-$p" 5)" "$T/o"; put_object "$B" "$(key "$p" 5)" "$T/o"     # other volume's block 5
  get_object "$B" "$(key "$p" 10)" "$T/o"
  "$PY" -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[60] ^= 0x10; open(sys.argv[1], 'wb').write(b)" "$T/o"
  put_object "$B" "$(key "$p" 10)" "$T/o"

  start_server bucket="$B" prefix="$p" readonly=true
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 1 "bad magic"
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 2 "truncated"
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 3 "misplaced object: it holds block 4"
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 5 "another volume"
  if [ "$p" = zstd ]; then cause="checksum mismatch|decompress"; else cause="checksum mismatch"; fi
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 10 "$cause"
  # the undamaged blocks still read correctly (positive control)
  for blk in 0 6 9 11; do
    nbdsh -u "$SERVER_URI" -c "import sys; sys.stdout.buffer.write(h.pread($BS, $blk * $BS))" >"$T/got" ||
      fail "$p block $blk: an undamaged block does not read"
    dd if="$IMG" bs=$BS skip=$blk count=1 status=none | cmp - "$T/got" || fail "$p block $blk: wrong data"
  done
  # an object that vanishes while served (present at open, then deleted behind the server's back)
  delete_object "$B" "$(key "$p" 12)" || fail "delete block 12"
  expect_eio "$SERVER_URI" "$SERVER_LOG" "$p" 12 "object vanished: present at open.*GET returned 404"
  stop_server
done

# an older object of the same block: not detected yet without a cache (docs/format.md,
# "Replay"); the write generation that will detect it increases from write to write
start_server bucket="$B" prefix=plain
nbdsh -u "$SERVER_URI" -c "h.pwrite(b'A' * $BS, 7 * $BS)" || fail "write v1"
get_object "$B" "$(key plain 7)" "$T/v1"
nbdsh -u "$SERVER_URI" -c "h.pwrite(b'B' * $BS, 7 * $BS)" || fail "write v2"
get_object "$B" "$(key plain 7)" "$T/v2"
stop_server
gen() { od -An -t u8 -j 16 -N 8 "$1" | tr -d ' '; }
g1=$(gen "$T/v1"); g2=$(gen "$T/v2")
[ "$g1" -gt 0 ] && [ "$g2" -gt "$g1" ] || fail "write generations do not increase: v1 $g1, v2 $g2"
log "ok"
