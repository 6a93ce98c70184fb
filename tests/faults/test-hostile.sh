#!/bin/bash
# Hostile input: block objects that are random, truncated, of another block size, of another
# volume or misplaced; bogus volume descriptors; huge, negative and malformed option values; a
# fake S3 endpoint (fake_s3.py, 127.0.0.1 only, served read-only: no writer lease) answering
# ListObjectsV2 and GET with garbage, endless pages and lies. Every one must end in a clean
# error naming the cause: nbdkit refuses to start, or the read fails with EIO and a log line,
# and a running nbdkit stays alive.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"
BAD=0
B=$(new_bucket)
create_volume "$B" v 4M 64K
create_volume "$B" other 4M 64K
create_volume "$B" big 4M 128K

# ---- hostile block objects in the real bucket: each read fails EIO with its cause logged
start_server bucket="$B" prefix=v
"$PY" -c 'import sys, nbd; h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.pwrite(b"\x5a" * 65536, 0); h.flush()' "$SERVER_URI"
get_object "$B" v/b/0000000000000000 "$T/good.obj" || fail "cannot fetch a block object"
stop_server
# block 0 of the volume 'other' and of the 128K volume, written by their own servers
for pv in other big; do
  start_server bucket="$B" prefix=$pv
  "$PY" -c 'import sys, nbd; h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.pwrite(b"\x11" * 65536, 0); h.flush()' "$SERVER_URI"
  stop_server
  get_object "$B" $pv/b/0000000000000000 "$T/$pv.obj" || fail "cannot fetch block 0 of $pv"
done
start_server bucket="$B" prefix=v
head -c 65584 /dev/urandom >"$T/random.obj"
head -c 30000 "$T/good.obj" >"$T/truncated.obj"
head -c 47 "$T/good.obj" >"$T/short.obj"
: >"$T/empty.obj"
{ cat "$T/good.obj"; echo extra; } >"$T/padded.obj"
"$PY" - "$T/good.obj" "$T" <<'PY'
import sys
g = bytearray(open(sys.argv[1], "rb").read()); d = sys.argv[2]
def w(name, b): open(d + "/" + name + ".obj", "wb").write(bytes(b))
f = bytearray(g); f[100] ^= 1; w("bitflip", f)
f = bytearray(g); f[0:4] = b"XXXX"; w("badmagic", f)
f = bytearray(g); f[4] = 9; w("version9", f)
f = bytearray(g); f[5] = 0x80; w("flags", f)
f = bytearray(g); f[6:8] = (65535).to_bytes(2, "little"); w("hdrlen", f)
f = bytearray(g); f[8:16] = (5).to_bytes(8, "little"); w("misplaced", f)
f = bytearray(g); f[32:36] = (2**32 - 1).to_bytes(4, "little"); w("hugelen", f)
f = bytearray(g); f[36:40] = (2**31).to_bytes(4, "little"); w("hugeplain", f)
PY
# each variant replaces block 0's object (the server has no cache: every read is a GET)
for case in random:magic truncated:truncated short:shorter empty:shorter padded:padded bitflip:checksum \
            badmagic:magic version9:version flags:flags hdrlen:header misplaced:misplaced hugelen:truncated \
            hugeplain:block.size other:another.volume big:another.volume; do
  name=${case%%:*} want=${case#*:}
  put_object "$B" v/b/0000000000000000 "$T/$name.obj" || fail "cannot put $name"
  rc=0
  "$PY" -c '
import sys, errno, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pread(4096, 0)
except nbd.Error as e:
    sys.exit(3 if e.errno in (errno.EIO, "EIO") else 4)
sys.exit(0)' "$SERVER_URI" 2>/dev/null || rc=$?
  [ "$rc" = 3 ] || fail "reading a '$name' object: expected EIO (exit 3), got exit $rc"
  kill -0 "$SERVER_PID" 2>/dev/null || fail "nbdkit died reading a '$name' object"
  grep -E "error: pread: .*block 0" "$SERVER_LOG" | tail -n 1 >"$T/msg"
  grep -qiE "$want" "$T/msg" || { cat "$T/msg" >&2; fail "the error for a '$name' object does not say /$want/"; }
  log "$name: $(sed 's/.*error: //' "$T/msg")"
  BAD=$((BAD + 1))
done
put_object "$B" v/b/0000000000000000 "$T/good.obj" || fail "cannot restore block 0"
# the good block still reads back after all of that
"$PY" -c 'import sys, nbd; h = nbd.NBD(); h.connect_uri(sys.argv[1]); assert h.pread(65536, 0) == b"\x5a" * 65536' "$SERVER_URI" ||
  fail "the good block does not read back after the hostile reads"
stop_server

# ---- bogus descriptors: nbdkit refuses to start, naming the problem, without crashing
get_object "$B" v/volume.s3nbd "$T/desc" || fail "cannot fetch the descriptor"
desc_case() { # NAME PATTERN: the file $T/d-NAME is the descriptor
  local name=$1 pat=$2 rc=0
  create_volume "$B" "d-$name" 4M 64K
  put_object "$B" "d-$name/volume.s3nbd" "$T/d-$name" || fail "cannot put descriptor $name"
  expect_start_failure "$T/start-d-$name.log" bucket="$B" prefix="d-$name"
  assert_grep "$pat" "$T/start-d-$name.log" "refusal of descriptor '$name'"
  ! grep -qiE 'segmentation|core dumped|terminate called|sanitizer|abort' "$T/start-d-$name.log" || fail "nbdkit crashed on descriptor $name"
  log "descriptor $name: $(grep -m1 -i error "$T/start-d-$name.log" | sed 's/.*error: //')"
  BAD=$((BAD + 1))
}
head -c 300 /dev/urandom >"$T/d-random"; desc_case random 'magic|descriptor|s3nbd-volume'
: >"$T/d-empty"; desc_case empty 'magic|descriptor|empty'
head -c $((200 * 1024)) /dev/zero | tr '\0' 'a' >"$T/d-huge"; desc_case huge 'large|64 KiB|descriptor|magic'
sed 's/^size .*/size -4096/' "$T/desc" >"$T/d-negsize"; desc_case negsize 'size'
sed 's/^size .*/size 99999999999999999999999/' "$T/desc" >"$T/d-hugesize"; desc_case hugesize 'size'
sed 's/^size .*/size 0/' "$T/desc" >"$T/d-zerosize"; desc_case zerosize 'size'
sed 's/^block-size .*/block-size 3000/' "$T/desc" >"$T/d-bs3000"; desc_case bs3000 'block.size|power of two'
sed 's/^block-size .*/block-size 1073741824/' "$T/desc" >"$T/d-bshuge"; desc_case bshuge 'block.size'
grep -v '^uuid' "$T/desc" >"$T/d-nouuid"; desc_case nouuid 'uuid'
{ cat "$T/desc"; echo "size 4194304"; } >"$T/d-dupsize"; desc_case dupsize 'size|duplicate'
{ cat "$T/desc"; echo "colour blue"; } >"$T/d-unknown"; desc_case unknown 'colour|unknown'
sed 's/^s3nbd-volume 1/s3nbd-volume 99/' "$T/desc" >"$T/d-version"; desc_case version 'version'
sed 's/^encryption .*/encryption rot13/' "$T/desc" >"$T/d-enc"; desc_case enc 'encryption|rot13'
tr '\n' '\r' <"$T/desc" >"$T/d-crlf"; desc_case crlf 'magic|descriptor|field'

# ---- option values: refused at start with the option named
opt_case() { # PATTERN ARGS...
  local pat=$1; shift
  expect_start_failure "$T/opt.log" bucket="$B" prefix=v "$@"
  assert_grep "$pat" "$T/opt.log" "refusal of $*"
  ! grep -qiE 'segmentation|core dumped|terminate called|sanitizer' "$T/opt.log" || fail "nbdkit crashed on $*"
  BAD=$((BAD + 1))
}
opt_case 'size' size=-1
opt_case 'size' size=99999999999999999999999
opt_case 'size' size=16E
opt_case 'size' size=1x
opt_case 'block.size' block-size=0
opt_case 'block.size' block-size=-65536
opt_case 'block.size' block-size=1P
opt_case 'connections' connections=99999999999
opt_case 'connections' connections=-1
opt_case 'retry-time' retry-time=-5
opt_case 'request-timeout' request-timeout=0
opt_case 'cache-size' cache="$T/c1.img" cache-size=-1
opt_case 'max-dirty|cache-size' cache="$T/c2.img" cache-size=8M max-dirty=1E
opt_case 'cache' cache="$T/c3.img" cache-size=16E
opt_case 'flush' cache="$T/c4.img" flush=sometimes
opt_case 'readahead' cache="$T/c5.img" readahead=-1
opt_case 'writeback-threads' cache="$T/c6.img" writeback-threads=0
opt_case 'writeback-delay|time|duration' cache="$T/c7.img" writeback-delay=forever
opt_case 'cache' cache=/proc/version
opt_case 'endpoint' endpoint=gopher://127.0.0.1/

# ---- a hostile S3 endpoint
FAKE_PORT=$((FAULT_PORT_BASE + 9))
grep -v '^created' "$T/desc" >"$T/fake-desc"
"$PY" "$FAULTS_DIR/fake_s3.py" "$FAKE_PORT" "$T/fake-desc" >"$T/fake.log" 2>&1 &
FAKE_PID=$!
_SERVER_PIDS+=("$FAKE_PID")
for i in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break; sleep 0.1; done
FAKE=http://127.0.0.1:$FAKE_PORT
# listings: refused at open with a message about the listing; keys that are not block keys of
# this volume are ignored (served: a bucket may hold other things under the prefix)
for case in list-garbage:refuse list-unclosed:refuse list-truncated-no-token:refuse list-loop:refuse \
            list-bad-entity:refuse list-huge-size:refuse list-deep:refuse list-bad-keys:serve \
            list-huge-text:serve; do
  mode=${case%%:*} expect=${case#*:}
  rc=0
  timeout 120 "$NBDKIT" -U - "$PLUGIN" endpoint="$FAKE" bucket="$mode" readonly=true retry-time=2 request-timeout=10 \
    --run 'nbdinfo --size "$uri"' >"$T/fake-$mode.log" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || fail "nbdkit hung on a hostile listing ($mode)"
  [ "$rc" -lt 128 ] || fail "nbdkit crashed (exit $rc) on a hostile listing ($mode)"
  ! grep -qiE 'segmentation|core dumped|terminate called|sanitizer' "$T/fake-$mode.log" || fail "nbdkit crashed on $mode"
  if [ "$expect" = refuse ]; then
    [ "$rc" -ne 0 ] || fail "a hostile listing ($mode) was accepted: blocks missing from it would read as zeros"
    assert_grep 'error: .*listing blocks: .*(ListObjectsV2|continuation)' "$T/fake-$mode.log" "refusal of hostile listing $mode"
  else
    [ "$rc" -eq 0 ] || { cat "$T/fake-$mode.log" >&2; fail "a listing with foreign keys ($mode) was refused"; }
  fi
  log "$mode: exit $rc: $(grep -m1 -iE 'error' "$T/fake-$mode.log" | sed 's/.*error: //' | cut -c1-160)"
  BAD=$((BAD + 1))
done
# GETs of garbage: the server starts (valid listing), reads fail EIO, nbdkit stays up
for mode in get-garbage get-error-garbage get-403-garbage get-short; do
  start_server endpoint="$FAKE" bucket="$mode" readonly=true retry-time=2 request-timeout=10
  rc=0
  "$PY" -c '
import sys, errno, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pread(4096, 65536)
except nbd.Error as e:
    sys.exit(3 if e.errno in (errno.EIO, "EIO") else 4)
sys.exit(0)' "$SERVER_URI" 2>/dev/null || rc=$?
  [ "$rc" = 3 ] || fail "reading from a hostile GET ($mode): expected EIO, got exit $rc"
  kill -0 "$SERVER_PID" 2>/dev/null || fail "nbdkit died on a hostile GET ($mode)"
  assert_grep 'error: pread' "$SERVER_LOG" "log line for hostile GET $mode"
  log "$mode: $(grep -m1 'error: pread' "$SERVER_LOG" | sed 's/.*error: //' | cut -c1-160)"
  stop_server
  BAD=$((BAD + 1))
done
figure bad_inputs "$BAD"
log "ok: $BAD bad inputs refused cleanly"
