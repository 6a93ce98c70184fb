#!/bin/bash
# readonly=true and nbdkit -r: the export says read-only, reads return the stored data, writes,
# trims and zeroes fail, and the bucket is unchanged.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
create_volume "$B" ro 8M 256K
IMG=$T/in.img
truncate -s 8M "$IMG"
dd if=/dev/urandom of="$IMG" bs=256K seek=3 count=5 conv=notrunc status=none
start_server bucket="$B" prefix=ro
nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy in failed"
stop_server
assert_eq 5 "$(count_blocks "$B" ro)" "block objects after writing 5 blocks"
before=$(list_keys "$B" ro/b/ | sort)

check_readonly() { # WHAT NBDKIT_ARGS...
  local what=$1; shift
  start_server "$@"
  assert_eq true "$(nbdinfo --is read-only "$SERVER_URI" >/dev/null && echo true || echo false)" "$what: export is read-only"
  rm -f "$T/out.img"
  nbdcopy "$SERVER_URI" "$T/out.img" || fail "$what: reading failed"
  cmp "$IMG" "$T/out.img" || fail "$what: data read differs"
  # libnbd refuses write calls on a read-only export; so must the server (strict mode off)
  for call in "h.pwrite(b'x' * 4096, 0)" "h.zero(262144, 0)" "h.trim(262144, 262144 * 3)" \
              "h.pwrite(b'y' * 512, 262144 * 3 + 10)"; do
    if nbdsh -u "$SERVER_URI" -c "h.set_strict_mode(0)" -c "$call" >"$T/w.log" 2>&1; then
      fail "$what: '$call' succeeded on a read-only export"
    fi
  done
  stop_server
  assert_eq "$before" "$(list_keys "$B" ro/b/ | sort)" "$what: block objects unchanged"
}
check_readonly "readonly=true" bucket="$B" prefix=ro readonly=true
check_readonly "nbdkit -r" -r bucket="$B" prefix=ro
# and the data survived the attempts
start_server bucket="$B" prefix=ro
rm -f "$T/out.img"; nbdcopy "$SERVER_URI" "$T/out.img"; cmp "$IMG" "$T/out.img" || fail "data changed"
log "ok"
