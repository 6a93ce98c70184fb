#!/bin/bash
# make bench: the same fio jobs, in one run on this machine, against s3nbd (with and without its
# cache), nbdkit memory (the NBD path's ceiling), nbdkit file (local disk), s3backer (FUSE, the
# incumbent) and the raw S3 server (bench/s3load); then mkfs.ext4 on 10 GiB, TRIM of 100 GiB, and
# the main jobs again through a front that adds BENCH_DELAY_MS to every S3 request; and a real
# workload: a Linux kernel source tree untarred onto ext4 over every target, then sync and drain.
# Every S3 request of every target goes through one HAProxy (bench/haproxy.cfg) that counts them
# by method. Measures and prints; never asserts a time; a job or target that cannot run fails the
# run (exit 1) after the report. Results: bench/results/{results.tsv,results.md,chart.png}.
# env: BENCH_QUICK=1 (~5 min) | BENCH_SMOKE=1 (<60 s, a few jobs) | BENCH_STORE=bluestore
#      BENCH_TARGETS (space-separated subset) BENCH_DIR (work dir, /tmp/s3nbd-bench)
#      BENCH_RESULTS (bench/results) BENCH_DELAY_MS (20) BENCH_S3_ENDPOINT (use this S3 server,
#      with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, instead of starting Ceph RGW)
#      RGW_PORT (9180; the counting front listens on +1, the delay front on +2) MON_PORT (9100)
#      OSD_PORT_MIN/OSD_PORT_MAX, S3NBD_BUILD (build)
#      BENCH_UNTAR_CACHE (/var/tmp/s3nbd-bench-untar: the unpacked kernel tarball, kept across
#      runs) BENCH_UNTAR_PATHS (subtrees to extract; QUICK: "fs include", full: the whole tree)
#      BENCH_JOBS (fio jobs, e.g. "") BENCH_EXTRA (of "mkfs trim fsync untar delay fileio"): subsets
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
S3NBD_BUILD=${S3NBD_BUILD:-build}
case $S3NBD_BUILD in /*) ;; *) S3NBD_BUILD=$REPO/$S3NBD_BUILD ;; esac
PLUGIN=$S3NBD_BUILD/nbdkit-s3nbd-plugin.so
CLI=$S3NBD_BUILD/s3nbd
S3LOAD=$S3NBD_BUILD/s3load
FILEIO=$S3NBD_BUILD/s3nbd-bench-fileio
PY=/usr/bin/python3
REPORT=$REPO/bench/report.py
W=${BENCH_DIR:-${TMPDIR:-/tmp}/s3nbd-bench}
OUT=${BENCH_RESULTS:-$REPO/bench/results}
export RGW_PORT=${RGW_PORT:-9180} MON_PORT=${MON_PORT:-9100}
export OSD_PORT_MIN=${OSD_PORT_MIN:-$((MON_PORT + 10))} OSD_PORT_MAX=${OSD_PORT_MAX:-$((MON_PORT + 40))}
export S3NBD_RGW_DIR=${S3NBD_RGW_DIR:-$W/rgw}
COUNT_PORT=${BENCH_COUNT_PORT:-$((RGW_PORT + 1))}
DELAY_PORT=${BENCH_DELAY_PORT:-$((RGW_PORT + 2))}
DELAY_MS=${BENCH_DELAY_MS:-20}
BS=1M                      # block size of s3nbd and s3backer volumes, and of the raw objects
THREADS=16                 # raw S3 client threads = the sequential jobs' queue depth

MODE=full
[ "${BENCH_QUICK:-0}" = 1 ] && MODE=quick
[ "${BENCH_SMOKE:-0}" = 1 ] && MODE=smoke
case $MODE in # seq size (MiB), its time cap, random job time, blocks written before TRIM, mkfs and TRIM volume sizes, jobs
  full)  SEQ_MB=1024; SEQ_TIME=60; RAND_TIME=10; TRIM_BLOCKS=256; MKFS_GB=10; TRIM_GB=100; FSYNC_TIME=10
         JOBS="seqwrite seqread-cold seqread-warm randread-cold randread-warm randwrite mixed"
         DELAY_JOBS="seqwrite seqread-cold randread-cold"; EXTRA="mkfs trim fsync untar delay fileio"
         UNTAR_GB=4; UNTAR_TIME=3600; UNTAR_PATHS=${BENCH_UNTAR_PATHS-} ;;
  quick) SEQ_MB=128; SEQ_TIME=15; RAND_TIME=1; TRIM_BLOCKS=32; MKFS_GB=1; TRIM_GB=4; FSYNC_TIME=3
         JOBS="seqwrite seqread-cold seqread-warm randread-cold randread-warm randwrite mixed"
         DELAY_JOBS="seqwrite randread-cold"; EXTRA="mkfs trim fsync untar delay fileio"
         UNTAR_GB=1; UNTAR_TIME=600; UNTAR_PATHS=${BENCH_UNTAR_PATHS-fs include} ;;
  smoke) SEQ_MB=32; SEQ_TIME=10; RAND_TIME=1; TRIM_BLOCKS=8; MKFS_GB=1; TRIM_GB=1; FSYNC_TIME=1
         JOBS="seqwrite seqread-cold randread-warm"; DELAY_JOBS=""; EXTRA="" ;;
esac
JOBS=${BENCH_JOBS-$JOBS}; EXTRA=${BENCH_EXTRA-$EXTRA}   # subsets while developing
VOL_MB=$((SEQ_MB * 2))
DEFAULT_TARGETS="s3nbd-cache s3nbd nbdkit-memory nbdkit-file s3backer raw-s3"
[ "$MODE" = full ] && DEFAULT_TARGETS="s3nbd-cache s3nbd-cache-fit s3nbd nbdkit-memory nbdkit-file s3backer raw-s3"
[ "$MODE" = smoke ] && DEFAULT_TARGETS="s3nbd nbdkit-memory raw-s3"
TARGETS=${BENCH_TARGETS:-$DEFAULT_TARGETS}

say() { echo "bench: $*" >&2; }
die() { echo "bench: FATAL: $*" >&2; exit 1; }
has() { [[ " $TARGETS " == *" $1 "* ]]; }

[ "$(id -u)" = 0 ] || die "must run as root (FUSE mounts for s3backer and nbdfuse); try: sudo make bench"
for t in fio nbdkit nbdinfo nbdfuse nbdsh fusermount3 haproxy curl mkfs.ext4 fallocate tar xz losetup; do
  command -v "$t" >/dev/null || die "'$t' is not installed (bench/install-deps.sh)"
done
if has s3backer; then command -v s3backer >/dev/null || die "'s3backer' is not installed (bench/install-deps.sh)"; fi
for f in "$PLUGIN" "$CLI" "$S3LOAD" "$FILEIO"; do [ -x "$f" ] || [ -f "$f" ] || die "not built: $f (make bench-build)"; done

# ---- cleanup: everything this run started, by pid or mount point --------------------------
PIDS=()       # background nbdkit/nbdfuse processes we started
MOUNTS=()     # FUSE and loop mount points we mounted
cleanup() {
  local rc=$? m p i
  set +e
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do   # newest first: ext4 before the FUSE file under it
    m=${MOUNTS[i]}
    mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
  done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  [ -f "$W/haproxy.pid" ] && stop_pid "$(cat "$W/haproxy.pid")"
  [ -f "$W/rgw.started" ] && { bash "$REPO/tests/lib/rgw-stop.sh" >/dev/null 2>&1; rm -f "$W/rgw.started"; }
  [ "$rc" = 0 ] || say "FAILED (rc=$rc); logs in $W"
  exit "$rc"
}
stop_pid() { # PID: TERM, wait up to 20 s (a cache flushes on exit), then KILL
  local p=$1 i
  kill "$p" 2>/dev/null || return 0
  for i in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$W"; mkdir -p "$W/out" "$OUT"
TSV=$OUT/results.tsv
T_START=$(date +%s)

# ---- S3 server and the counting/delay front ----------------------------------------------
if [ -n "${BENCH_S3_ENDPOINT:-}" ]; then
  UPSTREAM=${BENCH_S3_ENDPOINT#http://}; UPSTREAM=${UPSTREAM%/}
  S3_PIDS=""
  say "using S3 server $BENCH_S3_ENDPOINT"
else
  say "starting Ceph RGW (${BENCH_STORE:-memstore}) on 127.0.0.1:$RGW_PORT ..."
  touch "$W/rgw.started"
  bash "$REPO/tests/lib/rgw-start.sh" "${BENCH_STORE:-memstore}" >&2 || die "Ceph RGW did not start"
  UPSTREAM=127.0.0.1:$RGW_PORT
  export AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-AKIATEST} AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-testsecret}
  S3_PIDS=$(cat "$S3NBD_RGW_DIR"/run/*.pid 2>/dev/null | tr '\n' ' ')
fi
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
STATS_SOCK=$W/haproxy-stats.sock
COUNT_LISTEN=127.0.0.1:$COUNT_PORT DELAY_LISTEN=127.0.0.1:$DELAY_PORT UPSTREAM=$UPSTREAM \
  STATS_SOCK=$STATS_SOCK DELAY_LUA=$REPO/bench/delay.lua DELAY_MS=$DELAY_MS \
  haproxy -f "$REPO/bench/haproxy.cfg" -D -p "$W/haproxy.pid" 2>"$W/haproxy.log" || die "haproxy did not start ($W/haproxy.log)"
for i in $(seq 50); do [ -S "$STATS_SOCK" ] && break; sleep 0.1; done
COUNT_EP=http://127.0.0.1:$COUNT_PORT
DELAY_EP=http://127.0.0.1:$DELAY_PORT
"$S3LOAD" mkbucket --endpoint "$COUNT_EP" --bucket s3nbd-bench >/dev/null || die "cannot create bucket s3nbd-bench"
echo "${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}" >"$W/s3backer-access"; chmod 600 "$W/s3backer-access"

# ---- measuring ----------------------------------------------------------------------------
ticks() { # PIDS...: their utime+stime in clock ticks (0 for gone processes)
  local t=0 p s
  for p in "$@"; do
    s=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    set -- $s; t=$((t + ${12} + ${13}))
  done
  echo "$t"
}
reqs() { # S3 requests so far, by method: "get put head delete post other"
  curl -s -m 10 --unix-socket "$STATS_SOCK" 'http://stats/;csv' |
    awk -F, '$2=="BACKEND"{n[$1]=$49} END{printf "%d %d %d %d %d %d\n", n["s3_get"], n["s3_put"], n["s3_head"], n["s3_delete"], n["s3_post"], n["s3_other"]}'
}
now() { date +%s.%N; }
HZ=$(getconf CLK_TCK)
printf 'scenario\ttarget\tjob\tMBps\tIOPS\tp50_ms\tp99_ms\tseconds\tbytes\ts3_requests\tGET\tPUT\tHEAD\tDELETE\tPOST\tserver_cpu_pct\ts3_cpu_pct\tnote\n' >"$TSV"

SRV_PIDS=""   # set by the target's start function: the serving processes (nbdkit / s3backer)
# measure SCENARIO TARGET JOB KIND NOTE CMD...: runs CMD, then records one row. KIND: fio (CMD
# writes $MOUT.json), s3load (CMD prints its line), time (only seconds matter). A write job then
# waits for the target's write-back to reach S3 (drain_TARGET) and counts that time too.
measure() {
  local sc=$1 tg=$2 job=$3 kind=$4 note=$5; shift 5
  MOUT=$W/out/$sc.$tg.$job
  local r0 r1 c0 c1 s0 s1 t0 t1 d0 d1 rc=0
  r0=$(reqs); c0=$(ticks $SRV_PIDS); s0=$(ticks $S3_PIDS); t0=$(now)
  "$@" >"$MOUT.out" 2>"$MOUT.err" || rc=$?
  d0=$(now)
  case $job in seqwrite|randwrite|mixed|mkfs*|trim*|untar-sync) drain "$tg" ;; esac
  d1=$(now)
  t1=$(now); r1=$(reqs); c1=$(ticks $SRV_PIDS); s1=$(ticks $S3_PIDS)
  # after the clock: a target whose drain means "all in S3" must show it (or the run fails)
  case $job in seqwrite|randwrite|mixed|mkfs*|trim*|untar-sync)
    if [ "$rc" = 0 ] && declare -F "drained_$tg" >/dev/null; then "drained_$tg" "$t1"; fi ;;
  esac
  if [ "$rc" != 0 ]; then
    note="FAILED rc=$rc: $(tr '\n' ' ' <"$MOUT.err" | cut -c1-120)"
    say "$sc $tg $job: $note"
  fi
  local m
  m=$("$PY" "$REPORT" metrics "$kind" "$MOUT" "$t0" "$t1" "$d0" "$d1") || m=$'-\t-\t-\t-\t-\t-'
  local q d=() i
  read -r -a a0 <<<"$r0"; read -r -a a1 <<<"$r1"
  for i in 0 1 2 3 4 5; do d+=($((a1[i] - a0[i]))); done
  q=$((d[0] + d[1] + d[2] + d[3] + d[4] + d[5]))
  local wall cpu_s cpu_3
  wall=$(awk "BEGIN{print $t1-$t0}")
  cpu_s=$(awk "BEGIN{printf \"%.0f\", ($c1-$c0)/$HZ/$wall*100}")
  cpu_3=$(awk "BEGIN{printf \"%.0f\", ($s1-$s0)/$HZ/$wall*100}")
  [ -n "$SRV_PIDS" ] || cpu_s=-
  [ -n "$S3_PIDS" ] || cpu_3=-
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$tg" "$job" "$m" "$q" \
    "${d[0]}" "${d[1]}" "${d[2]}" "${d[3]}" "${d[4]}" "$cpu_s	$cpu_3	$note" >>"$TSV"
  tail -n 1 "$TSV" | awk -F'\t' '{printf "bench: %-9s %-14s %-14s MB/s=%-8s IOPS=%-8s p50=%-7s p99=%-7s s=%-6s S3req=%-6s cpu=%s/%s %s\n", $1,$2,$3,$4,$5,$6,$7,$8,$10,$16,$17,$18}' >&2
}
sum_row() { # SCENARIO TARGET JOB NOTE: a row adding up the last two rows (seconds, S3 requests, CPU)
  tail -n 2 "$TSV" | awk -F'\t' -v OFS='\t' -v sc="$1" -v tg="$2" -v job="$3" -v note="$4" '
    { if ($18 ~ /FAILED/ || $8 == "-") bad = 1
      s += $8; for (i = 10; i <= 15; i++) n[i] += $i; cs += $16 * $8; c3 += $17 * $8
      if ($16 == "-") nocs = 1; if ($17 == "-") noc3 = 1 }
    END { if (bad) { print sc, tg, job, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "FAILED: a phase failed"; exit }
          print sc, tg, job, "-", "-", "-", "-", sprintf("%.2f", s), "-", n[10], n[11], n[12], n[13], n[14], n[15],
                (nocs ? "-" : sprintf("%.0f", cs / s)), (noc3 ? "-" : sprintf("%.0f", c3 / s)), note }' >>"$TSV"
  tail -n 1 "$TSV" | awk -F'\t' '{printf "bench: %-9s %-14s %-14s s=%-6s S3req=%-6s cpu=%s/%s %s\n", $1,$2,$3,$8,$10,$16,$17,$18}' >&2
}

# ---- fio jobs -----------------------------------------------------------------------------
FIO_TGT=()   # set by the target: how fio reaches it
fio_job() { # JOB: the job's fio arguments
  local common=(--name="$1" --output-format=json --output="$MOUT.json" --group_reporting
                --size="${SEQ_MB}M" --randrepeat=0 --norandommap)
  case $1 in
    seqwrite)       echo "${common[@]} --rw=write --bs=1M --iodepth=16 --runtime=$SEQ_TIME --end_fsync=1" ;;
    seqread-*)      echo "${common[@]} --rw=read --bs=1M --iodepth=16 --runtime=$SEQ_TIME" ;;
    randread-*)     echo "${common[@]} --rw=randread --bs=4k --iodepth=32 --runtime=$RAND_TIME --time_based" ;;
    randwrite)      echo "${common[@]} --rw=randwrite --bs=4k --iodepth=32 --runtime=$RAND_TIME --time_based --end_fsync=1" ;;
    mixed)          echo "${common[@]} --rw=randrw --rwmixread=70 --bs=4k --iodepth=32 --runtime=$RAND_TIME --time_based --end_fsync=1" ;;
    # a database's commit pattern: each 4 KiB write followed by a FLUSH, queue depth 1
    fsync4k)        echo "${common[@]} --rw=randwrite --bs=4k --iodepth=1 --fsync=1 --runtime=$FSYNC_TIME --time_based" ;;
  esac
}
run_fio() { # JOB: fio against the current target (MOUT is set by measure)
  # shellcheck disable=SC2046
  timeout $((SEQ_TIME + RAND_TIME + 300)) fio $(fio_job "$1") "${FIO_TGT[@]}"
}

# ---- targets: start_T VOLNAME SIZE_MB / stop_T / cold_T (drop caches: new process) / drain_T
NBD_PID=""; SOCK=$W/nbd.sock
nbd_serve() { # nbdkit ARGS...: a fresh nbdkit on $SOCK; waits until it answers
  rm -f "$SOCK"
  nbdkit -f -U "$SOCK" "$@" >>"$W/nbdkit.log" 2>&1 &
  NBD_PID=$!; PIDS+=("$NBD_PID"); SRV_PIDS=$NBD_PID
  local i
  for i in $(seq 600); do
    kill -0 "$NBD_PID" 2>/dev/null || die "nbdkit $* exited (see $W/nbdkit.log)"
    [ -S "$SOCK" ] && timeout 10 nbdinfo --size "nbd+unix:///?socket=$SOCK" >/dev/null 2>&1 && break
    sleep 0.1
  done
  FIO_TGT=(--ioengine=nbd --uri="nbd+unix:///?socket=$SOCK")
}
nbd_stop() { [ -z "$NBD_PID" ] || stop_pid "$NBD_PID"; NBD_PID=""; SRV_PIDS=""; }

EP=$COUNT_EP   # the S3 endpoint targets use: the counting front, or the delay front
S3NBD_ARGS=(); S3NBD_VOL=""
# the help text whole, then grep: `nbdkit --help | grep -q` fails under pipefail when grep's early
# exit kills nbdkit with SIGPIPE, which read as "no cache" and used to turn the cache rows into n/a
s3nbd_cache_supported() { grep -q '^cache=' <<<"$(nbdkit "$PLUGIN" --help 2>&1)"; }
start_s3nbd() { # VOLNAME SIZE_MB
  S3NBD_VOL=$1
  "$CLI" create --endpoint "$EP" --bucket s3nbd-bench --prefix "$1" --size "${2}M" --block-size "$BS" \
    >>"$W/create.log" 2>&1 || die "s3nbd create $1 failed ($W/create.log)"
  S3NBD_ARGS=("$PLUGIN" endpoint="$EP" bucket=s3nbd-bench prefix="$1" statsfile="$W/stats-$1")
  nbd_serve "${S3NBD_ARGS[@]}"
}
stop_s3nbd() { nbd_stop; }
cold_s3nbd() { nbd_stop; nbd_serve "${S3NBD_ARGS[@]}"; }
drain_s3nbd() { :; }   # without a cache an acknowledged write is a completed PUT
start_s3nbd-cache() { # VOLNAME SIZE_MB [PLUGIN_ARGS]: default cache settings, the cache file in the work dir
  S3NBD_VOL=$1
  "$CLI" create --endpoint "$EP" --bucket s3nbd-bench --prefix "$1" --size "${2}M" --block-size "$BS" \
    >>"$W/create.log" 2>&1 || die "s3nbd create $1 failed ($W/create.log)"
  rm -rf "$W/cache-$1"; mkdir -p "$W/cache-$1"
  S3NBD_ARGS=("$PLUGIN" endpoint="$EP" bucket=s3nbd-bench prefix="$1" cache="$W/cache-$1/cache"
              statsfile="$W/stats-$1" "${@:3}")
  nbd_serve "${S3NBD_ARGS[@]}"
}
stop_s3nbd-cache() { nbd_stop; }
# optional target (BENCH_TARGETS=s3nbd-cache-fit): the cache as large as the volume, so the
# working set fits as it does in s3backer's default 1000-block cache
start_s3nbd-cache-fit() { start_s3nbd-cache "$1" "$2" cache-size="${2}M"; }
stop_s3nbd-cache-fit() { nbd_stop; }
# fsync4k only: the default cache with flush=local (FLUSH = the cache file is durable)
start_s3nbd-cache-local() { start_s3nbd-cache "$1" "$2" flush=local; }
stop_s3nbd-cache-local() { nbd_stop; }
cold_s3nbd-cache-local() { cold_s3nbd-cache; }
drain_s3nbd-cache-local() { :; }
cold_s3nbd-cache-fit() { cold_s3nbd-cache; }
drain_s3nbd-cache-fit() { drain_s3nbd-cache; }
drained_s3nbd-cache-fit() { drained_s3nbd-cache "$@"; }
# cold: the process exits (flushing its write-back to S3), the cache file is removed
cold_s3nbd-cache() { nbd_stop; rm -rf "$W/cache-$S3NBD_VOL"; mkdir -p "$W/cache-$S3NBD_VOL"; nbd_serve "${S3NBD_ARGS[@]}"; }
# write-back with flush=remote (the default): an NBD FLUSH returns once every block dirty when
# it arrived is in S3. drain = one more NBD FLUSH (fio's end_fsync or the untar's sync already
# sent one), from libnbd's nbdsh: `s3nbd flush --socket PATH` without a VOLUME is refused today;
# then, after the clock, the stats file must show nothing left to upload
drain_s3nbd-cache() {
  PATH=/usr/bin:/bin timeout 900 nbdsh -u "nbd+unix:///?socket=$SOCK" -c 'h.flush()' >>"$W/flush.log" 2>&1 ||
    die "NBD FLUSH on $SOCK failed or took over 900 s ($W/flush.log)"
}
drained_s3nbd-cache() { # T1: the stats file written after T1 shows 0 dirty bytes, 0 queued, 0 in flight
  local f=$W/stats-$S3NBD_VOL i m dirty queue flying
  for i in $(seq 50); do
    m=$(stat -c %.9Y "$f" 2>/dev/null || echo 0)
    awk "BEGIN{exit !($m > $1)}" && break
    sleep 0.1
  done
  awk "BEGIN{exit !($m > $1)}" || die "drain: $f was not rewritten within 5 s"
  dirty=$(awk '$1=="cache_dirty_bytes"{print $2}' "$f"); queue=$(awk '$1=="writeback_queue"{print $2}' "$f")
  flying=$(awk '$1=="uploads_in_flight"{print $2}' "$f")
  [ "$dirty" = 0 ] && [ "$queue" = 0 ] && [ "$flying" = 0 ] ||
    die "drain: after the NBD FLUSH the stats show cache_dirty_bytes=$dirty writeback_queue=$queue uploads_in_flight=$flying ($f)"
}

start_nbdkit-memory() { nbd_serve memory size="${2}M"; }
stop_nbdkit-memory() { nbd_stop; }
cold_nbdkit-memory() { :; }   # the data lives only in the process: cold = warm
drain_nbdkit-memory() { :; }

start_nbdkit-file() { rm -f "$W/disk.img"; truncate -s "${2}M" "$W/disk.img"; nbd_serve file file="$W/disk.img"; }
stop_nbdkit-file() { nbd_stop; rm -f "$W/disk.img"; }
cold_nbdkit-file() { nbd_stop; dd if="$W/disk.img" iflag=nocache count=0 status=none; nbd_serve file file="$W/disk.img"; }
drain_nbdkit-file() { :; }

SB_MNT=$W/s3backer; SB_ARGS=()
sb_mount() {
  mkdir -p "$SB_MNT"
  # s3backer 1.5.4 failed to mount once in ~20 runs here (no message after listing): one retry
  if ! timeout 120 s3backer "${SB_ARGS[@]}" s3nbd-bench "$SB_MNT" >>"$W/s3backer.log" 2>&1; then
    say "s3backer did not mount; retrying once ($W/s3backer.log)"
    pkill -f "^s3backer .*$SB_MNT\$" 2>/dev/null || true
    mountpoint -q "$SB_MNT" && fusermount3 -u "$SB_MNT"
    sleep 1
    timeout 120 s3backer "${SB_ARGS[@]}" s3nbd-bench "$SB_MNT" >>"$W/s3backer.log" 2>&1 || die "s3backer did not mount ($W/s3backer.log)"
  fi
  MOUNTS+=("$SB_MNT")
  SRV_PIDS=$(pgrep -f "^s3backer .*$SB_MNT\$" | tr '\n' ' ')   # reading its CPU only
  FIO_TGT=(--ioengine=libaio --direct=1 --filename="$SB_MNT/file")
}
sb_umount() {   # unmounting flushes the block cache; wait until the process has gone
  local p=$SRV_PIDS i
  mountpoint -q "$SB_MNT" && fusermount3 -u "$SB_MNT"
  for i in $(seq 600); do [ -z "$p" ] || ! kill -0 $p 2>/dev/null && break; sleep 0.1; done
  SRV_PIDS=""
}
start_s3backer() { # VOLNAME SIZE_MB: Debian's 1.5.4, FUSE, block cache on (its defaults)
  SB_ARGS=(--baseURL="$EP/" --accessFile="$W/s3backer-access" --blockSize="$BS" --size="${2}M"
           --listBlocks --prefix="$1/" --statsFilename=stats)
  sb_mount
}
stop_s3backer() { sb_umount; }
cold_s3backer() { sb_umount; sb_mount; }
drain_s3backer() { # write-back block cache (it ignores fsync): wait until its dirty ratio, the share of
  # cache entries not CLEAN (DIRTY, WRITING, and READING ones), is 0; counted in the time
  local i
  for i in $(seq 3000); do
    grep -qE 'block_cache_dirty_ratio +0\.0000' "$SB_MNT/stats" 2>/dev/null && return 0
    sleep 0.1
  done
  die "drain: s3backer still has dirty or uploading blocks after 300 s ($SB_MNT/stats)"
}
drain_raw-s3() { :; }
clean_prefix() { "$S3LOAD" clean --endpoint "$COUNT_EP" --bucket s3nbd-bench --prefix "$1" >/dev/null || true; }

# ---- one target through the fio jobs ------------------------------------------------------
fio_target() { # SCENARIO TARGET JOBS...
  local sc=$1 tg=$2 vol="$1-$2" j prev=""; shift 2
  if [[ $tg == s3nbd-cache* ]] && ! s3nbd_cache_supported; then die "$tg: the plugin has no cache= option ($PLUGIN)"; fi
  say "$sc: $tg"
  "start_$tg" "$vol" "$VOL_MB"
  for j in "$@"; do
    case $j in *-cold) "cold_$tg" ;; esac
    local note=""
    [ "$tg" = nbdkit-memory ] && [[ $j == *-cold ]] && note="cold = warm: data lives only in the process"
    measure "$sc" "$tg" "$j" fio "$note" run_fio "$j"
    prev=$j
  done
  "stop_$tg"
  case $tg in s3nbd*|s3backer) clean_prefix "$vol" ;; esac
}
raw_target() { # SCENARIO JOBS...: s3load PUT then GET of block-sized objects, THREADS threads
  local sc=$1 j n=$SEQ_MB; shift
  SRV_PIDS=""
  say "$sc: raw-s3 ($THREADS threads)"
  for j in "$@"; do
    case $j in
      seqwrite) measure "$sc" raw-s3 "$j" s3load "PUT 1 MiB objects, $THREADS threads" \
                  "$S3LOAD" put --endpoint "$EP" --bucket s3nbd-bench --prefix "raw-$sc" --object-size 1048576 \
                  --count "$n" --threads "$THREADS" --seconds "$SEQ_TIME" ;;
      seqread-cold) measure "$sc" raw-s3 "$j" s3load "GET 1 MiB objects, $THREADS threads" \
                  "$S3LOAD" get --endpoint "$EP" --bucket s3nbd-bench --prefix "raw-$sc" \
                  --count "$n" --threads "$THREADS" --seconds "$SEQ_TIME" ;;
      randwrite) measure "$sc" raw-s3 "$j" s3load "PUT 4 KiB objects, 32 threads" \
                  "$S3LOAD" put --endpoint "$EP" --bucket s3nbd-bench --prefix "raw4k-$sc" --object-size 4096 \
                  --count 1000000 --threads 32 --seconds "$RAND_TIME" ;;
      fsync4k) measure "$sc" raw-s3 "$j" s3load "PUT 4 KiB objects, 1 thread (queue depth 1)" \
                  "$S3LOAD" put --endpoint "$EP" --bucket s3nbd-bench --prefix "raw4k-$sc" --object-size 4096 \
                  --count 1000000 --threads 1 --seconds "$FSYNC_TIME" ;;
      randread-cold) measure "$sc" raw-s3 "$j" s3load "GET 4 KiB objects, 32 threads" \
                  "$S3LOAD" get --endpoint "$EP" --bucket s3nbd-bench --prefix "raw4k-$sc" \
                  --count "$(grep -o 'objects=[0-9]*' "$W/out/$sc.raw-s3.randwrite.out" 2>/dev/null | cut -d= -f2 || echo 0)" \
                  --threads 32 --seconds "$RAND_TIME" ;;
    esac
  done
  clean_prefix "raw-$sc"; clean_prefix "raw4k-$sc"
}

# ---- mkfs.ext4 on 10 GiB and TRIM of 100 GiB, through a file (nbdfuse, or s3backer's file) --
FUSE_DIR=$W/nbdfuse; FILE=""; FUSE_PID=""
file_of() { # TARGET: sets FILE to a file view of the running target (nbdfuse for NBD servers)
  if [ "$1" = s3backer ]; then FILE=$SB_MNT/file; return 0; fi
  mkdir -p "$FUSE_DIR"
  nbdfuse "$FUSE_DIR" --unix "$SOCK" >>"$W/nbdfuse.log" 2>&1 &   # stays in the foreground
  FUSE_PID=$!; PIDS+=("$FUSE_PID"); MOUNTS+=("$FUSE_DIR")
  local i; for i in $(seq 100); do [ -e "$FUSE_DIR/nbd" ] && break; sleep 0.1; done
  [ -e "$FUSE_DIR/nbd" ] || die "nbdfuse did not mount ($W/nbdfuse.log)"
  FILE=$FUSE_DIR/nbd
}
unfile() { # TARGET
  [ "$1" = s3backer ] && return 0
  mountpoint -q "$FUSE_DIR" && fusermount3 -u "$FUSE_DIR"
  [ -z "$FUSE_PID" ] || stop_pid "$FUSE_PID"
  FUSE_PID=""
}
mkfs_target() { # TARGET
  local tg=$1 vol=mkfs-$1 f job=mkfs.ext4-${MKFS_GB}G
  if [[ $tg == s3nbd-cache* ]] && ! s3nbd_cache_supported; then die "$tg: the plugin has no cache= option ($PLUGIN)"; fi
  "start_$tg" "$vol" $((MKFS_GB * 1024))
  file_of "$tg"; f=$FILE
  # default mkfs.ext4: it discards the whole device first (punch hole on the file = NBD TRIM)
  measure local "$tg" "$job" time "default options (discard, lazy inode tables); includes sync and write-back drain" \
    bash -c "mkfs.ext4 -q -F '$f' && sync '$f'"
  unfile "$tg"; "stop_$tg"
  case $tg in s3nbd*|s3backer) clean_prefix "$vol" ;; esac
}
trim_target() { # TARGET: TRIM_GB volume with TRIM_BLOCKS scattered 1 MiB blocks, then punch all
  local tg=$1 vol=trim-$1 f job=trim-${TRIM_GB}G
  if [[ $tg == s3nbd-cache* ]] && ! s3nbd_cache_supported; then die "$tg: the plugin has no cache= option ($PLUGIN)"; fi
  "start_$tg" "$vol" $((TRIM_GB * 1024))
  MOUT=$W/out/trim-fill.$tg
  timeout 300 fio --name=fill --output-format=json --output="$MOUT.json" --rw=randwrite --bs=1M --size="${TRIM_GB}G" \
    --number_ios="$TRIM_BLOCKS" --iodepth=16 --end_fsync=1 "${FIO_TGT[@]}" >/dev/null 2>&1 || say "trim fill failed on $tg"
  drain "$tg"
  file_of "$tg"; f=$FILE
  # nbdfuse refuses one punch over 4 GiB (ERANGE: an NBD request is 32-bit): 2 GiB at a time
  measure local "$tg" "$job" time "fallocate --punch-hole over the whole file in 2 GiB steps; $TRIM_BLOCKS blocks were written" \
    timeout 600 bash -c 'for ((g = 0; g < $1; g += 2)); do fallocate --punch-hole --offset ${g}GiB --length 2GiB "$2" || exit 1; done' trim "$TRIM_GB" "$f"
  unfile "$tg"; "stop_$tg"
  case $tg in s3nbd*|s3backer) clean_prefix "$vol" ;; esac
}
drain() { "drain_$1"; }

# ---- untar: a Linux kernel source tree onto ext4 over each target, then sync and drain -------
# ext4 over NBD without a kernel nbd module: nbdfuse exposes the export as a file (s3backer has its
# own FUSE file), and mount -o loop puts ext4 on it. Phases, each its own row: `untar` (tar -x from
# an uncompressed tar in the page cache: xz would cost the same CPU everywhere), `untar-sync`
# (syncfs of the ext4 and fsync of the device file, then drain_TARGET), `untar-total` (their sum).
UNTAR_CACHE=${BENCH_UNTAR_CACHE:-/var/tmp/s3nbd-bench-untar}
UNTAR_TAR=""; UNTAR_DESC=""; UNTAR_FILES=0
untar_prepare() { # sets UNTAR_TAR (made once from Debian's linux-source tarball, kept in UNTAR_CACHE)
  local xz top full key tmp p sel=()
  xz=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
  [ -n "$xz" ] || die "untar: no /usr/src/linux-source-*.tar.xz (Debian's linux-source; bench/install-deps.sh)"
  top=$(basename "$xz" .tar.xz)
  mkdir -p "$UNTAR_CACHE"
  full=$UNTAR_CACHE/$top.tar
  if [ ! -f "$full" ] || [ "$full" -ot "$xz" ]; then
    say "untar: unpacking $xz into $full (once; later runs reuse it)"
    { xz -dc "$xz" >"$full.part" && mv "$full.part" "$full"; } || die "untar: cannot unpack $xz"
  fi
  UNTAR_TAR=$full
  if [ -n "$UNTAR_PATHS" ]; then   # a subtree: extracted once into its own tar
    key=$(tr ' /' '+-' <<<"$UNTAR_PATHS")
    UNTAR_TAR=$UNTAR_CACHE/$top-$key.tar
    if [ ! -f "$UNTAR_TAR" ] || [ "$UNTAR_TAR" -ot "$full" ]; then
      tmp=$UNTAR_CACHE/tmp.$$; rm -rf "$tmp"; mkdir -p "$tmp"
      for p in $UNTAR_PATHS; do sel+=("$top/$p"); done
      { tar -xf "$full" -C "$tmp" "${sel[@]}" && tar -cf "$UNTAR_TAR.part" -C "$tmp" "$top" &&
        mv "$UNTAR_TAR.part" "$UNTAR_TAR"; } || { rm -rf "$tmp" "$UNTAR_TAR.part"; die "untar: cannot cut $UNTAR_PATHS out of $full"; }
      rm -rf "$tmp"
    fi
  fi
  UNTAR_FILES=$(tar -tf "$UNTAR_TAR" | grep -vc '/$')
  UNTAR_DESC="$top${UNTAR_PATHS:+ (${UNTAR_PATHS// /, })}: $UNTAR_FILES files, $(( $(stat -c %s "$UNTAR_TAR") / 1048576 )) MiB tar, ext4 on ${UNTAR_GB} GiB"
  say "untar: $UNTAR_DESC"
}
drain_desc() { # TARGET: what untar-sync's drain is, for the row's note
  case $1 in
    s3nbd-cache*) echo "syncfs + fsync (NBD FLUSH); drain: one more NBD FLUSH (flush=remote: all dirty blocks in S3), then the stats file shows 0 dirty/queued/in flight" ;;
    s3nbd) echo "syncfs + fsync (NBD FLUSH); drain: none (no cache: an acknowledged write is a completed PUT)" ;;
    s3backer) echo "syncfs + fsync (s3backer ignores it); drain: until its stats show block_cache_dirty_ratio 0 (no DIRTY/WRITING block)" ;;
    *) echo "syncfs + fsync (NBD FLUSH); drain: none (local)" ;;
  esac
}
sync_ext4() { # MNT FILE: syncfs of the ext4, fsync of the file under the loop device
  timeout "$UNTAR_TIME" sync -f "$1" && timeout "$UNTAR_TIME" sync "$2"
}
untar_target() { # TARGET
  local tg=$1 vol=untar-$1 f mnt=$W/ext4 n
  "start_$tg" "$vol" $((UNTAR_GB * 1024))
  file_of "$tg"; f=$FILE
  # set-up, not measured: inode tables and journal written now (not by ext4lazyinit during the
  # job), no discard; then everything it wrote reaches S3 before the clock starts
  mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$f" >>"$W/untar.log" 2>&1 ||
    die "untar: mkfs.ext4 on $tg failed ($W/untar.log)"
  sync "$f"; drain "$tg"
  mkdir -p "$mnt"
  mount -o loop "$f" "$mnt" >>"$W/untar.log" 2>&1 || die "untar: mount -o loop on $tg failed ($W/untar.log)"
  MOUNTS+=("$mnt")
  measure local "$tg" untar time "$UNTAR_DESC" timeout "$UNTAR_TIME" tar -xf "$UNTAR_TAR" -C "$mnt"
  measure local "$tg" untar-sync time "$(drain_desc "$tg")" sync_ext4 "$mnt" "$f"
  sum_row local "$tg" untar-total "untar + untar-sync"
  if ! tail -n 1 "$TSV" | grep -q FAILED; then   # the tree is all there (a check, not a measurement)
    n=$(find "$mnt" -mindepth 1 ! -type d | wc -l)
    [ "$n" = "$UNTAR_FILES" ] || die "untar: $tg holds $n files after the untar, the tar has $UNTAR_FILES"
  fi
  umount "$mnt" || die "untar: cannot unmount the ext4 on $tg"
  unfile "$tg"; "stop_$tg"
  case $tg in s3nbd*|s3backer) clean_prefix "$vol" ;; esac
}

# ---- the run ------------------------------------------------------------------------------
say "mode $MODE: sequential ${SEQ_MB} MiB (cap ${SEQ_TIME}s), random jobs ${RAND_TIME}s; targets: $TARGETS"
# shellcheck disable=SC2086
for tg in $TARGETS; do
  [ -n "$JOBS" ] || break
  if [ "$tg" = raw-s3 ]; then raw_target local seqwrite seqread-cold randwrite randread-cold
  else fio_target local "$tg" $JOBS; fi
done
if [[ " $EXTRA " == *" mkfs "* ]]; then
  for tg in $TARGETS; do [ "$tg" = raw-s3 ] || mkfs_target "$tg"; done
fi
if [[ " $EXTRA " == *" trim "* ]]; then
  for tg in $TARGETS; do [ "$tg" = raw-s3 ] || trim_target "$tg"; done
fi
if [[ " $EXTRA " == *" fsync "* ]]; then   # 4 KiB write + FLUSH at queue depth 1
  for tg in $TARGETS s3nbd-cache-local; do
    case $tg in
      raw-s3) raw_target local fsync4k ;;
      s3nbd-cache-fit|nbdkit-memory) ;;   # the same as s3nbd-cache here / no durability at all
      s3nbd-cache-local) has s3nbd-cache && fio_target local "$tg" fsync4k ;;
      *) fio_target local "$tg" fsync4k ;;
    esac
  done
fi
if [[ " $EXTRA " == *" untar "* ]]; then
  untar_prepare
  for tg in $TARGETS; do [ "$tg" = raw-s3 ] || untar_target "$tg"; done
fi
if [[ " $EXTRA " == *" delay "* ]]; then
  EP=$DELAY_EP
  sc=delay${DELAY_MS}ms
  for tg in $TARGETS; do
    case $tg in
      raw-s3) raw_target "$sc" $(tr ' ' '\n' <<<"$DELAY_JOBS" | grep '^seq') ;;   # 4 KiB objects: local only
      s3nbd*|s3backer) fio_target "$sc" "$tg" $DELAY_JOBS ;;
    esac
  done
  EP=$COUNT_EP
fi
FILEIO_OUT=""
if [[ " $EXTRA " == *" fileio "* ]]; then   # the cache's io_uring path against pread/pwrite
  say "fileio: io_uring (RunOnThreadRing) against pread/pwrite on a page-cached file"
  FILEIO_OUT=$("$FILEIO" "$W" "$([ "$MODE" = full ] && echo 2 || echo 0.5)") || die "s3nbd-bench-fileio failed"
fi
ELAPSED=$(( $(date +%s) - T_START ))
"$PY" "$REPORT" finalize "$TSV" "$OUT" "$MODE" "$ELAPSED" "$DELAY_MS"
if [ -n "$FILEIO_OUT" ]; then
  echo "$FILEIO_OUT"
  printf '\n## Cache-file I/O: io_uring against pread/pwrite (one thread, page-cached file)\n\n```\n%s\n```\n' \
    "$FILEIO_OUT" >> "$OUT/results.md"
fi
# loud, after the report: any job that failed fails the run
if awk -F'\t' 'NR > 1 && $18 ~ /FAILED/ {print; bad = 1} END {exit !bad}' "$TSV" >&2; then
  die "the rows above FAILED"
fi
