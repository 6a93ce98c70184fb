#!/bin/bash
# The main job, end to end: a local S3 server (Ceph RGW), a 1 GiB s3nbd volume with 1 MiB blocks
# served by nbdkit on a unix socket, exposed as a file by nbdfuse, ext4 on it mounted with a loop
# device, 100 MiB of data plus a tree of files written, read back and sha256-verified.
#   scripts/demo.sh          set up and leave it running (prints how to use and stop it)
#   scripts/demo.sh stop     unmount and stop everything the demo started
#   DEMO_EXIT=1 scripts/demo.sh   tear everything down at the end
# env: S3NBD_ENDPOINT (use this S3 server instead of starting RGW; give AWS_ACCESS_KEY_ID and
#      AWS_SECRET_ACCESS_KEY for it), S3NBD_BUILD (build), S3NBD_DEMO_DIR (${TMPDIR:-/tmp}/s3nbd-demo),
#      DEMO_BUCKET (s3nbd-demo), DEMO_SIZE (1G), DEMO_DATA_MB (100), RGW_PORT etc. (tests/lib/rgw-start.sh)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
D=${S3NBD_DEMO_DIR:-${TMPDIR:-/tmp}/s3nbd-demo}
S3NBD_BUILD=${S3NBD_BUILD:-build}
case $S3NBD_BUILD in /*) ;; *) S3NBD_BUILD=$REPO/$S3NBD_BUILD ;; esac
PLUGIN=$S3NBD_BUILD/nbdkit-s3nbd-plugin.so
CLI=$S3NBD_BUILD/s3nbd
export S3NBD_RGW_DIR=$D/rgw
# The volume is described by a config file and served with the CLI (s3nbd serve), as in production
# with /etc/s3nbd and /run/s3nbd; here both live under $D.
export S3NBD_CONFIG_DIR=$D/etc S3NBD_RUN_DIR=$D/run
VOL=demo
SOCK=$S3NBD_RUN_DIR/$VOL.sock
PIDFILE=$S3NBD_RUN_DIR/$VOL.pid
FUSEDIR=$D/fuse
MNT=$D/mnt

say() { echo "demo: $*"; }
die() { echo "demo: FATAL: $*" >&2; exit 1; }

stop_all() { # idempotent; uses only the files in $D
  set +e
  mountpoint -q "$MNT" 2>/dev/null && { umount "$MNT" || umount -l "$MNT"; }
  mountpoint -q "$FUSEDIR" 2>/dev/null && { fusermount3 -u "$FUSEDIR" || umount -l "$FUSEDIR"; }
  local f p i
  [ -f "$PIDFILE" ] && "$CLI" stop "$VOL" >/dev/null 2>&1   # flush to S3, then stop
  for f in "$D/nbdfuse.pid" "$PIDFILE"; do
    [ -f "$f" ] || continue
    p=$(cat "$f"); [[ $p =~ ^[0-9]+$ ]] || continue
    grep -qE 'nbdkit|nbdfuse' "/proc/$p/cmdline" 2>/dev/null || continue   # pid reused: not ours
    kill "$p" 2>/dev/null
    for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -f "$SOCK" "$D/nbdfuse.pid" "$PIDFILE"
  [ -f "$D/rgw.started" ] && bash "$REPO/tests/lib/rgw-stop.sh" && rm -f "$D/rgw.started"
  rm -rf "$D/src" "$MNT" "$FUSEDIR"
  set -e
}

if [ "${1:-}" = stop ]; then
  [ -d "$D" ] || { say "nothing to stop ($D does not exist)"; exit 0; }
  stop_all
  rm -rf "$D"
  say "stopped; removed $D"
  exit 0
fi
[ $# -eq 0 ] || die "usage: scripts/demo.sh [stop]"
[ "$(id -u)" = 0 ] || die "must run as root (nbdfuse + mount -o loop); try: sudo make demo"
for t in nbdkit nbdfuse fusermount3 mkfs.ext4 mount curl sha256sum setsid; do
  command -v "$t" >/dev/null || die "'$t' is not installed (make deps)"
done
{ [ -f "$PLUGIN" ] && [ -x "$CLI" ]; } || die "not built: $PLUGIN / $CLI (run make)"
if [ -e "$PIDFILE" ] || mountpoint -q "$MNT" 2>/dev/null; then
  die "a demo is already running in $D; stop it first: scripts/demo.sh stop"
fi

# anything failing from here on tears down what was started
ok=0
trap '[ "$ok" = 1 ] || { echo "demo: FAILED; cleaning up" >&2; stop_all; }' EXIT
mkdir -p "$D" "$FUSEDIR" "$MNT"

# 1. the S3 server
if [ -n "${S3NBD_ENDPOINT:-}" ]; then
  S3_ENDPOINT=$S3NBD_ENDPOINT
  : "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID for $S3_ENDPOINT}" "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
  say "using S3 server $S3_ENDPOINT"
else
  say "starting Ceph RGW (tests/lib/rgw-start.sh, state in $S3NBD_RGW_DIR) ..."
  touch "$D/rgw.started"
  bash "$REPO/tests/lib/rgw-start.sh" || die "Ceph RGW did not start"
  S3_ENDPOINT=http://127.0.0.1:${RGW_PORT:-9180}
  export AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-AKIATEST} AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-testsecret}
fi
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_ENDPOINT
# shellcheck source=tests/lib/s3.sh
source "$REPO/tests/lib/s3.sh"

# 2. the volume
BUCKET=${DEMO_BUCKET:-s3nbd-demo}
PREFIX=demo-$(date +%Y%m%d-%H%M%S)
SIZE=${DEMO_SIZE:-1G}
say "creating volume $BUCKET/$PREFIX ($SIZE, 1 MiB blocks, 256 MiB local cache)"
mkdir -p "$S3NBD_CONFIG_DIR" "$S3NBD_RUN_DIR"
cat >"$S3NBD_CONFIG_DIR/$VOL.conf" <<CONF
# s3nbd volume config (see s3nbd(8)); credentials come from the environment
endpoint = $S3_ENDPOINT
bucket = $BUCKET
prefix = $PREFIX
cache = $D/$VOL.cache
cache-size = 256M
CONF
"$CLI" create "$VOL" --size "$SIZE" --block-size 1M --create-bucket || die "s3nbd create failed"

# 3. s3nbd serve: nbdkit with our plugin on a unix socket, as a daemon with a pid file
"$CLI" serve "$VOL" >"$D/serve.log" 2>&1 || { cat "$D/serve.log" >&2; die "s3nbd serve failed"; }
URI="nbd+unix:///?socket=$SOCK"
for _ in $(seq 300); do nbdinfo --size "$URI" >/dev/null 2>&1 && break; sleep 0.2; done
nbdinfo --size "$URI" >/dev/null 2>&1 || { cat "$D/serve.log" >&2; die "the server did not start"; }
say "serving $URI"

# 4. nbdfuse + ext4
setsid -f nbdfuse -P "$D/nbdfuse.pid" "$FUSEDIR" --unix "$SOCK" </dev/null >"$D/nbdfuse.log" 2>&1
for _ in $(seq 150); do [ -s "$D/nbdfuse.pid" ] && [ -e "$FUSEDIR/nbd" ] && break; sleep 0.2; done
[ -e "$FUSEDIR/nbd" ] || { cat "$D/nbdfuse.log" >&2; die "nbdfuse did not come up"; }
mkfs.ext4 -q -F -L s3nbd-demo "$FUSEDIR/nbd" || die "mkfs.ext4 failed"
mount -o loop "$FUSEDIR/nbd" "$MNT" || die "mount failed"
say "ext4 mounted at $MNT"

# 5. write: DEMO_DATA_MB of random data (prepared locally first, so we time only the volume) + a tree
MB=${DEMO_DATA_MB:-100}
mkdir -p "$D/src"
head -c $((MB * 1048576)) /dev/urandom >"$D/src/data.bin"
mkdir -p "$D/src/tree"
( cd /usr/share/doc && find . -maxdepth 2 -type f -size -200k | sort | sed -n '1,500p' | tar -cf - -T - ) |
  ( cd "$D/src/tree" && tar -xf - )
( cd "$D/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum ) >"$D/sha256sums"
total_bytes=$(du -sb "$D/src" | cut -f1)
nfiles=$(wc -l <"$D/sha256sums")
t0=$(date +%s.%N)
cp -a "$D/src/." "$MNT/"
sync -f "$MNT/data.bin"; sync
t1=$(date +%s.%N)
"$CLI" flush "$VOL" || die "s3nbd flush failed"   # the cache's dirty blocks are now in S3
t1f=$(date +%s.%N)
rm -rf "$D/src"

# 6. read back cold: remount (drops the filesystem's page cache) and drop caches if allowed
umount "$MNT"
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
mount -o loop "$FUSEDIR/nbd" "$MNT" || die "remount failed"
t2=$(date +%s.%N)
( cd "$MNT" && sha256sum --quiet -c "$D/sha256sums" ) || die "checksums differ after reading back!"
t3=$(date +%s.%N)
rate() { awk -v b="$1" -v a="$2" -v z="$3" 'BEGIN { printf "%.1f MB/s (%.1f s)", b / 1e6 / (z - a), z - a }'; }
objects=$(count_keys "$BUCKET" "$PREFIX/b/") || objects="?"

ok=1
cat <<INFO

demo: all $nfiles files ($((total_bytes / 1048576)) MiB) written, read back and sha256-verified.
  S3 endpoint   $S3_ENDPOINT   (keys $AWS_ACCESS_KEY_ID / ****)
  bucket        $BUCKET
  prefix        $PREFIX/   (descriptor $PREFIX/volume.s3nbd, blocks $PREFIX/b/<16 hex>)
  block objects $objects  (1 MiB each at most; all-zero blocks are not stored)
  NBD socket    $SOCK
  NBD URI       $URI
  server        s3nbd serve $VOL: pid $(cat "$PIDFILE"), config $S3NBD_CONFIG_DIR/$VOL.conf, cache $D/$VOL.cache
  FUSE file     $FUSEDIR/nbd
  mount point   $MNT  (ext4)
  write         $(rate "$total_bytes" "$t0" "$t1")  (cp + sync, into the local cache)
  flush to S3   $(rate "$total_bytes" "$t0" "$t1f")  (cp + sync + s3nbd flush: everything in S3)
  read          $(rate "$total_bytes" "$t2" "$t3")  (sha256sum after remount)
Try:  ls $MNT;  nbdinfo --map '$URI' | head
      S3NBD_CONFIG_DIR=$S3NBD_CONFIG_DIR S3NBD_RUN_DIR=$S3NBD_RUN_DIR $CLI stats $VOL
Stop: scripts/demo.sh stop   (unmounts, stops nbdfuse, nbdkit$( [ -f "$D/rgw.started" ] && echo " and Ceph RGW"))
INFO

if [ "${DEMO_EXIT:-0}" = 1 ]; then
  say "DEMO_EXIT=1: tearing down"
  stop_all
  rm -rf "$D"
  say "stopped"
fi
