#!/bin/bash
# s3nbd destroy: refuses without --yes when there is no terminal (exit 2, nothing deleted),
# refuses while the volume is served, and with --yes deletes every block and the descriptor
# (volume selected by flags only) while leaving other volumes alone.
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

expect_rc 0 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix d1 --yes </dev/null
assert_grep "destroyed volume $B/d1: 10 block objects" "$T/out" "destroy message"
assert_eq 0 "$(count_keys "$B" d1/)" "objects left under d1/"
object_exists "$B" keep/volume.s3nbd || fail "the neighbouring volume's descriptor was deleted"

expect_rc 1 run_s3nbd destroy d1 --yes </dev/null
assert_grep "no s3nbd volume at s3://$B/d1" "$T/out" "destroy of a destroyed volume"
log "ok"
