#!/bin/bash
# s3nbd fsck: a clean volume passes (exit 0); planted problems — a garbage block object, an
# orphan key, a block beyond the volume, an all-zero block encoded with the real codec — are each
# reported (exit 1); --repair deletes the safe ones but keeps the corrupt block; --repair
# --delete-corrupt deletes it; good blocks are untouched throughout. A volume nested under the
# prefix (outer/inner) is never taken for orphans, and --repair is refused while a writer
# (here: one on another host) holds the lease, until --force.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

B=$(new_bucket)
write_conf f1 "$B" f1
expect_rc 0 run_s3nbd create f1 --size 1M --block-size 64K     # 16 blocks
serve_volume f1
random_file "$T/data" 262144                                    # blocks 0-3
nbdcopy "$T/data" "$(uri_of "$S3NBD_RUN_DIR/f1.sock")" || fail "nbdcopy failed"
expect_rc 0 run_s3nbd stop f1

expect_rc 0 run_s3nbd fsck f1
assert_grep "4 blocks checked, 0 problems found" "$T/out" "clean fsck"

uuid=$(uuid_of f1)
[ -n "$uuid" ] || fail "no uuid from s3nbd info"
echo "not an s3nbd object" >"$T/garbage"
put_object "$B" f1/b/0000000000000001 "$T/garbage"              # corrupt block 1
put_object "$B" f1/notes.txt "$T/garbage"                        # orphan
head -c 65536 /dev/zero | "$ENCODE_BLOCK" "$uuid" 65536 5 >"$T/zero5" || fail "encode-block failed"
put_object "$B" f1/b/0000000000000005 "$T/zero5"                 # all-zero block 5
head -c 65536 /dev/urandom | "$ENCODE_BLOCK" "$uuid" 65536 64 >"$T/b64"
put_object "$B" f1/b/0000000000000040 "$T/b64"                   # block 64 of a 16-block volume

expect_rc 1 run_s3nbd fsck f1 --jobs 3
assert_grep "^corrupt: block 1 \(f1/b/0000000000000001\): .*block 1" "$T/out" "corrupt block report"
assert_grep "^orphan: f1/notes\.txt" "$T/out" "orphan report"
assert_grep "^zero: block 5 \(f1/b/0000000000000005\)" "$T/out" "all-zero block report"
assert_grep "^out-of-range: block 64 \(f1/b/0000000000000040\): the volume has 16 blocks" "$T/out" "out-of-range report"
assert_grep "4 problems found, 4 remain" "$T/out" "fsck summary"
object_exists "$B" f1/notes.txt || fail "fsck without --repair deleted something"

expect_rc 2 run_s3nbd fsck f1 --delete-corrupt
expect_rc 1 run_s3nbd fsck f1 --repair
assert_grep "repaired: deleted 3 objects" "$T/out" "repair count"
! object_exists "$B" f1/notes.txt || fail "orphan not deleted by --repair"
! object_exists "$B" f1/b/0000000000000005 || fail "all-zero block not deleted by --repair"
! object_exists "$B" f1/b/0000000000000040 || fail "out-of-range block not deleted by --repair"
object_exists "$B" f1/b/0000000000000001 || fail "--repair deleted the corrupt block without --delete-corrupt"

expect_rc 0 run_s3nbd fsck f1 --repair --delete-corrupt
! object_exists "$B" f1/b/0000000000000001 || fail "corrupt block not deleted by --delete-corrupt"
expect_rc 0 run_s3nbd fsck f1
assert_grep "3 blocks checked, 0 problems found" "$T/out" "fsck after repair"

# the good blocks survived: 0, 2, 3 read back; block 1 (deleted corrupt) reads as zeros
serve_volume f1
nbdcopy "$(uri_of "$S3NBD_RUN_DIR/f1.sock")" "$T/back" || fail "nbdcopy back failed"
expect_rc 0 run_s3nbd stop f1
cmp <(head -c 65536 "$T/back") <(head -c 65536 "$T/data") || fail "block 0 changed"
cmp <(head -c 131072 "$T/back" | tail -c 65536) <(head -c 65536 /dev/zero) || fail "block 1 is not zeros"
cmp <(head -c 262144 "$T/back" | tail -c 131072) <(tail -c 131072 "$T/data") || fail "blocks 2-3 changed"
# a volume nested under another one's prefix: fsck --repair of the outer one leaves it whole
create_volume "$B" outer 1M 64K
create_volume "$B" outer/inner 1M 64K --key-layout hashed
start_server bucket="$B" prefix=outer/inner
nbdcopy "$T/data" "$SERVER_URI" || fail "nbdcopy into outer/inner failed"
stop_server
inner_before=$(count_keys "$B" outer/inner/)
[ "$inner_before" -ge 5 ] || fail "outer/inner holds only $inner_before objects"
put_object "$B" outer/stray "$T/garbage"                          # a real orphan of outer
expect_rc 1 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer
assert_grep "^other-volume: outer/inner/" "$T/out" "nested volume reported as such"
! grep -q "^orphan: outer/inner/" "$T/out" || fail "fsck calls the nested volume's objects orphans"
assert_grep "^orphan: outer/stray" "$T/out" "outer's own orphan"
expect_rc 0 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer --repair
assert_grep "repaired: deleted 1 objects" "$T/out" "only outer's orphan deleted"
assert_eq "$inner_before" "$(count_keys "$B" outer/inner/)" "objects of outer/inner after fsck --repair of outer"
expect_rc 0 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer/inner
assert_grep "4 blocks checked, 0 problems found" "$T/out" "the nested volume is intact"

# --repair while a writer on another host holds the lease: refused, until --force
now=$(date +%s)
printf 's3nbd-lease 1\nhost far-host\npid 4242\nstarted 2026-01-01T00:00:00Z\ntoken 00ff\nexpires %s\nseconds 60\n' \
  "$((now + 60))" >"$T/lease"
put_object "$B" outer/lease.s3nbd "$T/lease"
put_object "$B" outer/stray "$T/garbage"
expect_rc 1 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer --repair
assert_grep "a writer holds the lease: host far-host pid 4242 .*expires at .*--force" "$T/out" "repair refused for the lease"
object_exists "$B" outer/stray || fail "the refused repair deleted something"
expect_rc 1 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer
assert_grep "^orphan: outer/stray" "$T/out" "a check (no --repair) runs under a live lease"
expect_rc 0 run_s3nbd fsck --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix outer --repair --force
! object_exists "$B" outer/stray || fail "--repair --force did not delete the orphan"
object_exists "$B" outer/lease.s3nbd || fail "fsck deleted the lease"
log "ok"
