# Job "attach": `s3nbd attach` and `s3nbd detach` (the commands of s3nbd-attach@.service, given
# by the host as e2e.attach / e2e.detach with ',' for ' ') on the real nbd driver, with the
# volume's server on the host: its unix socket reaches the guest through the virtio-serial
# bridge (lib.sh vport_bridge), so the guest's conf names that socket and start-server = false.
# ext4 is made and filled, then for each restart the guest prints "E2E: restart=R" and the host
# kills the server (SIGKILL) and starts it again; e2e.restarts (comma-separated) says what the
# guest does meanwhile: "busy" keeps writing and re-reading files the whole time (the kernel
# holds that I/O), "idle" is synced and waits. Either way the kernel must reconnect every
# connection, then the guest writes and re-reads more; the filesystem must stay read-write with
# no I/O error. Then the tree is verified and hashed (lib.sh) and the device detached.
conns=${E2E_conns:-2} ports=${E2E_ports:-8}
vol=${E2E_volume:?} restarts=$(echo "${E2E_restarts:-busy}" | tr , ' ')
vport_bridge /run/nbd.sock "$ports"

# attach never talks to S3: the endpoint is only there because every volume conf names one
mkdir -p /etc/s3nbd
cat >"/etc/s3nbd/$vol.conf" <<EOF
endpoint = http://127.0.0.1:9
bucket = ${E2E_bucket:?}
prefix = ${E2E_prefix:?}
socket = /run/nbd.sock
start-server = false
device = /dev/nbd0
nbd-connections = $conns
EOF
attach=$(echo "${E2E_attach:?}" | tr , ' ')
detach=$(echo "${E2E_detach:?}" | tr , ' ')
daemon_log() { [ -f /run/attach.log ] && while read -r l; do echo "E2E-LOG: $l"; done </run/attach.log; }
t=$(up)
# shellcheck disable=SC2086  # the unit's command line, split into words
$attach >/run/attach.log 2>&1 || { daemon_log; fail "$attach"; }
say "attached t=$(up) attach_s=$(secs_since "$t") cmd=${E2E_attach}"
[ -e /sys/block/nbd0/pid ] || fail "/dev/nbd0 is not connected after attach"
backend=$(cat /sys/block/nbd0/backend 2>/dev/null)
[ "$backend" = "s3nbd:$vol" ] || fail "/sys/block/nbd0/backend is '$backend', want 's3nbd:$vol'"
daemon=$(cat "/run/s3nbd/$vol.attach.pid" 2>/dev/null)
[ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null || fail "no reconnect daemon (pid file /run/s3nbd/$vol.attach.pid)"

fs_make_tree /dev/nbd0

reconnects() { dmesg | grep -c 'nbd0: reconnected socket'; }
fs_rw() { awk '$2 == "/mnt" { print $4 }' /proc/mounts | cut -d, -f1; }
mkdir -p /mnt/e2e/during || fail "mkdir during"
files=0 r=1
for mode in $restarts; do
  before=$(reconnects) k=0 after=0 stall=0
  [ "$mode" = idle ] && sync
  t=$(up)
  say "restart=$r mode=$mode"
  if [ "$mode" = idle ]; then   # no I/O until every connection is back
    while [ $(($(reconnects) - before)) -lt "$conns" ]; do
      [ "$(secs_since "$t" | cut -d. -f1)" -lt 180 ] ||
        { daemon_log; fail "restart $r: $(($(reconnects) - before)) of $conns connections reconnected in 180 s"; }
      sleep 0.5
    done
  fi
  while :; do
    k=$((k + 1)) files=$((files + 1))
    f=/mnt/e2e/during/r${r}_$k
    t1=$(up)
    dd if=/dev/urandom of="$f" bs=65536 count=1 conv=fsync 2>/dev/null || fail "write $f during restart $r"
    sha256sum "$f" >>/tmp/during.sums
    # every file so far must come back from the device, not from the page cache
    sync
    echo 3 >/proc/sys/vm/drop_caches
    (cd / && sha256sum -c -s /tmp/during.sums) || fail "files written during restart $r read back wrong"
    s=$(secs_since "$t1")   # the round's write, sync and re-read: held while the server is away
    stall=$(awk -v a="$stall" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
    [ "$(fs_rw)" = rw ] || fail "the filesystem is $(fs_rw) during restart $r"
    now=$(reconnects)
    if [ $((now - before)) -ge "$conns" ]; then
      after=$((after + 1))
      [ $after -ge 3 ] && break
    fi
    [ "$(secs_since "$t" | cut -d. -f1)" -lt 180 ] ||
      { daemon_log; fail "restart $r: $((now - before)) of $conns connections reconnected in 180 s"; }
    sleep 0.5
  done
  say "restart${r}_s=$(secs_since "$t") restart${r}_writes=$k restart${r}_longest_round_s=$stall"
  r=$((r + 1))
done

errors=$(dmesg | grep -ciE 'I/O error|remounting filesystem read-only|EXT4-fs error|Aborting journal')
[ "$errors" -eq 0 ] || { dmesg | grep -iE 'nbd|EXT4' | tail -n 20; fail "$errors I/O or ext4 errors in the kernel log"; }
[ "$(fs_rw)" = rw ] || fail "the filesystem is $(fs_rw) after the restarts"
say "fs_rw_after_restarts=yes kernel_io_errors=0 reconnected_sockets=$(reconnects) during_files=$files"
dmesg | grep 'nbd0' | while read -r l; do echo "E2E-DMESG: $l"; done

fs_verify_tree /dev/nbd0 $((43 + files))

# the server may not be stopped under the attached device: refused, naming it (the unit's
# binary, so the guest runs what s3nbd-attach@.service runs)
bin=${attach%% *}
if "$bin" stop "$vol" >/run/stop.out 2>&1; then fail "s3nbd stop $vol succeeded while attached"; fi
grep -q "volume $vol is attached to /dev/nbd0 (reconnect daemon pid $daemon)" /run/stop.out ||
  { cat /run/stop.out; fail "s3nbd stop $vol: no 'attached' refusal"; }
say "stop_refused_while_attached=yes"

t=$(up)
# shellcheck disable=SC2086
$detach >>/run/attach.log 2>&1 || { daemon_log; fail "$detach"; }
i=0
while [ -e /sys/block/nbd0/pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/block/nbd0/pid ] && fail "/dev/nbd0 still connected after $detach"
grep -qs '^State:.*[RSD]' "/proc/$daemon/status" && fail "the reconnect daemon (pid $daemon) still runs after detach"
[ -e "/run/s3nbd/$vol.attach.pid" ] && fail "detach left /run/s3nbd/$vol.attach.pid"
daemon_log
say "nbd0 detached detach_s=$(secs_since "$t") cmd=${E2E_detach}"
