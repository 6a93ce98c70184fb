#!/bin/bash
# Several clients, each on its own NBD connection, write interleaved 512-byte stripes INSIDE the
# same blocks at the same time (read-modify-write of shared blocks). Afterwards every stripe
# must hold its owner's last write: no update may be lost. 2 MiB volume, 64 KiB blocks.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
WORKERS=4
PASSES=2
B=$(new_bucket)
create_volume "$B" cc 2M 64K
start_server bucket="$B" prefix=cc connections=8

cat >"$T/worker.py" <<'PY'
import random, sys
import nbd
uri, me, workers, passes, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
STRIPE = 512
def pattern(stripe, p):  # 512 bytes that name the owner, stripe and pass
    return (b"%02d:%08d:%02d|" % (me, stripe, p) * 40)[:STRIPE]
h = nbd.NBD()
h.connect_uri(uri)
mine = [s for s in range(size // STRIPE) if s % workers == me]
rnd = random.Random(me)
for p in range(passes):
    rnd.shuffle(mine)
    for s in mine:
        h.pwrite(pattern(s, p), s * STRIPE)
h.flush()
h.shutdown()
PY
cat >"$T/check.py" <<'PY'
import sys
import nbd
uri, workers, passes, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
h = nbd.NBD()
h.connect_uri(uri)
data = h.pread(size, 0)
bad = []
for s in range(size // 512):
    want = (b"%02d:%08d:%02d|" % (s % workers, s, passes - 1) * 40)[:512]
    if data[s * 512:(s + 1) * 512] != want:
        bad.append(s)
if bad:
    got = data[bad[0] * 512:bad[0] * 512 + 16]
    sys.exit(f"{len(bad)} of {size // 512} stripes lost their last write; first: stripe {bad[0]} "
             f"(block {bad[0] * 512 // 65536}) holds {got!r}")
print(f"all {size // 512} stripes ok")
PY

# all writers start together; each has its own connection
pids=()
for w in $(seq 0 $((WORKERS - 1))); do
  timeout 240 "$PY" "$T/worker.py" "$SERVER_URI" "$w" "$WORKERS" "$PASSES" $((2 * 1048576)) 2>"$T/w$w.err" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { cat "$T/w$i.err" >&2; fail "worker $i failed"; }
done

"$PY" "$T/check.py" "$SERVER_URI" "$WORKERS" "$PASSES" $((2 * 1048576)) >&2 || fail "lost updates (same server)"
stop_server
start_server bucket="$B" prefix=cc
"$PY" "$T/check.py" "$SERVER_URI" "$WORKERS" "$PASSES" $((2 * 1048576)) >&2 || fail "lost updates (after restart)"
assert_eq 32 "$(count_blocks "$B" cc)" "block objects (every block written)"
log "ok"
