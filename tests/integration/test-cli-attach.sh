#!/bin/bash
# s3nbd attach / detach refuse clearly when the nbd kernel module is not loaded (this host's
# kernel has none; S3NBD_NBD_MODULE_DIR points the check at a missing path so it is exercised on
# any host), and usage errors exit 2. The real attach runs in the qemu guest tests (tests/e2e).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

B=$(new_bucket)
write_conf a1 "$B" a1 "device = /dev/nbd7"
expect_rc 0 run_s3nbd create a1 --size 1M --block-size 64K
export S3NBD_NBD_MODULE_DIR=$T/no-such-module
expect_rc 1 run_s3nbd attach a1
assert_grep "attach: the nbd kernel module is not loaded \(modprobe nbd\)" "$T/out" "attach refusal"
expect_rc 1 run_s3nbd attach a1 /dev/nbd3
assert_grep "not loaded \(modprobe nbd\)" "$T/out" "attach refusal with a device"
[ ! -e "$S3NBD_RUN_DIR/a1.pid" ] || fail "attach started a server although it refused"
expect_rc 1 run_s3nbd detach /dev/nbd3
assert_grep "detach: the nbd kernel module is not loaded \(modprobe nbd\)" "$T/out" "detach refusal"
expect_rc 1 run_s3nbd detach a1
assert_grep "detach: the nbd kernel module is not loaded" "$T/out" "detach VOLUME refusal"
expect_rc 2 run_s3nbd detach
expect_rc 2 run_s3nbd attach --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix a1
assert_grep "name the device" "$T/out" "attach without a device"
# with the module "present", a path that is not an NBD block device is refused before netlink
mkdir -p "$T/module"
export S3NBD_NBD_MODULE_DIR=$T/module
expect_rc 1 run_s3nbd attach a1 /dev/null
assert_grep "device '/dev/null' is not an NBD device" "$T/out" "attach to /dev/null"
log "ok"
