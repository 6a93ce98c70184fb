#!/bin/bash
# Crash matrix: kill -9 of nbdkit at random moments of a mixed workload (writes with up to 8 in
# flight, zeroes, reads, FLUSHes) with the cache on, CRASH_KILLS times with flush=remote and
# CRASH_KILLS times with flush=local (crash_matrix.py). After every restart every sector must
# hold its last flushed write or a later issued one: zero acknowledged-and-flushed bytes lost.
# Then, per mode, one more crash after which the cache file is deleted: the bucket alone must be
# the image of a flush epoch (with flush=remote, at least the last acknowledged one).
# 8 MiB volume, 64 KiB blocks, cache 2 MiB (it evicts and writes back while it is killed).
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
KILLS=${CRASH_KILLS:-25}
SIZE=$((8 * 1048576))

B=$(new_bucket)
total=0
for mode in remote local; do
  create_volume "$B" "cm-$mode" 8M 64K
  out=$(timeout 600 "$PY" "$FAULTS_DIR/crash_matrix.py" --nbdkit "$NBDKIT" --plugin "$PLUGIN" \
    --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix "cm-$mode" --dir "$T" --cache "$T/cache-$mode.img" \
    --cache-size 2M --writeback-delay 100ms --flush "$mode" --kills "$KILLS" --size "$SIZE" \
    --seed "${CRASH_SEED:-$RANDOM}" --lose-cache 2>"$T/crash-$mode.err") || {
    cat "$T/crash-$mode.err" >&2
    fail "crash matrix flush=$mode: data lost or server failure (seed in the log above)"
  }
  cat "$T/crash-$mode.err" >&2
  log "flush=$mode: $out"
  crashes=$(sed -n 's/.*crashes=\([0-9]*\).*/\1/p' <<<"$out")
  verified=$(sed -n 's/.*verified_bytes=\([0-9]*\).*/\1/p' <<<"$out")
  [ "$crashes" -eq $((KILLS + 1)) ] || fail "flush=$mode: $crashes crashes, expected $((KILLS + 1))"
  interrupted=$(sed -n 's/.*interrupted=\([0-9]*\).*/\1/p' <<<"$out")
  # the kills must land in the middle of the workload, not between rounds
  [ "$interrupted" -ge $((KILLS / 2)) ] || fail "flush=$mode: only $interrupted of $crashes kills interrupted I/O"
  figure crashes_survived "$crashes"
  figure bytes_verified "$verified"
  total=$((total + crashes))
done
figure bytes_lost 0
log "ok: $total kills survived"
