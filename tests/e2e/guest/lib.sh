# Helpers for the guest's jobs (busybox sh): the console protocol, the virtio-serial bridge to the
# host's NBD server and the filesystem check that the kernel-nbd, attach and virtio-blk jobs
# share. Sourced by /init; runs as PID 1, single-threaded.
say() { echo "E2E: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
finish() { sync; poweroff -f; sleep 30; }
fail() { echo "E2E-RESULT: FAIL $*"; finish; }
secs_since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }
mbps() { awk -v mb="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", mb / s; else print "inf" }'; }

# vport_bridge SOCK N: every virtio-serial port named org.s3nbd.nbd<i> (N of them) is one
# connection qemu opened to the host's NBD server; socat listens on the unix socket SOCK and
# bridges each connection to one port. A port is used once: its session's state is unknown
# afterwards. Only a port whose host side is connected (debugfs host_connected) is taken, so a
# try while the server is down takes none; a port whose server went away carries a fresh
# session once qemu's chardev (reconnect=) has reconnected it to the new server.
vport_bridge() {
  sock=$1 want=$2 n=0
  : >/run/ports
  for p in /sys/class/virtio-ports/*; do
    case "$(cat "$p/name" 2>/dev/null)" in
      org.s3nbd.nbd*) echo "${p##*/}" >>/run/ports; n=$((n + 1)) ;;
    esac
  done
  [ "$n" -eq "$want" ] || fail "found $n virtio-serial NBD ports, want $want"
  mount -t debugfs debugfs /sys/kernel/debug || fail "mount debugfs"
  [ -r "/sys/kernel/debug/virtio-ports/$(head -n 1 /run/ports)" ] || fail "no virtio-ports in debugfs"
  cat >/bin/vportcat <<'EOS'
#!/bin/sh
for p in $(cat /run/ports); do
  grep -qx 'host_connected: 1' "/sys/kernel/debug/virtio-ports/$p" || continue
  mkdir "/run/claim.$p" 2>/dev/null || continue
  exec socat STDIO "GOPEN:/dev/$p"
done
echo "vportcat: no free port with its host side connected" >&2
exit 1
EOS
  chmod +x /bin/vportcat
  socat UNIX-LISTEN:"$sock",unlink-early,fork EXEC:/bin/vportcat &
  i=0
  while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$sock" ] || fail "socat did not create $sock"
}

# fs_check DEV: mkfs.ext4, mount, write a tree of files (their sha256 go to the console), unmount,
# drop caches, remount read-only and verify, then hash the whole device. Needs E2E_size (bytes the
# device must have) and E2E_mb (MiB of the big file whose write and read speed is printed).
fs_check() {
  fs_make_tree "$1"
  fs_verify_tree "$1" 43
}

# fs_make_tree DEV: the first half of fs_check; leaves the filesystem mounted on /mnt.
fs_make_tree() {
  dev=$1
  size=$(blockdev --getsize64 "$dev") || fail "blockdev --getsize64 $dev"
  [ "$size" = "$E2E_size" ] || fail "$dev has $size bytes, the volume has $E2E_size"
  say "device=$dev size=$size"

  t=$(up)
  mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev"
  say "mkfs_s=$(secs_since "$t")"
  mount -t ext4 "$dev" /mnt || fail "mount $dev"

  mkdir -p /mnt/e2e/small /mnt/e2e/deep/a/b/c || fail mkdir
  i=0
  while [ $i -lt 40 ]; do   # sizes 1 B .. ~39 KiB: many partial blocks
    dd if=/dev/urandom of=/mnt/e2e/small/f$i bs=$((i * 997 + 1)) count=1 2>/dev/null || fail "write small/f$i"
    i=$((i + 1))
  done
  dd if=/dev/urandom of=/mnt/e2e/deep/a/b/c/odd bs=4099 count=771 2>/dev/null || fail "write odd"
  echo "hello from $(uname -r) on $dev" >/mnt/e2e/deep/hello.txt || fail "write hello"
  # the big file comes from RAM so that dd times the device, not /dev/urandom
  dd if=/dev/urandom of=/tmp/big bs=1M count="$E2E_mb" 2>/dev/null || fail "make /tmp/big"
  t=$(up)
  dd if=/tmp/big of=/mnt/e2e/big bs=1M conv=fsync 2>/dev/null || fail "write big"
  s=$(secs_since "$t")
  say "write_mb=$E2E_mb write_s=$s write_mbps=$(mbps "$E2E_mb" "$s")"
  rm -f /tmp/big
  # overwrite the middle of a file in place: read-modify-write of blocks that already exist
  dd if=/dev/urandom of=/mnt/e2e/big bs=1000 seek=5000 count=3 conv=notrunc 2>/dev/null || fail "patch big"
}

# fs_verify_tree DEV FILES: the second half: the manifest of /mnt/e2e (FILES files) to the
# console, unmount, remount read-only from the device and verify, unmount, hash the device.
fs_verify_tree() {
  dev=$1 files=$2
  (cd /mnt && find e2e -type f | sort | xargs sha256sum) >/tmp/manifest || fail "sha256sum of the files"
  n=$(wc -l </tmp/manifest)
  [ "$n" -eq "$files" ] || fail "expected $files files in the manifest, got $n"
  while read -r line; do echo "E2E-SUM: $line"; done </tmp/manifest
  sync
  umount /mnt || fail "umount"

  # nothing may come from the page cache now: the device must give back what was written
  echo 3 >/proc/sys/vm/drop_caches
  blockdev --flushbufs "$dev" || fail "blockdev --flushbufs"
  mount -t ext4 -o ro "$dev" /mnt || fail "remount read-only"
  t=$(up)
  dd if=/mnt/e2e/big of=/dev/null bs=1M 2>/dev/null || fail "read big"
  s=$(secs_since "$t")
  say "read_mb=$E2E_mb read_s=$s read_mbps=$(mbps "$E2E_mb" "$s")"
  (cd /mnt && sha256sum -c -s /tmp/manifest) || fail "checksums differ after remount"
  umount /mnt || fail "umount after verify"

  echo 3 >/proc/sys/vm/drop_caches
  blockdev --flushbufs "$dev"
  t=$(up)
  devsum=$(sha256sum "$dev" | cut -d' ' -f1)
  [ -n "$devsum" ] || fail "sha256sum $dev"
  say "devsha=$devsum devsha_s=$(secs_since "$t")"
}
