#!/bin/bash
# Cache disk full: the cache file (cache-size 24M, sparse) lives on a 32 MiB tmpfs that a filler
# file then fills up. 12 MiB of writes must either succeed (backpressure, eviction) or fail
# cleanly with ENOSPC/EIO and a log line - never crash or hang, never corrupt what was
# acknowledged. When the space returns (filler removed) the failed writes are retried and
# succeed; the whole data reads back through the cache and from the bucket alone.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "must run as root (tmpfs mount)"
need mount umount mountpoint
B=$(new_bucket)
create_volume "$B" cf 32M 256K
MNT=$T/small
mkdir -p "$MNT"
mount -t tmpfs -o size=32M tmpfs "$MNT" || fail "cannot mount a tmpfs"
on_exit "umount '$MNT' || umount -l '$MNT'"
random_file "$T/data" $((12 * 1048576))

start_server bucket="$B" prefix=cf cache="$MNT/cache.img" cache-size=24M writeback-delay=5s \
  dirty-timeout=15s
# fill the file system: every slot the cache has not written yet has no space behind it
dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null || true
log "tmpfs: $(df -k "$MNT" | awk 'NR == 2 {print $4}') KiB free after the filler"
cat >"$T/writer.py" <<'PY'
import errno, sys, nbd
uri, path, failed_path, mode = sys.argv[1:5]
data = open(path, "rb").read()
h = nbd.NBD(); h.connect_uri(uri)
offs = range(0, len(data), 262144) if mode == "all" else [int(x) for x in open(failed_path).read().split()]
failed = []
codes = {}
for off in offs:
    try:
        h.pwrite(data[off:off + 262144], off)
    except nbd.Error as e:
        failed.append(off)
        codes[errno.errorcode.get(e.errno, str(e.errno))] = codes.get(errno.errorcode.get(e.errno, str(e.errno)), 0) + 1
if not failed:
    h.flush()
open(failed_path, "w").write(" ".join(map(str, failed)))
print("writes=%d failed=%d errors=%s" % (len(offs), len(failed), codes))
PY
timeout 300 "$PY" "$T/writer.py" "$SERVER_URI" "$T/data" "$T/failed" all >"$T/w1.out" 2>&1 ||
  { cat "$T/w1.out" >&2; fail "the writer crashed or hung with the cache disk full"; }
log "disk full: $(cat "$T/w1.out")"
kill -0 "$SERVER_PID" 2>/dev/null || fail "nbdkit died with the cache disk full"
nfailed=$(wc -w <"$T/failed")
if [ "$nfailed" -gt 0 ]; then
  grep -qE 'ENOSPC|EIO' "$T/w1.out" || fail "writes failed with an unexpected error: $(cat "$T/w1.out")"
  assert_grep 'error: pwrite.*(No space left|ENOSPC|no free|space|cache)' "$SERVER_LOG" "log line for the failed writes"
  log "log: $(grep -m1 'error: pwrite' "$SERVER_LOG" | sed 's/.*error: //' | cut -c1-200)"
fi
# the space returns: the failed writes succeed now
rm -f "$MNT/filler"
timeout 300 "$PY" "$T/writer.py" "$SERVER_URI" "$T/data" "$T/failed" retry >"$T/w2.out" 2>&1 ||
  { cat "$T/w2.out" >&2; fail "the retry writer crashed or hung"; }
log "space back: $(cat "$T/w2.out")"
assert_eq 0 "$(wc -w <"$T/failed")" "writes still failing after the space returned"
nbdcopy "$SERVER_URI" "$T/back1.img" || fail "nbdcopy through the cache failed"
cmp -n $((12 * 1048576)) "$T/data" "$T/back1.img" || fail "data read through the cache differs"
stop_server
start_server bucket="$B" prefix=cf     # the bucket alone
nbdcopy "$SERVER_URI" "$T/back2.img" || fail "nbdcopy from the bucket failed"
cmp -n $((12 * 1048576)) "$T/data" "$T/back2.img" || fail "the bucket does not hold the data"
stop_server
# the cache file is still usable: a restart on it opens cleanly
start_server bucket="$B" prefix=cf cache="$MNT/cache.img" cache-size=24M
nbdcopy "$SERVER_URI" "$T/back3.img" || fail "nbdcopy through the reopened cache failed"
cmp -n $((12 * 1048576)) "$T/data" "$T/back3.img" || fail "data read through the reopened cache differs"
stop_server
figure cache_full_failed_writes "$nfailed"
figure bytes_verified $((3 * 12 * 1048576))
figure bytes_lost 0
log "ok"
