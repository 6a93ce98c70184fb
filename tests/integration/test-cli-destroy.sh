#!/bin/bash
# s3nbd destroy: refuses without --yes when there is no terminal (exit 2, nothing deleted),
# refuses while the volume is served, or while a writer on another host holds its lease (until
# --force), and with --yes deletes every block and the descriptor (volume selected by flags
# only) while leaving other volumes alone.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

B=$(new_bucket)
write_conf d1 "$B" d1
expect_rc 0 run_s3nbd create d1 --size 4M --block-size 64K
create_volume "$B" keep 1M 64K           # a neighbour that must survive
serve_volume d1
random_file "$T/data" 655360
nbdcopy "$T/data" "$(uri_of "$S3NBD_RUN_DIR/d1.sock")" || fail "nbdcopy failed"
assert_eq 10 "$(count_blocks "$B" d1)" "blocks written"

expect_rc 1 run_s3nbd destroy d1 --yes </dev/null
assert_grep "served by pid" "$T/out" "destroy while served"
expect_rc 0 run_s3nbd stop d1

expect_rc 2 run_s3nbd destroy d1 </dev/null
assert_grep "refusing to delete without --yes \(no terminal" "$T/out" "destroy without --yes and no tty"
assert_eq 10 "$(count_blocks "$B" d1)" "blocks after the refused destroy"
object_exists "$B" d1/volume.s3nbd || fail "descriptor deleted by the refused destroy"

# a writer on another host: no local pid file can see it, its lease can
now=$(date +%s)
printf 's3nbd-lease 1\nhost far-host\npid 4242\nstarted 2026-01-01T00:00:00Z\ntoken 00ff\nexpires %s\nseconds 60\n' \
  "$((now + 60))" >"$T/lease"
put_object "$B" d1/lease.s3nbd "$T/lease"
expect_rc 1 run_s3nbd destroy d1 --yes </dev/null
assert_grep "volume $B/d1: a writer holds the lease: host far-host pid 4242 .*expires at .*\(in [0-9]+ s\).*--force" \
  "$T/out" "destroy refused while another host holds the lease"
assert_eq 10 "$(count_blocks "$B" d1)" "blocks after the destroy refused for the lease"
object_exists "$B" d1/lease.s3nbd || fail "the refused destroy deleted the live lease"

expect_rc 0 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix d1 --yes --force </dev/null
assert_grep "going ahead \(--force\)" "$T/out" "destroy --force warns about the lease"
assert_grep "destroyed volume $B/d1: 10 block objects" "$T/out" "destroy message"
! grep -q 'deleting .* blocks \[' "$T/out" || fail "a progress bar was drawn without a terminal"
assert_eq 0 "$(count_keys "$B" d1/)" "objects left under d1/"
object_exists "$B" keep/volume.s3nbd || fail "the neighbouring volume's descriptor was deleted"

expect_rc 1 run_s3nbd destroy d1 --yes </dev/null
assert_grep "no s3nbd volume at s3://$B/d1" "$T/out" "destroy of a destroyed volume"

# on a terminal (script(1) gives it one) destroy asks for the volume name and draws progress
need script
create_volume "$B" d2 1M 64K
start_server bucket="$B" prefix=d2
nbdcopy "$T/data" "$SERVER_URI" || fail "nbdcopy to d2 failed"
stop_server
on_tty() { # ANSWER ARGS...: runs s3nbd ARGS on a pseudo-terminal fed ANSWER; output in $T/tty
  local answer=$1 rc=0; shift
  printf '%s\n' "$answer" | timeout 120 script -qec "$(printf '%q ' "$S3NBD_CLI" "$@")" /dev/null >"$T/tty" 2>&1 || rc=$?
  return "$rc"
}
rc=0; on_tty wrong destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix d2 || rc=$?
assert_eq 1 "$rc" "exit status of a destroy answered wrongly"
assert_grep "Type the volume name '$B/d2' to confirm" "$T/tty" "destroy prompt"
assert_grep "not confirmed; nothing deleted" "$T/tty" "destroy refusal on a wrong answer"
assert_eq 10 "$(count_blocks "$B" d2)" "blocks after an unconfirmed destroy"
rc=0; on_tty "$B/d2" destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix d2 || rc=$?
assert_eq 0 "$rc" "exit status of a confirmed destroy"
assert_grep "deleting 10 blocks \[#+\] 100% 10/10" "$T/tty" "progress bar on a terminal"
assert_eq 0 "$(count_keys "$B" d2/)" "objects left under d2/"
log "ok"
