#!/bin/bash
# Stops the daemons started by tests/lib/rgw-start.sh by their pid files (radosgw first), waits
# for each to exit (bounded; SIGKILL after 10 s), and removes the state dir unless RGW_KEEP=1.
# env: S3NBD_RGW_DIR (default ${TMPDIR:-/tmp}/s3nbd-rgw)
set -uo pipefail
D=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
[ -d "$D" ] || exit 0
for n in client.rgw.a osd.0 mon.a; do
  f=$D/run/$n.pid
  [ -f "$f" ] || continue
  p=$(cat "$f")
  [[ $p =~ ^[0-9]+$ ]] || continue
  # only signal the pid if it still is the ceph daemon we started (pids get reused)
  grep -qE 'ceph|radosgw' "/proc/$p/cmdline" 2>/dev/null || { rm -f "$f"; continue; }
  kill "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  rm -f "$f"
done
[ "${RGW_KEEP:-0}" = 1 ] || rm -rf "$D"
exit 0
