#!/bin/bash
# A version-2 (versioned) volume is refused by this s3nbd until its stack lands (issue 13,
# slice 1): nbdkit (read-write and read-only), `s3nbd info`, `fsck`, `destroy --yes` and `passwd` all stop
# at the descriptor with "volume format 2 (versioned volume) is not yet supported by this
# s3nbd", and write or delete nothing. The descriptor is a real one made v2 by editing its text.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
create_volume "$B" v1 8M 64K
MSG='volume format 2 \(versioned volume\) is not yet supported by this s3nbd'

# positive control: the v1 volume serves
start_server bucket="$B" prefix=v1
assert_eq 8388608 "$(nbd_size "$SERVER_URI")" "size of the v1 volume"
stop_server

get_object "$B" v1/volume.s3nbd "$T/v1.desc" || fail "cannot read the v1 descriptor"
sed -e '1s/^s3nbd-volume 1$/s3nbd-volume 2/' -e '/^encryption /a shard-blocks 65536\nlog-window 8' \
  "$T/v1.desc" >"$T/v2.desc"
assert_grep '^s3nbd-volume 2$' "$T/v2.desc" "edited descriptor's first line"
assert_grep '^shard-blocks 65536$' "$T/v2.desc" "edited descriptor's shard-blocks"
put_object "$B" v2/volume.s3nbd "$T/v2.desc" || fail "cannot put the v2 descriptor"

for mode in rw ro; do
  ro=(); [ "$mode" = rw ] || ro=(-r)
  log "nbdkit ($mode) refuses the v2 volume"
  expect_start_failure "$T/nbdkit-$mode.log" "${ro[@]}" bucket="$B" prefix=v2
  assert_grep "$MSG" "$T/nbdkit-$mode.log" "nbdkit ($mode) message"
  assert_grep "v2/" "$T/nbdkit-$mode.log" "nbdkit ($mode) message names the volume"
done

cli_refuses() { # NAME ARGS...: s3nbd exits 1 with the message
  local name=$1 rc=0; shift
  log "s3nbd $name refuses the v2 volume"
  run_s3nbd "$@" >"$T/$name.log" 2>&1 || rc=$?
  assert_eq 1 "$rc" "exit status of s3nbd $name"
  assert_grep "$MSG" "$T/$name.log" "s3nbd $name message"
  assert_grep "$B/v2" "$T/$name.log" "s3nbd $name message names the volume"
}
VOL=(--endpoint "$S3_ENDPOINT" --bucket "$B" --prefix v2)
cli_refuses info info "${VOL[@]}"
cli_refuses fsck fsck "${VOL[@]}" --repair
cli_refuses destroy destroy "${VOL[@]}" --yes
echo old >"$T/old.pass"; echo new >"$T/new.pass"
cli_refuses passwd passwd "${VOL[@]}" --passphrase-file "$T/old.pass" --new-passphrase-file "$T/new.pass"

assert_eq "v2/volume.s3nbd" "$(list_keys "$B" v2/)" "objects under v2/ (only the descriptor, nothing written)"
get_object "$B" v2/volume.s3nbd "$T/v2.after" || fail "the v2 descriptor is gone"
cmp -s "$T/v2.desc" "$T/v2.after" || fail "the v2 descriptor was changed"
log "ok"
