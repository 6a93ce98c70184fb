#!/bin/bash
# s3nbd serve / flush / stats / stop with a volume config file in a temp config dir: the daemon
# serves on RUN_DIR/VOLUME.sock with a pid file, data round-trips, the stats file counts the
# requests (table and Prometheus), flush succeeds, stop ends it (refused while attached, unless
# --force); TCP --listen on 127.0.0.1;
# config-file errors name file and line; flags override the file.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

B=$(new_bucket)
write_conf v1 "$B" vols/v1
expect_rc 0 run_s3nbd create v1 --size 16M --block-size 64K
object_exists "$B" vols/v1/volume.s3nbd || fail "create v1 (from the conf) wrote no descriptor"

serve_volume v1
SOCK=$S3NBD_RUN_DIR/v1.sock
[ -S "$SOCK" ] || fail "no socket at $SOCK"
expect_rc 1 run_s3nbd serve v1
assert_grep "already served by pid" "$T/out" "second serve"

random_file "$T/data" 1048576
nbdcopy "$T/data" "$(uri_of "$SOCK")" || fail "nbdcopy to the served volume failed"
expect_rc 0 run_s3nbd flush v1
expect_rc 0 run_s3nbd flush --socket "$SOCK"   # no VOLUME: the socket alone (s3nbd(8))
nbdcopy "$(uri_of "$SOCK")" "$T/back" || fail "nbdcopy from the served volume failed"
cmp <(head -c 1048576 "$T/back") "$T/data" || fail "data read back differs"

# the stats file is rewritten every second: wait (bounded) until it shows the writes
ok=0
for _ in $(seq 100); do
  run_s3nbd stats v1 >"$T/stats" 2>&1 || { cat "$T/stats" >&2; fail "s3nbd stats v1 failed"; }
  if grep -qE '^  bytes written +1\.0 MiB \(1048576\)' "$T/stats" && grep -qE '^  flush +[1-9]' "$T/stats"; then ok=1; break; fi
  sleep 0.2
done
[ "$ok" = 1 ] || { cat "$T/stats" >&2; fail "stats never showed the 1 MiB written and the flush"; }
assert_grep '^  write +[1-9][0-9]*$' "$T/stats" "stats: write requests"
assert_grep '^  read +[1-9][0-9]*$' "$T/stats" "stats: read requests"
assert_grep '^  put +(1[6-9]|[2-9][0-9]|[0-9]{3,})$' "$T/stats" "stats: S3 PUTs (16 blocks written)"
assert_grep 'S3 requests +\$0\.[0-9]+ ' "$T/stats" "stats: cost estimate"
expect_rc 0 run_s3nbd stats v1 --prometheus
assert_grep '^# TYPE s3nbd_requests_total counter$' "$T/out" "prometheus TYPE line"
assert_grep '^s3nbd_requests_total\{volume="v1",type="write"\} [1-9]' "$T/out" "prometheus write counter"
assert_grep '^s3nbd_written_bytes_total\{volume="v1"\} 1048576$' "$T/out" "prometheus bytes written"

# stop is refused while the volume is attached, i.e. while its reconnect daemon's pid file
# names a live `s3nbd attach` (the real daemon needs the kernel nbd driver, so
# tests/e2e/guest/job-attach.sh checks it there; here a process with its command line stands in)
bash -c 'exec -a s3nbd /usr/bin/python3 -c "import time; time.sleep(300)" attach v1' &
fake=$!
for _ in $(seq 50); do grep -q attach "/proc/$fake/cmdline" 2>/dev/null && break; sleep 0.1; done
echo "$fake" >"$S3NBD_RUN_DIR/v1.attach.pid"
expect_rc 1 run_s3nbd stop v1
assert_grep "volume v1 is attached to .*reconnect daemon pid $fake\).*run 's3nbd detach v1' first" "$T/out" "stop of an attached volume"
kill -0 "$(cat "$S3NBD_RUN_DIR/v1.pid")" 2>/dev/null || fail "a refused stop stopped the server"
expect_rc 0 run_s3nbd stop v1 --force
kill "$fake"; wait "$fake" 2>/dev/null || true
rm -f "$S3NBD_RUN_DIR/v1.attach.pid"
pid=$(cat "$S3NBD_RUN_DIR/v1.pid")
! kill -0 "$pid" 2>/dev/null || fail "server pid $pid still alive after s3nbd stop"
expect_rc 1 run_s3nbd flush v1
assert_grep "cannot connect" "$T/out" "flush of a stopped server"
expect_rc 1 run_s3nbd stop v1
assert_grep "not running" "$T/out" "stop of a stopped server"
assert_eq 16 "$(count_blocks "$B" vols/v1)" "block objects after 1 MiB in 64K blocks"
expect_rc 0 run_s3nbd info v1
assert_grep '^stored-blocks: 16$' "$T/out" "info stored-blocks"
assert_grep '^compression-ratio: 1\.00$' "$T/out" "info compression ratio (no compression: 1.00)"

# flags override the file: another prefix has no volume
expect_rc 1 run_s3nbd info v1 --prefix vols/none
assert_grep "no s3nbd volume at s3://$B/vols/none" "$T/out" "info with --prefix overriding the conf"

# TCP on 127.0.0.1 (the listen key), served again: the data is still there
port=$((20000 + RANDOM % 20000))
write_conf v1tcp "$B" vols/v1 "listen = 127.0.0.1:$port"
serve_volume v1tcp
nbdcopy "nbd://127.0.0.1:$port" "$T/back2" || fail "nbdcopy over TCP failed"
cmp <(head -c 1048576 "$T/back2") "$T/data" || fail "data read back over TCP differs"
expect_rc 0 run_s3nbd flush v1tcp
# a pid file naming some other live program (a reused pid) is no attached device
/usr/bin/python3 -c 'import time; time.sleep(300)' &
other=$!
echo "$other" >"$S3NBD_RUN_DIR/v1tcp.attach.pid"
expect_rc 0 run_s3nbd stop v1tcp
kill "$other"; wait "$other" 2>/dev/null || true
rm -f "$S3NBD_RUN_DIR/v1tcp.attach.pid"

# TLS with a PSK (tls-psk passed to nbdkit): plain NBD is refused, TLS works, flush uses TLS
printf 'alice:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/psk"
chmod 600 "$T/psk"
write_conf v1tls "$B" vols/v1 "tls-psk = $T/psk"
serve_volume v1tls
TLSSOCK=$S3NBD_RUN_DIR/v1tls.sock
if nbdinfo --size "$(uri_of "$TLSSOCK")" >"$T/plain.log" 2>&1; then fail "a TLS-only server answered plain NBD"; fi
assert_eq 16777216 "$(nbdinfo --size "nbds+unix://alice@/?socket=$TLSSOCK&tls-psk-file=$T/psk")" "size over TLS-PSK"
expect_rc 0 run_s3nbd flush v1tls
expect_rc 0 run_s3nbd stop v1tls

# errors: a bad line names file and line; unknown flags are usage errors; no such volume
printf 'endpoint = %s\nbucket %s\n' "$S3_ENDPOINT" "$B" >"$S3NBD_CONFIG_DIR/bad.conf"
expect_rc 1 run_s3nbd serve bad
assert_grep "bad\.conf:2: expected 'key = value'" "$T/out" "bad conf line"
expect_rc 2 run_s3nbd serve v1 --no-such-option 1
expect_rc 1 run_s3nbd serve nosuch
assert_grep "volume nosuch: cannot read .*/nosuch\.conf" "$T/out" "missing conf"
expect_rc 1 run_s3nbd stats --statsfile "$T/none.stats"
assert_grep "cannot read $T/none\.stats" "$T/out" "missing stats file"
# an unwritable stats file stops the start with a clear message (plugin and serve)
expect_start_failure "$T/statsfail.log" bucket="$B" prefix=vols/v1 statsfile="$T/data/x.stats"
assert_grep "statsfile: cannot create $T/data/x\.stats\.tmp" "$T/statsfail.log" "plugin statsfile error"
expect_rc 1 run_s3nbd serve v1 --statsfile "$T/data/x.stats"
assert_grep "statsfile: cannot create $T/data/x\\.stats\\.tmp" "$T/out" "serve with an unwritable statsfile"
log "ok"
