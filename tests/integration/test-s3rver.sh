#!/bin/bash
# s3nbd on a second S3 implementation, npm's s3rver 3.x (installed here from npm into a cache
# dir), which ignores PUT If-None-Match: *. There: create over an existing volume is refused
# and the descriptor kept; a writable open, destroy and passwd are refused with the provider's
# behaviour named, and go on with unsafe-single-host; with it: round trip, zero elision, TRIM
# and integrity (a tampered object is EIO). On the runner's RGW (which honours the header)
# the same steps must not trigger the refusals, and destroy is refused while a writer holds the
# lease. s3nbd doctor reports the provider's behaviour and that the lease cannot be trusted.
# A missing npm or a failed install fails the test.
#   env: S3NBD_S3RVER_DIR (npm cache dir, default $TMPDIR/s3nbd-s3rver-npm), S3RVER_PORTS
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"
need node npm
OPS=$REPO/tests/lib/nbd-ops.py
K=65536
IGNORED='ignores If-None-Match: \*.*the writer lease cannot keep a second writer out'
echo secret-one >"$T/pass1"
echo secret-two >"$T/pass2"

# ---- RGW honours create-only PUT: nothing is refused that should not be --------------------
RGW_ENDPOINT=$S3_ENDPOINT
B=$(new_bucket)
create_volume "$B" v 1M 64K
! grep -q "If-None-Match" "$T/create.log" || fail "RGW: create warned about create-only PUT"
expect_rc 1 run_s3nbd create --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix v --size 2M --block-size 64K
assert_grep "a volume already exists at s3://$B/v/" "$T/out" "RGW: create over an existing volume"
start_server bucket="$B" prefix=v
! grep -qE "If-None-Match|unsafe-single-host" "$SERVER_LOG" || fail "RGW: the probe warned or refused"
# destroy takes the writer lease: refused while a writer (not known by a pid file) serves
expect_rc 1 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix v --yes </dev/null
assert_grep "writer holds the lease" "$T/out" "RGW: destroy while another writer serves"
object_exists "$B" v/volume.s3nbd || fail "RGW: the refused destroy deleted the descriptor"
stop_server
create_volume "$B" enc 1M 64K --encrypt --passphrase-file "$T/pass1"
expect_rc 0 run_s3nbd passwd --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix enc \
  --passphrase-file "$T/pass1" --new-passphrase-file "$T/pass2"
expect_rc 0 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix v --yes </dev/null
assert_eq 0 "$(count_keys "$B" v/)" "RGW: objects left after destroy (the probe's included)"
log "RGW: create refusal, open, passwd and destroy as usual"

# ---- s3rver from npm ---------------------------------------------------------------------
S3RVER_DIR=${S3NBD_S3RVER_DIR:-${TMPDIR:-/tmp}/s3nbd-s3rver-npm}
S3RVER=$S3RVER_DIR/node_modules/.bin/s3rver
if [ ! -x "$S3RVER" ]; then
  mkdir -p "$S3RVER_DIR"
  log "installing s3rver@3 from npm into $S3RVER_DIR"
  (cd "$S3RVER_DIR" && timeout 300 npm install --no-audit --no-fund --loglevel=error s3rver@3) \
    >"$T/npm.log" 2>&1 || { cat "$T/npm.log" >&2; fail "npm install s3rver@3 failed (network? see above)"; }
  [ -x "$S3RVER" ] || fail "npm installed no $S3RVER"
fi
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for p in ${S3RVER_PORTS:-$(seq 9690 9699)}; do port_free "$p" && { PORT=$p; break; }; done
[ -n "$PORT" ] || fail "no free port for s3rver in ${S3RVER_PORTS:-9690-9699}"
SB=s3nbd-s3rver
mkdir -p "$T/s3rver-data"
node "$(readlink -f "$S3RVER")" -d "$T/s3rver-data" -a 127.0.0.1 -p "$PORT" --configure-bucket "$SB" \
  >"$T/s3rver.log" 2>&1 &
S3RVER_PID=$!
_SERVER_PIDS+=("$S3RVER_PID")
S3_ENDPOINT=http://127.0.0.1:$PORT
for _ in $(seq 100); do grep -q "listening" "$T/s3rver.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening" "$T/s3rver.log" || { cat "$T/s3rver.log" >&2; fail "s3rver did not start on port $PORT"; }
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
log "s3rver $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$S3RVER_DIR/node_modules/s3rver/package.json") at $S3_ENDPOINT"

# the provider behaviour this test is about
echo first >"$T/o1"; echo second >"$T/o2"
s3_curl -o /dev/null -X PUT -H 'If-None-Match: *' --data-binary "@$T/o1" "$S3_ENDPOINT/$SB/scratch"
s3_curl -o /dev/null -X PUT -H 'If-None-Match: *' --data-binary "@$T/o2" "$S3_ENDPOINT/$SB/scratch" ||
  fail "s3rver now honours If-None-Match: * (412); this test needs a provider that ignores it"
delete_object "$SB" scratch

# s3nbd doctor names it: the writer lease cannot be trusted here (exit 3), and leaves nothing
expect_rc 3 run_s3nbd doctor "$S3_ENDPOINT/$SB" --samples 2 --block-size 64K --retry-time 3
assert_grep '^create-only PUT +WARN +If-None-Match: \* IGNORED' "$T/out" "doctor on s3rver: create-only row"
assert_grep '^writable serve, attach \(writer lease\) +WARN +UNSAFE.*unsafe-single-host=true' "$T/out" "doctor on s3rver: lease row"
assert_grep '^WARNING: the writer lease cannot be trusted here' "$T/out" "doctor on s3rver: warning"
assert_grep '^cleanup +ok' "$T/out" "doctor on s3rver: cleanup"
assert_eq 0 "$(count_keys "$SB" "")" "objects after doctor on s3rver"

# create over an existing volume: refused, the descriptor (its uuid) kept
create_volume "$SB" v 4M 64K
assert_grep "warning: volume $SB/v: .*$IGNORED.*unless unsafe-single-host=true" "$T/create.log" "create's warning"
uuid=$(uuid_of --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix v)
[ -n "$uuid" ] || fail "no uuid from s3nbd info"
get_object "$SB" v/volume.s3nbd "$T/desc-before"
expect_rc 1 run_s3nbd create --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix v --size 8M --block-size 64K
assert_grep "a volume already exists at s3://$SB/v/" "$T/out" "create over an existing volume"
get_object "$SB" v/volume.s3nbd "$T/desc-after"
cmp -s "$T/desc-before" "$T/desc-after" || fail "create over an existing volume rewrote its descriptor"
assert_eq "$uuid" "$(uuid_of --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix v)" "uuid after the refused create"

# a writable open is refused, naming the behaviour and the option; nothing is left behind
expect_start_failure "$T/refused.log" bucket="$SB" prefix=v
assert_grep "open: volume $SB/v: this S3 endpoint .*$IGNORED" "$T/refused.log" "refused writable open"
assert_grep "unsafe-single-host=true" "$T/refused.log" "refusal names the option"
assert_eq "v/volume.s3nbd" "$(list_keys "$SB" v/)" "objects after the refused open (no lease, no probe object)"
# the CLI's serve refuses too
write_conf sv "$SB" v
expect_rc 1 run_s3nbd serve sv --foreground
assert_grep "$IGNORED" "$T/out" "s3nbd serve refusal"
# a read-only open needs no lease and goes on
start_server bucket="$SB" prefix=v readonly=true
stop_server

# with unsafe-single-host=true: a warning, then the usual volume
start_server bucket="$SB" prefix=v unsafe-single-host=true
assert_grep "warning: .*$IGNORED.*going on because unsafe-single-host=true" "$SERVER_LOG" "warning with the option"
MODEL=$T/model.img
truncate -s 4M "$MODEL"
op() { "$PY" "$OPS" "$SERVER_URI" "$MODEL" "$@" || fail "nbd op '$*' failed"; }
op pwrite-random 0 $((16 * K))                 # round trip: blocks 0-15
op verify
assert_eq 16 "$(count_blocks "$SB" v)" "objects after writing blocks 0-15"
op zero $((20 * K)) $((4 * K))                 # zero elision: zeroes of unwritten blocks store nothing
op pwrite-random $((30 * K)) $K; op zero $((30 * K)) $K   # a block written, then zeroed: deleted
assert_eq 16 "$(count_blocks "$SB" v)" "objects after write-zeroes (elided)"
op trim 0 $((4 * K))                           # TRIM deletes blocks 0-3
op expect-zeros 0 $((4 * K))
assert_eq 12 "$(count_blocks "$SB" v)" "objects after trimming blocks 0-3"
op verify
stop_server
# the data survives a restart (read from s3rver, not a cache)
start_server bucket="$SB" prefix=v readonly=true
op verify
stop_server
# integrity: a tampered object is EIO, never garbage
get_object "$SB" "$(printf 'v/b/%016x' 6)" "$T/b6"
"$PY" -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[60] ^= 0x10; open(sys.argv[1], 'wb').write(b)" "$T/b6"
put_object "$SB" "$(printf 'v/b/%016x' 6)" "$T/b6"
start_server bucket="$SB" prefix=v readonly=true
if nbdsh -u "$SERVER_URI" -c "h.pread($K, 6 * $K)" >"$T/read.log" 2>&1; then fail "a tampered block read back"; fi
assert_grep "Input/output error|EIO" "$T/read.log" "tampered block: error seen by the client"
assert_grep "volume $SB/v.*block 6: .*checksum mismatch" "$SERVER_LOG" "tampered block: log names block and cause"
stop_server

# passwd: refused, then allowed with --unsafe-single-host
create_volume "$SB" enc 1M 64K --encrypt --passphrase-file "$T/pass1"
expect_rc 1 run_s3nbd passwd --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix enc \
  --passphrase-file "$T/pass1" --new-passphrase-file "$T/pass2"
assert_grep "passwd: volume $SB/enc: this S3 endpoint .*$IGNORED" "$T/out" "passwd refusal"
expect_rc 0 run_s3nbd passwd --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix enc \
  --passphrase-file "$T/pass1" --new-passphrase-file "$T/pass2" --unsafe-single-host
start_server bucket="$SB" prefix=enc readonly=true passphrase-file="$T/pass2"
stop_server

# destroy: refused (nothing deleted), then allowed with --unsafe-single-host
expect_rc 1 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix v --yes </dev/null
assert_grep "destroy: volume $SB/v: this S3 endpoint .*$IGNORED" "$T/out" "destroy refusal"
assert_eq 12 "$(count_blocks "$SB" v)" "objects after the refused destroy"
expect_rc 0 run_s3nbd destroy --endpoint "$S3_ENDPOINT" --bucket "$SB" --prefix v --yes --unsafe-single-host </dev/null
assert_eq 0 "$(count_keys "$SB" v/)" "objects left after destroy"
log "ok"
