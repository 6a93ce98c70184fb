# Job "kernel-nbd": the guest kernel's nbd driver, attached by nbd-client. Every virtio-serial port
# named org.s3nbd.nbd<i> is one connection the host already opened to the NBD server; nbd-client
# connects to a local unix socket whose every connection socat bridges to one free port, so
# "-C N" opens N connections (multi-conn). e2e.conns=N (default 1).
conns=${E2E_conns:-1}
vport_bridge /run/nbd.sock "$conns"

nbd-client -unix /run/nbd.sock /dev/nbd0 -N default -b 4096 -t 120 -C "$conns" || fail "nbd-client attach"
nbd-client -c /dev/nbd0 >/dev/null || fail "nbd-client -c: /dev/nbd0 not connected after attach"
say "nbd0 attached conns=$conns t=$(up)"

fs_check /dev/nbd0

nbd-client -d /dev/nbd0 || fail "nbd-client -d"
i=0
while nbd-client -c /dev/nbd0 >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
nbd-client -c /dev/nbd0 >/dev/null 2>&1 && fail "/dev/nbd0 still connected after nbd-client -d"
say "nbd0 detached"
