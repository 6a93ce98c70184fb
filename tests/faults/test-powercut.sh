#!/bin/bash
# Power cut, not kill -9: the cache file lives on lazyfs (tests/faults/lazyfs/lazyfs.cc), a FUSE
# file system that keeps every write not yet fsync'ed/fdatasync'ed in memory. At a random moment
# of a mixed workload (whole-block and partial writes, WRITE_ZEROES, TRIM, FLUSH) nbdkit is
# stopped, lazyfs cuts power (every later operation fails EIO; the cache file becomes its synced
# bytes plus none, all, an in-order prefix, or a seeded random prefix per 512-byte sector of its
# unsynced writes: torn and reordered writes), nbdkit is killed, lazyfs remounted and nbdkit
# restarted on the same cache file and bucket (tests/faults/powercut.py). Every sector must then
# hold its last FLUSH-acknowledged content or a later issued write (a FLUSH acknowledged after
# the cut began does not count); a cache refused as corrupt, or a volume that cannot be read,
# fails the cut too. Scenarios: flush=remote and flush=local, each straight to S3 and through a
# delay front (every upload 1..POWERCUT_DELAY_MS ms late: dirty data durable in the cache but
# not uploaded at the cut; held requests land before the restart, late writes after a takeover
# are test-partition's concern). Crash model (lazyfs.cc's head): namespace and size changes are
# durable at once; data is durable only after fsync; a sector is atomic, a write is not.
# Figures: power_cuts_survived (cuts after which nothing flushed was lost), bytes_lost.
# env: POWERCUT_CUTS (per scenario straight to S3, 75), POWERCUT_SLOW_CUTS (through the delay
#      front, 35: each costs ~2 s), POWERCUT_SEED, POWERCUT_SCENARIOS (remote local remote-slow
#      local-slow), POWERCUT_MODES (lazyfs modes:weights, random:6,prefix:1,drop:2,keep:1),
#      POWERCUT_DEADLINE (s per scenario, 90), POWERCUT_MIN_SURVIVED (200), POWERCUT_DELAY_MS
#      (300), POWERCUT_IGNORE_FSYNC=1 (a broken disk: the test must then report lost bytes)
# 4 MiB volume, 64 KiB blocks, cache 2 MiB (it evicts and writes back while it is cut).
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
need fusermount3 mountpoint mount umount cmake
[ "$(id -u)" = 0 ] || fail "must run as root (FUSE and tmpfs mounts)"
[ -c /dev/fuse ] || fail "/dev/fuse is missing: FUSE is required (modprobe fuse)"
CUTS=${POWERCUT_CUTS:-75}
SLOW_CUTS=${POWERCUT_SLOW_CUTS:-35}
SEED=${POWERCUT_SEED:-$RANDOM}
DEADLINE=${POWERCUT_DEADLINE:-90}
DELAY_MS=${POWERCUT_DELAY_MS:-300}
SCENARIOS=${POWERCUT_SCENARIOS:-remote local remote-slow local-slow}
SIZE=$((4 * 1048576))
LAZYFS=$S3NBD_BUILD/s3nbd-test-lazyfs
if [ ! -x "$LAZYFS" ] || [ "$REPO/tests/faults/lazyfs/lazyfs.cc" -nt "$LAZYFS" ]; then
  cmake --build "$S3NBD_BUILD" --target s3nbd-test-lazyfs >"$T/lazyfs-build.log" 2>&1 || {
    tail -n 20 "$T/lazyfs-build.log" >&2
    fail "cannot build $LAZYFS (needs libfuse3-dev: make deps; make faults-tools)"
  }
fi

# the "disk" under lazyfs: a tmpfs, so the backing files outlive every lazyfs process
mkdir -p "$T/disk"
mount -t tmpfs -o size=256m tmpfs "$T/disk" || fail "cannot mount a tmpfs on $T/disk"
on_exit "umount -l '$T/disk'"
timeout 120 "$PY" "$FAULTS_DIR/lazyfs/lazyfs_test.py" "$LAZYFS" "$T/disk/selftest" >&2 ||
  fail "lazyfs self-test failed: the power-cut file system cannot be trusted"

# uploads (PUT, multi-delete POST, DELETE) late; GETs are not, so restarts and checks stay quick
export DELAY_METHODS=PUT,POST,DELETE
start_front 0 0 0 0 100 "$DELAY_MS"
SLOW_URL=$FRONT_URL
B=$(new_bucket)
log "seed $SEED (POWERCUT_SEED=$SEED replays the workloads and cut choices; timing differs)"
survived=0 lost=0 bad=()
for name in $SCENARIOS; do
  case $name in
    remote) flush=remote ep=$S3_ENDPOINT settle=0 wb=50ms n=$CUTS ;;
    local) flush=local ep=$S3_ENDPOINT settle=0 wb=50ms n=$CUTS ;;
    remote-slow) flush=remote ep=$SLOW_URL settle=$((DELAY_MS + 100))e-3 wb=20ms n=$SLOW_CUTS ;;
    local-slow) flush=local ep=$SLOW_URL settle=$((DELAY_MS + 100))e-3 wb=20ms n=$SLOW_CUTS ;;
    *) fail "unknown scenario '$name' in POWERCUT_SCENARIOS" ;;
  esac
  create_volume "$B" "pc-$name" 4M 64K
  mkdir -p "$T/$name/mnt" "$T/disk/$name"
  on_exit "fusermount3 -u -z '$T/$name/mnt'"
  rc=0
  out=$(timeout $((DEADLINE + 120)) "$PY" "$FAULTS_DIR/powercut.py" --nbdkit "$NBDKIT" \
    --plugin "$PLUGIN" --lazyfs "$LAZYFS" --endpoint "$ep" --bucket "$B" --prefix "pc-$name" \
    --dir "$T/$name" --backing "$T/disk/$name" --mount "$T/$name/mnt" --flush "$flush" \
    --name "$name" --cuts "$n" --size "$SIZE" --seed "$SEED" --cache-size 2M \
    --writeback-delay "$wb" --settle "$settle" --deadline "$DEADLINE" \
    ${POWERCUT_MODES:+--modes "$POWERCUT_MODES"} ${POWERCUT_IGNORE_FSYNC:+--ignore-fsync} \
    2>"$T/powercut-$name.err") || rc=$?
  grep -v '^ *nbdkit: debug' "$T/powercut-$name.err" | cut -c1-600 | tail -n 60 >&2
  cuts=$(sed -n 's/^cuts=\([0-9]*\) .*/\1/p' <<<"$out")
  nlost=$(sed -n 's/.* lost_bytes=\([0-9]*\) .*/\1/p' <<<"$out")
  nbad=$(sed -n 's/.* bad_cuts=\([0-9]*\) .*/\1/p' <<<"$out")
  nref=$(sed -n 's/.* refused_caches=\([0-9]*\) .*/\1/p' <<<"$out")
  if [ -z "$cuts" ] || [ -z "$nlost" ] || [ -z "$nbad" ]; then
    bad+=("$name: the driver stopped (rc $rc) before its summary")
    continue
  fi
  log "$name (flush=$flush): $out"
  survived=$((survived + cuts - nbad))
  lost=$((lost + nlost))
  [ "$rc" -eq 0 ] ||
    bad+=("$name: $nlost bytes lost in $nbad of $cuts cuts, ${nref:-?} refused caches")
done
figure power_cuts_survived "$survived"
figure bytes_lost "$lost"
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")(seed $SEED; POWER CUT lines above)"
[ "$survived" -ge "${POWERCUT_MIN_SURVIVED:-200}" ] ||
  fail "only $survived power cuts survived, ${POWERCUT_MIN_SURVIVED:-200} required" \
    "(deadline ${DEADLINE}s per scenario)"
log "ok: $survived power cuts survived, 0 bytes lost"
