#!/bin/bash
# Starts a single-node Ceph RADOS Gateway for s3nbd's tests and demo: 1 mon, 1 osd, 1 radosgw,
# no mgr, cephx off, everything bound to 127.0.0.1. Real S3 (SigV4, ListObjectsV2, multi-delete).
#   tests/lib/rgw-start.sh [memstore|bluestore]   # memstore (default): RAM-backed OSD, fast start
# env: S3NBD_RGW_DIR   state dir, wiped (default ${TMPDIR:-/tmp}/s3nbd-rgw)
#      RGW_PORT (9180)  MON_PORT (9100; also uses +1)  OSD_PORT_MIN/OSD_PORT_MAX (9110-9140)
#      RGW_TLS_PORT (RGW_PORT+5; +1/+2 belong to the bench): the same RGW over https as
#        https://s3.localhost:RGW_TLS_PORT, with a test CA and server certificate made here by
#        openssl for s3.localhost and *.s3.localhost (virtual-hosted BUCKET.s3.localhost, which
#        libcurl resolves to loopback by itself); CA and keys live in $S3NBD_RGW_DIR/tls/ only:
#        tls/ca.pem (give it as ca-file=), tls/endpoint (the https URL)
#      S3_ACCESS_KEY/S3_SECRET_KEY (AKIATEST/testsecret)  RGW_START_TIMEOUT (seconds, 180)
#      RGW_DEBUG (0; 1 = per-request access log in $S3NBD_RGW_DIR/log/client.rgw.a.log)
# Prints one line "rgw ready: http://127.0.0.1:PORT ... https=URL ca-file=PATH" on success; on
# failure exits 1 with the tail of the daemon logs. Stop with tests/lib/rgw-stop.sh (same env).
set -euo pipefail
STORE=${1:-${RGW_STORE:-memstore}}
case $STORE in memstore|bluestore) ;; *) echo "rgw-start: unknown store '$STORE'" >&2; exit 2;; esac
D=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
RGW_PORT=${RGW_PORT:-9180}; MON_PORT=${MON_PORT:-9100}
RGW_TLS_PORT=${RGW_TLS_PORT:-$((RGW_PORT + 5))}
DNS_NAME=s3.localhost   # rgw dns name: Host BUCKET.s3.localhost is virtual-hosted addressing
OSD_PORT_MIN=${OSD_PORT_MIN:-9110}; OSD_PORT_MAX=${OSD_PORT_MAX:-9140}
AK=${S3_ACCESS_KEY:-AKIATEST}; SK=${S3_SECRET_KEY:-testsecret}
TIMEOUT=${RGW_START_TIMEOUT:-180}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for tool in monmaptool ceph-mon ceph-osd ceph radosgw radosgw-admin curl openssl; do
  command -v "$tool" >/dev/null || { echo "rgw-start: FATAL: '$tool' not installed (make deps)" >&2; exit 1; }
done

now() { date +%s.%N; }
T0=$(now)
DEADLINE=$(( $(date +%s) + TIMEOUT ))

die() {
  echo "rgw-start: FATAL: $*" >&2
  for f in "$D"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- tail of $f" >&2; tail -n 25 "$f" >&2
  done
  RGW_KEEP=1 S3NBD_RGW_DIR=$D bash "$HERE/rgw-stop.sh" >/dev/null 2>&1 || true
  echo "rgw-start: FATAL: $* (state and logs kept in $D)" >&2
  exit 1
}
# wait_for DESC CMD...: polls CMD every 0.2 s until it succeeds or the overall deadline passes
wait_for() {
  local desc=$1; shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$DEADLINE" ] || die "$desc did not happen within ${TIMEOUT}s"
    sleep 0.2
  done
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# idempotence: stop what a previous run in the same state dir left behind, then start afresh
S3NBD_RGW_DIR=$D bash "$HERE/rgw-stop.sh" >/dev/null 2>&1 || true
for p in "$RGW_PORT" "$RGW_TLS_PORT" "$MON_PORT" $((MON_PORT + 1)); do
  if port_busy "$p"; then
    echo "rgw-start: FATAL: 127.0.0.1:$p is already in use by another process; set RGW_PORT/RGW_TLS_PORT/MON_PORT" >&2
    exit 1
  fi
done

rm -rf "$D"; mkdir -p "$D"/{mon.a,osd.0,log,run,tls}

# A throw-away test CA and a server certificate it signs, made afresh at every start (no key is
# ever checked in). The names cover path-style (s3.localhost) and virtual-hosted addressing
# (BUCKET.s3.localhost); deliberately not 127.0.0.1 or localhost, so tests can provoke a host
# name mismatch on the same listener.
make_tls() {
  local t=$D/tls ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$t/ca.key" -out "$t/ca.pem" -days 7 \
    -subj "/CN=s3nbd test CA $(date +%s)" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
  openssl req "${ec[@]}" -keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=$DNS_NAME" &&
  printf '%s\n' "subjectAltName=DNS:$DNS_NAME,DNS:*.$DNS_NAME" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$t/server.ext" &&
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 7 -extfile "$t/server.ext" -out "$t/server.pem" &&
  chmod 600 "$t/ca.key" "$t/server.key"
}
make_tls >"$D/log/tls.log" 2>&1 || die "openssl could not make the test CA and certificate"
TLS_URL=https://$DNS_NAME:$RGW_TLS_PORT
FSID=$(cat /proc/sys/kernel/random/uuid)
export CEPH_CONF=$D/ceph.conf
MONADDR="[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]"
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon host = $MONADDR
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
# with cephx off, msgr2 'secure' mode is impossible; daemons default to secure-only for mon links,
# and radosgw then hangs forever: allow crc
ms mon client mode = crc secure
ms mon service mode = crc secure
ms mon cluster mode = crc secure
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
mon data = $D/\$name
osd data = $D/\$name
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon osd full ratio = .99
mon osd backfillfull ratio = .98
mon osd nearfull ratio = .97
osd failsafe full ratio = .995
mon data avail crit = 1
mon data avail warn = 2
[osd]
osd objectstore = $STORE
memstore device bytes = 8589934592
bluestore block path = $D/osd0.block
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mount = false
osd memory target = 1073741824
osd op num shards = 2
osd op num threads per shard = 2
[client.rgw.a]
# tcp_nodelay: without it small GETs wait ~44 ms for delayed ACKs
# https on a second port of the same frontend, with the test certificate (see make_tls)
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT ssl_endpoint=127.0.0.1:$RGW_TLS_PORT ssl_certificate=$D/tls/server.pem ssl_private_key=$D/tls/server.key tcp_nodelay=1
# Host BUCKET.s3.localhost[:port] is virtual-hosted addressing; 127.0.0.1 and s3.localhost are
# path-style
rgw dns name = $DNS_NAME
# STS (AssumeRole, temporary credentials with a session token) for test-credential-chain.sh;
# plain S3 keys work as before
rgw sts key = s3nbdtststskey01
rgw s3 auth use sts = true
rgw thread pool size = 128
debug rgw = ${RGW_DEBUG:-0}/5
debug ms = 0/0
CONF

CEPH=(timeout 15 ceph --connect-timeout 10)
monmaptool --create --fsid "$FSID" --addv a "$MONADDR" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" >"$D/log/mon-mkfs.log" 2>&1 || die "ceph-mon --mkfs failed"
ceph-mon -i a 2>>"$D/log/mon-mkfs.log" || die "ceph-mon did not start"
wait_for "ceph mon answering" "${CEPH[@]}" -s
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$("${CEPH[@]}" osd new "$OSD_UUID") || die "ceph osd new failed"
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$D/log/osd-mkfs.log" 2>&1 || die "ceph-osd --mkfs failed"
ceph-osd -i "$OSD_ID" 2>>"$D/log/osd-mkfs.log" || die "ceph-osd did not start"
osd_up() { "${CEPH[@]}" osd stat 2>/dev/null | grep -q "1 up"; }
wait_for "osd.$OSD_ID up" osd_up
T1=$(now)
radosgw -n client.rgw.a 2>"$D/log/radosgw-stderr.log" || die "radosgw did not start"
wait_for "radosgw answering on 127.0.0.1:$RGW_PORT" curl -s -m 5 -o /dev/null "http://127.0.0.1:$RGW_PORT/"
wait_for "radosgw answering at $TLS_URL" curl -s -m 5 -o /dev/null --cacert "$D/tls/ca.pem" "$TLS_URL/"
T2=$(now)
timeout 60 radosgw-admin user create --uid=test --display-name=test --access-key="$AK" --secret-key="$SK" \
  >"$D/log/user-create.log" 2>&1 || die "radosgw-admin user create failed"
# warm-up: the first bucket/object creates the index and data pools (~3-5 s); do it here so the
# first test does not pay for it. Retried until the deadline: pool creation can race the first PUT.
N=$D/netrc; echo "machine 127.0.0.1 login $AK password $SK" > "$N"; chmod 600 "$N"
s3c() { curl -sf -m 30 -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$N" \
          -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
U=http://127.0.0.1:$RGW_PORT
warm() { s3c -X PUT "$U/s3nbd-warmup" && s3c -X PUT --data-binary probe "$U/s3nbd-warmup/.probe" &&
         s3c "$U/s3nbd-warmup/.probe" && s3c -X DELETE "$U/s3nbd-warmup/.probe" &&
         s3c -X DELETE "$U/s3nbd-warmup"; }
wait_for "S3 warm-up (create bucket, put/get/delete object)" warm
printf '%s\n' "$U" > "$D/endpoint"
printf '%s\n' "$TLS_URL" > "$D/tls/endpoint"
echo "rgw ready: $U key=$AK secret=$SK store=$STORE dir=$D;" \
     "mon+osd $(awk "BEGIN{printf \"%.1f\", $T1-$T0}")s, rgw $(awk "BEGIN{printf \"%.1f\", $T2-$T0}")s," \
     "total $(awk "BEGIN{printf \"%.1f\", $(now)-$T0}")s; https=$TLS_URL ca-file=$D/tls/ca.pem"
