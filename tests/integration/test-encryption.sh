#!/bin/bash
# Encrypted volumes (AES-256-GCM, here with zstd): data round-trips through a new server; no
# plaintext in the bucket (a known pattern is found in a plain volume's objects, not in the
# encrypted one's); a wrong or missing passphrase is refused before any block I/O and takes no
# lease; mismatching codec options are refused; 's3nbd passwd' changes the passphrase (old one
# then refused, data intact); another block's or volume's object fails with EIO; an all-zero
# block is stored as no object at all.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
BS=65536
key() { printf '%s/b/%016x' "$1" "$2"; }
printf 'first passphrase\n' >"$T/pass1"
printf 'second passphrase\n' >"$T/pass2"
printf 'not the passphrase\n' >"$T/wrong"
MARK=S3NBD-KNOWN-PLAINTEXT-MARKER

IMG=$T/in.img
truncate -s 4M "$IMG"
{ yes "$MARK" || true; } | head -c $((16 * BS)) | dd of="$IMG" conv=notrunc status=none   # blocks 0-15
dd if=/dev/urandom of="$IMG" bs=$BS seek=20 count=4 conv=notrunc status=none              # 20-23

create_volume "$B" enc 4M $BS --encrypt --passphrase-file "$T/pass1" --compress zstd
create_volume "$B" enc2 4M $BS --encrypt --passphrase-file "$T/pass1"
create_volume "$B" plain 4M $BS
run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix enc >"$T/info" || fail "s3nbd info"
assert_grep '^encryption: aes-256-gcm$' "$T/info" "info of the encrypted volume"
assert_grep '^compression: zstd$' "$T/info" "info of the encrypted volume"

for p in enc enc2; do
  start_server bucket="$B" prefix=$p passphrase-file="$T/pass1"
  nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into $p failed"
  stop_server
done
start_server bucket="$B" prefix=plain
nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into plain failed"
stop_server
assert_eq 20 "$(count_blocks "$B" enc)" "block objects of enc (all-zero blocks are not stored)"

# no plaintext in the bucket: fetch every object of each volume and grep the marker
scan() { # PREFIX -> number of objects containing the marker
  local n=0 k
  for k in $(list_keys "$B" "$1/"); do
    get_object "$B" "$k" "$T/obj" || fail "get $k"
    if grep -qa "$MARK" "$T/obj"; then n=$((n + 1)); fi
  done
  echo "$n"
}
[ "$(scan plain)" -ge 16 ] || fail "positive control: the marker is not found in the plain volume's objects"
assert_eq 0 "$(scan enc)" "objects of the encrypted volume containing the plaintext marker"
assert_eq 0 "$(scan enc2)" "objects of the encrypted uncompressed volume containing the plaintext marker"

# reads back through a new server
start_server bucket="$B" prefix=enc passphrase-file="$T/pass1" readonly=true
rm -f "$T/out.img"; nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy out of enc failed"
cmp "$IMG" "$T/out.img" || fail "encrypted volume: data read back differs"
stop_server

# refusals before any block I/O: no lease object appears, nothing changes
before=$(list_keys "$B" enc/ | sort)
refused() { # NAME PATTERN ARGS...
  local name=$1 pat=$2; shift 2
  log "refused: $name"
  expect_start_failure "$T/$name.log" "$@"
  assert_grep "$pat" "$T/$name.log" "message for $name"
  object_exists "$B" enc/lease.s3nbd && fail "$name: a lease object was written"
  assert_eq "$before" "$(list_keys "$B" enc/ | sort)" "objects of enc after $name"
}
refused wrong-pass "volume $B/enc: wrong passphrase" bucket="$B" prefix=enc passphrase-file="$T/wrong"
grep -qiE "pread|block [0-9]" "$T/wrong-pass.log" && fail "wrong passphrase: block I/O was attempted"
refused no-pass "encrypted.*passphrase-file=PATH is required" bucket="$B" prefix=enc
refused missing-file "$T/nope" bucket="$B" prefix=enc passphrase-file="$T/nope"
refused plain-with-pass "not encrypted" bucket="$B" prefix=plain passphrase-file="$T/pass1"
refused compress-mismatch "created with compression none" bucket="$B" prefix=plain compress=zstd
# the level may differ from the recorded one (it only affects new writes)
start_server bucket="$B" prefix=enc passphrase-file="$T/pass1" compress=zstd:9 readonly=true
stop_server

# passwd: wrong old passphrase refused; then old refused, new accepted, data intact
rc=0; run_s3nbd passwd --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix enc \
  --passphrase-file "$T/wrong" --new-passphrase-file "$T/pass2" >"$T/pw0.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of passwd with a wrong old passphrase"
assert_grep "wrong passphrase" "$T/pw0.log" "passwd with a wrong old passphrase"
run_s3nbd passwd --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix enc \
  --passphrase-file "$T/pass1" --new-passphrase-file "$T/pass2" >"$T/pw.log" 2>&1 || { cat "$T/pw.log"; fail "passwd"; }
assert_eq "$before" "$(list_keys "$B" enc/ | sort)" "objects after passwd (only the descriptor is rewritten)"
refused old-pass-after-passwd "wrong passphrase" bucket="$B" prefix=enc passphrase-file="$T/pass1"
start_server bucket="$B" prefix=enc passphrase-file="$T/pass2"
rm -f "$T/out.img"; nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy after passwd failed"
cmp "$IMG" "$T/out.img" || fail "data after passwd differs"
# an all-zero write deletes the object: absence reveals nothing beyond "absent"
nbdsh -u "$SERVER_URI" -c "h.pwrite(bytes($BS), 21 * $BS)" || fail "zero write"
object_exists "$B" "$(key enc 21)" && fail "an all-zero block of an encrypted volume is stored"
stop_server

# moved objects: another block's, another encrypted volume's (same passphrase, other key)
get_object "$B" "$(key enc 3)" "$T/o"; put_object "$B" "$(key enc 4)" "$T/o"
get_object "$B" "$(key enc2 5)" "$T/o"; put_object "$B" "$(key enc 5)" "$T/o"
get_object "$B" "$(key plain 6)" "$T/o"; put_object "$B" "$(key enc 6)" "$T/o"    # planted plain object
start_server bucket="$B" prefix=enc passphrase-file="$T/pass2" readonly=true
for c in "4:misplaced object: it holds block 3" "5:another volume" "6:codec flags|not encrypted"; do
  blk=${c%%:*} cause=${c#*:}
  if nbdsh -u "$SERVER_URI" -c "h.pread($BS, $blk * $BS)" >"$T/r.log" 2>&1; then fail "block $blk read succeeded"; fi
  assert_grep "volume $B/enc.*block $blk: .*($cause)" "$SERVER_LOG" "log for moved object at block $blk"
done
stop_server
log "ok"
