#!/bin/bash
# qemu's NBD block backend on s3nbd: a guest whose virtio-blk disk is
# -blockdev driver=nbd,server.type=unix (discards passed through) makes ext4 on /dev/vda, writes
# 43 files, verifies them after a remount and hashes the device. The host then reads the volume
# through a fresh server and checks it all. 192 MiB volume, 1 MiB blocks.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/e2e/lib/e2e.sh
source "$REPO/tests/e2e/lib/e2e.sh"

SIZE=$((192 * 1048576)) BS=1048576
B=$(new_bucket)
create_volume "$B" vblk $SIZE $BS
serve_volume "$B" vblk

run_guest "$T/console.log" "e2e.job=virtio-blk e2e.size=$SIZE e2e.mb=32" \
  -blockdev "driver=nbd,node-name=n0,server.type=unix,server.path=$SERVER_SOCK,discard=unmap" \
  -device virtio-blk-pci,drive=n0
stop_volume

verify_guest_fs "$T/console.log" "$B" vblk $SIZE $BS
log "figures: guest ${GUEST_SECS}s, mkfs $(guest_value "$T/console.log" mkfs_s)s," \
  "write $(guest_value "$T/console.log" write_mbps) MB/s, read $(guest_value "$T/console.log" read_mbps) MB/s," \
  "device hash $(guest_value "$T/console.log" devsha_s)s"
log "ok"
