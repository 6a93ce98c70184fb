#!/bin/bash
# s3nbd create / info: values round-trip through the descriptor, --help works, usage errors exit
# 2, prefixes are normalised, --create-bucket and --credentials-file (CLI and plugin) work.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

for args in "--help" "create --help" "info --help" "serve --help" "stop --help" "flush --help" \
            "stats --help" "attach --help" "detach --help" "fsck --help" "destroy --help"; do
  # shellcheck disable=SC2086  # split the subcommand from its option
  run_s3nbd $args >"$T/help" 2>&1 || fail "s3nbd $args exited non-zero"
  [ -s "$T/help" ] || fail "s3nbd $args printed nothing"
done
usage() { # ARGS...: must exit 2
  local rc=0
  run_s3nbd "$@" >"$T/usage" 2>&1 || rc=$?
  assert_eq 2 "$rc" "exit status of: s3nbd $*"
  [ -s "$T/usage" ] || fail "s3nbd $* exited 2 without a message"
}
usage
usage frobnicate
usage create --endpoint "$S3_ENDPOINT" --size 1G                  # no --bucket
usage create --endpoint "$S3_ENDPOINT" --bucket x --size 1G --no-such-option
usage info --endpoint "$S3_ENDPOINT"                              # no --bucket, no VOLUME
usage fsck --endpoint "$S3_ENDPOINT" --bucket x --bogus 1
usage destroy a b

B=$(new_bucket)
info_of() { run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix "$1" >"$T/info" 2>&1 ||
              { cat "$T/info" >&2; fail "s3nbd info $1 failed"; }; }
field() { sed -n "s/^$1: //p" "$T/info"; }

run_s3nbd create --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix vol1 --size 10G >"$T/c.log" 2>&1 ||
  { cat "$T/c.log" >&2; fail "s3nbd create (defaults) failed"; }
object_exists "$B" vol1/volume.s3nbd || fail "descriptor vol1/volume.s3nbd not found in the bucket"
info_of vol1
assert_eq 10737418240 "$(field size)" "size"
assert_eq 1048576 "$(field block-size)" "default block-size"
assert_eq flat "$(field key-layout)" "default key-layout"
uuid1=$(field uuid)
[[ $uuid1 =~ ^[0-9a-fA-F-]{16,}$ ]] || fail "uuid looks wrong: '$uuid1'"
info_of vol1/                                     # the prefix is normalised
assert_eq "$uuid1" "$(field uuid)" "uuid seen through prefix 'vol1/'"

create_volume "$B" deep/vol2 100M 64K --key-layout hashed --region us-east-1
object_exists "$B" deep/vol2/volume.s3nbd || fail "descriptor deep/vol2/volume.s3nbd not found"
info_of deep/vol2
assert_eq 104857600 "$(field size)" "size of vol2"
assert_eq 65536 "$(field block-size)" "block-size of vol2"
assert_eq hashed "$(field key-layout)" "key-layout of vol2"
assert_ne "$uuid1" "$(field uuid)" "uuid of vol2 vs vol1"
assert_eq 0 "$(count_blocks "$B" vol1)" "block objects after create"

# --create-bucket makes the bucket; --credentials-file / credentials-file= replace the env keys
B2=t-cli2-$RANDOM$RANDOM
CRED=$T/credentials
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$CRED"
chmod 600 "$CRED"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T" timeout 120 "$S3NBD_CLI" create \
  --endpoint "$S3_ENDPOINT" --bucket "$B2" --prefix v --size 4M --block-size 64K --create-bucket \
  --credentials-file "$CRED" >"$T/c2.log" 2>&1 || { cat "$T/c2.log" >&2; fail "create --create-bucket --credentials-file failed"; }
object_exists "$B2" v/volume.s3nbd || fail "descriptor in the bucket made by --create-bucket not found"
# the server gets no keys in its environment (and no ~/.aws): only the credentials file
saved_ak=$AWS_ACCESS_KEY_ID saved_sk=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
HOME=$T start_server bucket="$B2" prefix=v credentials-file="$CRED"
export AWS_ACCESS_KEY_ID=$saved_ak AWS_SECRET_ACCESS_KEY=$saved_sk
nbdsh -u "$SERVER_URI" -c 'h.pwrite(b"\x01" * 65536, 65536)' || fail "write with credentials-file= failed"
assert_eq 4194304 "$(nbd_size "$SERVER_URI")" "size served with credentials-file="
stop_server
assert_eq 1 "$(count_blocks "$B2" v)" "block objects written with credentials-file="
log "ok"
