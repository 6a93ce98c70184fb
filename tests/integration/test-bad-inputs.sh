#!/bin/bash
# Bad inputs are refused with a message a user can act on, and write nothing: wrong secret,
# unknown access key, missing bucket, no descriptor, block size or size differing from the
# descriptor, unreachable endpoint, and `s3nbd create` on a prefix that already has a volume.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
create_volume "$B" good 8M 64K
NOSUCH=t-nosuch-$RANDOM$RANDOM

# positive control: the same arguments with nothing wrong do work
start_server bucket="$B" prefix=good
assert_eq 8388608 "$(nbd_size "$SERVER_URI")" "size of the good volume"
stop_server

refused() { # NAME PATTERN ARGS...: nbdkit must refuse; its output must match PATTERN
  local name=$1 pat=$2; shift 2
  log "nbdkit refuses: $name"
  expect_start_failure "$T/$name.log" "$@"
  assert_grep "$pat" "$T/$name.log" "nbdkit message for '$name'"
}
cli_fails() { # NAME PATTERN ARGS...: s3nbd must exit 1 with a message matching PATTERN
  local name=$1 pat=$2 rc=0; shift 2
  log "s3nbd fails: $name"
  run_s3nbd "$@" >"$T/$name.log" 2>&1 || rc=$?
  assert_eq 1 "$rc" "exit status of s3nbd ($name)"
  assert_grep "$pat" "$T/$name.log" "s3nbd message for '$name'"
}

# credentials
AWS_SECRET_ACCESS_KEY=not-the-secret \
  refused wrong-secret 'SignatureDoesNotMatch|403|signature' bucket="$B" prefix=good
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY \
  refused unknown-key 'InvalidAccessKeyId|403|access key' bucket="$B" prefix=good
AWS_SECRET_ACCESS_KEY=not-the-secret \
  cli_fails create-wrong-secret 'SignatureDoesNotMatch|403|signature' \
  create --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix badcred --size 8M --block-size 64K

# bucket and descriptor
refused missing-bucket 'does not exist|NoSuchBucket' bucket="$NOSUCH" prefix=good
cli_fails create-missing-bucket 'does not exist|NoSuchBucket' \
  create --endpoint "$S3_ENDPOINT" --bucket "$NOSUCH" --prefix v --size 8M
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' -m 10 --aws-sigv4 aws:amz:us-east-1:s3 \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
  -I "$S3_ENDPOINT/$NOSUCH")" "HEAD of bucket $NOSUCH (a failed create must not create it)"
refused no-descriptor 's3nbd create' bucket="$B" prefix=never-created
cli_fails info-no-descriptor 's3nbd create|not found|no volume|does not exist|descriptor' \
  info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix never-created

# parameters that contradict the descriptor
# the message must name the parameter AND say it contradicts the volume (not merely echo the key)
CONTRA='differ|mismatch|match|descriptor|volume|created with'
refused block-size-mismatch 'block.?size' bucket="$B" prefix=good block-size=128K
assert_grep "$CONTRA" "$T/block-size-mismatch.log" "block size mismatch message"
refused size-mismatch 'size' bucket="$B" prefix=good size=16M
assert_grep "$CONTRA" "$T/size-mismatch.log" "size mismatch message"

# unreachable endpoint: a closed port on 127.0.0.1; keep the plugin's retrying short if it can
port=
for p in 9171 9172 9173 9174 9175 9176 9177 9178 9179; do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no closed port found in 9171-9179"
retry=()
if "$NBDKIT" "$PLUGIN" --help 2>&1 | grep -q 'retry-time'; then retry=(retry-time=3); fi
refused unreachable "127\\.0\\.0\\.1:$port|refused|connect" \
  endpoint="http://127.0.0.1:$port" bucket="$B" prefix=good "${retry[@]}"
cli_fails create-unreachable "127\\.0\\.0\\.1:$port|refused|connect" \
  create --endpoint "http://127.0.0.1:$port" --bucket "$B" --prefix unreach --size 8M

# create twice on the same prefix: refused, and the first descriptor is untouched
run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix good >"$T/info1" || fail "s3nbd info failed"
cli_fails create-twice 'exist' create --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix good --size 16M --block-size 1M
run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix good >"$T/info2" || fail "s3nbd info failed"
assert_eq "$(cat "$T/info1")" "$(cat "$T/info2")" "s3nbd info after a refused second create"
assert_grep '^size: 8388608$' "$T/info2" "size of the first volume"

# nothing was written by any refused attempt
assert_eq 0 "$(count_blocks "$B" good)" "block objects of 'good' (never written)"
for p in never-created/ badcred/ unreach/; do
  assert_eq 0 "$(count_keys "$B" "$p")" "objects under $p"
done
# and the good volume still serves
start_server bucket="$B" prefix=good
assert_eq 8388608 "$(nbd_size "$SERVER_URI")" "size of the good volume at the end"
log "ok"
