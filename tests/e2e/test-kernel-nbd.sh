#!/bin/bash
# The REAL kernel nbd driver on s3nbd: a Debian-kernel guest (qemu TCG, no network) attaches
# /dev/nbd0 with nbd-client over 2 virtio-serial ports that qemu connected to our server's unix
# socket (multi-conn), makes ext4, writes 43 files, verifies them after a remount, hashes the device
# and detaches. The host then reads the volume through a fresh server and checks it all.
# 160 MiB volume, 64 KiB blocks (ext4's 4 KiB writes are partial-block writes).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/e2e/lib/e2e.sh
source "$REPO/tests/e2e/lib/e2e.sh"

SIZE=$((160 * 1048576)) BS=65536 CONNS=2
B=$(new_bucket)
create_volume "$B" knbd $SIZE $BS
serve_volume "$B" knbd

ports=(-device "virtio-serial-pci,id=vs0")
for ((i = 0; i < CONNS; i++)); do
  ports+=(-chardev "socket,id=c$i,path=$SERVER_SOCK"
          -device "virtserialport,bus=vs0.0,chardev=c$i,name=org.s3nbd.nbd$i")
done
run_guest "$T/console.log" "e2e.job=kernel-nbd e2e.size=$SIZE e2e.mb=24 e2e.conns=$CONNS" "${ports[@]}"
grep -aq '^E2E: nbd0 detached' "$T/console.log" || fail "the guest did not report detaching /dev/nbd0"
stop_volume

verify_guest_fs "$T/console.log" "$B" knbd $SIZE $BS
log "figures: guest ${GUEST_SECS}s, mkfs $(guest_value "$T/console.log" mkfs_s)s," \
  "write $(guest_value "$T/console.log" write_mbps) MB/s, read $(guest_value "$T/console.log" read_mbps) MB/s," \
  "device hash $(guest_value "$T/console.log" devsha_s)s"
log "ok"
