#!/bin/bash
# readonly=true and nbdkit -r: the export says read-only, reads return the stored data, writes,
# trims and zeroes fail, and the bucket is unchanged. Then a cache holding dirty data of a
# killed writer: a read-only open serves that data, uploads nothing and stops at once; the
# next writable open uploads it.
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
stop_server

# dirty cache data of a killed writer (no flush, long writeback delay: nothing uploaded)
CARGS=(bucket="$B" prefix=ro cache="$T/cache" writeback-delay=60s shutdown-timeout=60s)
start_server "${CARGS[@]}"
nbdsh -u "$SERVER_URI" -c "h.pwrite(b'D' * 8192, 262144 * 6 + 4096)" || fail "cached write failed"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
assert_eq "$before" "$(list_keys "$B" ro/b/ | sort)" "objects after the killed writer"
start_server "${CARGS[@]}" readonly=true
got=$(nbdsh -u "$SERVER_URI" -c "print(h.pread(8192, 262144 * 6 + 4096) == b'D' * 8192)")
assert_eq True "$got" "read-only open serves the cached dirty data"
kill "$SERVER_PID"   # SIGTERM: must exit without waiting out shutdown-timeout (60 s)
for _ in $(seq 200); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "read-only stop waits for uploads it may not do"
wait "$SERVER_PID" 2>/dev/null || true
assert_grep "dirty blocks stay in the cache for the next writable open" "$SERVER_LOG" "read-only stop"
assert_eq "$before" "$(list_keys "$B" ro/b/ | sort)" "read-only open uploaded nothing"
start_server "${CARGS[@]}"   # writable again: uploads at stop
stop_server
start_server bucket="$B" prefix=ro   # the bucket alone
got=$(nbdsh -u "$SERVER_URI" -c "print(h.pread(8192, 262144 * 6 + 4096) == b'D' * 8192)")
assert_eq True "$got" "dirty data uploaded by the next writable open"
log "ok"
