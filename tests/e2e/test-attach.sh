#!/bin/bash
# `s3nbd attach` / `s3nbd detach` on the REAL kernel nbd driver, with the server restarted under
# a mounted ext4. The host serves the volume (`s3nbd serve`, a unix socket); a Debian-kernel guest
# (qemu TCG, no network) reaches that socket over 8 virtio-serial ports whose qemu chardevs
# reconnect (reconnect=1) and runs the very ExecStart= / ExecStop= commands of
# systemd/s3nbd-attach@.service. The guest makes ext4 and writes files; the host then kills the
# server (SIGKILL; uncached, every acknowledged write is already in S3) and starts it again,
# twice: while the guest keeps writing and re-reading (the kernel holds the I/O), and while it is
# idle. Each time attach's reconnect daemon hands the kernel new connections, and the filesystem
# must stay read-write without an I/O error. (Not a graceful `s3nbd stop`: nbdkit 1.32 answers
# requests that arrive during its shutdown with ESHUTDOWN, an I/O error for the kernel, and waits
# for idle clients; see s3nbd(8), attach.) After detach a
# fresh server's copy must match the guest's device hash, e2fsck clean, with every file intact.
# 160 MiB volume, 64 KiB blocks.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/e2e/lib/e2e.sh
source "$REPO/tests/e2e/lib/e2e.sh"

# PORTS virtio-serial ports, each used once by the guest (guest/lib.sh vport_bridge): CONNS at
# attach, CONNS after each restart, and spares for tries that meet a dead session
SIZE=$((160 * 1048576)) BS=65536 CONNS=2 PORTS=8 VOL=att
# what the guest does during each restart (guest/job-attach.sh)
MODES=(busy idle)
RESTARTS=${#MODES[@]}
B=$(new_bucket)
create_volume "$B" attach $SIZE $BS

# The unit's commands, %i = the volume: exactly what the guest runs (its s3nbd is /usr/bin/s3nbd).
UNIT=$REPO/systemd/s3nbd-attach@.service
unit_cmd() { # KEY: the one KEY= line of the unit with %i replaced, words joined by ','
  local lines
  lines=$(grep -c "^$1=" "$UNIT" || true)
  [ "$lines" = 1 ] || fail "$UNIT has $lines $1= lines, want 1"
  local cmd
  cmd=$(sed -n "s/^$1=//p" "$UNIT")
  [[ $cmd =~ ^/usr/bin/s3nbd\ [a-z]+\ %i$ ]] || fail "$UNIT: $1=$cmd is not '/usr/bin/s3nbd VERB %i'"
  echo "${cmd//%i/$VOL}" | tr ' ' ,
}
ATTACH=$(unit_cmd ExecStart) DETACH=$(unit_cmd ExecStop)
log "unit: ExecStart=$ATTACH ExecStop=$DETACH (',' for ' ')"

# the host's server: s3nbd serve from a conf, on a socket path that survives restarts
export S3NBD_CONFIG_DIR=$T/conf S3NBD_RUN_DIR=$T/run
mkdir -p "$S3NBD_CONFIG_DIR" "$S3NBD_RUN_DIR"
SOCK=$T/att.sock
cat >"$S3NBD_CONFIG_DIR/$VOL.conf" <<CONF
endpoint = $S3_ENDPOINT
bucket = $B
prefix = attach
socket = $SOCK
CONF
serve() {
  run_s3nbd serve "$VOL" >>"$T/serve.log" 2>&1 || { tail -n 20 "$T/serve.log" >&2; return 1; }
}
serve || fail "s3nbd serve $VOL failed"
on_exit "kill -9 \$(cat $S3NBD_RUN_DIR/$VOL.pid)"   # a guest may still hold connections

# restarts the server when the guest asks for restart R (its console line "E2E: restart=R")
restarter() {
  local r t0 pid i
  for ((r = 1; r <= RESTARTS; r++)); do
    for ((i = 0; i < 6000; i++)); do
      grep -aq "^E2E: restart=$r" "$T/console.log" 2>/dev/null && break
      grep -aq '^E2E-RESULT:' "$T/console.log" 2>/dev/null && return 1
      sleep 0.1
    done
    sleep 2   # busy: let the guest's writes be in flight; idle: let it settle
    t0=$(date +%s.%N)
    pid=$(cat "$S3NBD_RUN_DIR/$VOL.pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    serve || return 1
    echo "host: restart $r (guest ${MODES[r - 1]}: SIGKILL, then s3nbd serve): $(awk -v a="$t0" -v b="$(date +%s.%N)" \
      'BEGIN { printf "%.1f", b - a }')s"
    touch "$T/restart$r.done"
  done
}
: >"$T/console.log"
restarter >"$T/restarter.log" 2>&1 &
RESTARTER=$!
_SERVER_PIDS+=("$RESTARTER")

ports=(-device "virtio-serial-pci,id=vs0")
for ((i = 0; i < PORTS; i++)); do
  ports+=(-chardev "socket,id=c$i,path=$SOCK,reconnect=1"
          -device "virtserialport,bus=vs0.0,chardev=c$i,name=org.s3nbd.nbd$i")
done
run_guest "$T/console.log" "e2e.job=attach e2e.size=$SIZE e2e.mb=16 e2e.conns=$CONNS e2e.ports=$PORTS \
e2e.volume=$VOL e2e.bucket=$B e2e.prefix=attach e2e.restarts=$(IFS=,; echo "${MODES[*]}") \
e2e.attach=$ATTACH e2e.detach=$DETACH" "${ports[@]}"
wait "$RESTARTER" || { cat "$T/restarter.log" >&2; fail "the host's restarts failed"; }
sed 's/^/    /' "$T/restarter.log" >&2
for ((r = 1; r <= RESTARTS; r++)); do
  [ -e "$T/restart$r.done" ] || fail "restart $r did not happen"
done
grep -aq '^E2E: nbd0 detached' "$T/console.log" || fail "the guest did not report detaching /dev/nbd0"
grep -aq '^E2E: fs_rw_after_restarts=yes kernel_io_errors=0' "$T/console.log" ||
  fail "the guest did not report a read-write filesystem without I/O errors"
grep -aq '^E2E: stop_refused_while_attached=yes' "$T/console.log" ||
  fail "the guest did not report 's3nbd stop' refused while attached"
run_s3nbd stop "$VOL" >>"$T/serve.log" 2>&1 || fail "s3nbd stop $VOL failed"

during=$(guest_value "$T/console.log" during_files)
[[ $during =~ ^[0-9]+$ ]] || fail "the guest reported no count of the files written during restarts"
verify_guest_fs "$T/console.log" "$B" attach $SIZE $BS $((43 + during))
c=$T/console.log
log "figures: guest ${GUEST_SECS}s, attach $(guest_value "$c" attach_s)s, mkfs $(guest_value "$c" mkfs_s)s," \
  "write $(guest_value "$c" write_mbps) MB/s, read $(guest_value "$c" read_mbps) MB/s;" \
  "restart 1 (guest busy): $(guest_value "$c" restart1_s)s, $(guest_value "$c" restart1_writes)" \
  "rounds of fsync'd write + re-read, the longest $(guest_value "$c" restart1_longest_round_s)s; restart 2 (guest idle):" \
  "$(guest_value "$c" restart2_s)s, then $(guest_value "$c" restart2_writes) writes;" \
  "$(guest_value "$c" reconnected_sockets) sockets reconnected; detach $(guest_value "$c" detach_s)s"
log "ok"
