#!/bin/bash
# s3nbd exporter: two volumes served with 's3nbd serve' (stats files in RUN_DIR); the exporter
# on a free 127.0.0.1 port serves /metrics with both volumes as labels, one # TYPE per
# family, and every metric docs/grafana-s3nbd.json uses; a 1 MiB write to v1 moves v1's
# written-bytes and PUT counters and not v2's; a stopped server shows s3nbd_up 0; a busy port
# and a bad --listen are refused clearly; SIGTERM stops it.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

B=$(new_bucket)
write_conf v1 "$B" vols/v1
write_conf v2 "$B" vols/v2 "cache = $T/v2.cache" "cache-size = 8M"   # the cache metrics too
for v in v1 v2; do
  expect_rc 0 run_s3nbd create "$v" --size 16M --block-size 64K
  serve_volume "$v"
done

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/metrics
"$S3NBD_CLI" exporter --listen "127.0.0.1:$PORT" >"$T/exporter.log" 2>&1 &
EXPORTER=$!
_SERVER_PIDS+=("$EXPORTER")
for _ in $(seq 100); do curl -sf -o /dev/null "$URL" && break; sleep 0.1; done
scrape() { curl -sf -D "$T/headers" "$URL" >"$T/metrics" || fail "curl $URL failed"; }
metric() { # NAME [LABELS]: the sample's value, or "" if absent
  local k=$1; [ -z "${2:-}" ] || k="$1{$2}"
  awk -v k="$k" '$1 == k { print $2 }' "$T/metrics"
}
scrape
assert_grep '^content-type: text/plain; version=0\.0\.4' "$T/headers" "Content-Type"
for v in v1 v2; do
  for _ in $(seq 50); do [ "$(metric s3nbd_up "volume=\"$v\"")" = 1 ] && break; sleep 0.2; scrape; done
  assert_eq 1 "$(metric s3nbd_up "volume=\"$v\"")" "s3nbd_up of $v"
done
assert_eq 1 "$(grep -c '^# TYPE s3nbd_written_bytes_total counter$' "$T/metrics")" "TYPE lines of one family"
assert_eq 0 "$(metric s3nbd_exporter_errors)" "exporter errors"
# the example dashboard uses only metrics the exporter exports
for m in $(grep -oE 's3nbd_[a-z0-9_]+' "$REPO/docs/grafana-s3nbd.json" | sort -u); do
  grep -q "^# TYPE $m " "$T/metrics" || fail "docs/grafana-s3nbd.json uses $m, which the exporter does not export"
done
w1=$(metric s3nbd_written_bytes_total 'volume="v1"')
w2=$(metric s3nbd_written_bytes_total 'volume="v2"')
p1=$(metric s3nbd_s3_requests_total 'volume="v1",op="put"')
[ -n "$w1" ] && [ -n "$w2" ] && [ -n "$p1" ] || { cat "$T/metrics" >&2; fail "no written-bytes or PUT counters"; }

random_file "$T/data" 1048576
nbdcopy "$T/data" "$(uri_of "$S3NBD_RUN_DIR/v1.sock")" || fail "nbdcopy to v1 failed"
want=$((w1 + 1048576))
for _ in $(seq 50); do   # the stats file is rewritten every second
  scrape
  [ "$(metric s3nbd_written_bytes_total 'volume="v1"')" = "$want" ] && break
  sleep 0.2
done
assert_eq "$want" "$(metric s3nbd_written_bytes_total 'volume="v1"')" "v1 bytes written after 1 MiB"
[ "$(metric s3nbd_s3_requests_total 'volume="v1",op="put"')" -ge $((p1 + 16)) ] ||
  fail "v1 PUT counter did not move by 16 blocks: $p1 -> $(metric s3nbd_s3_requests_total 'volume="v1",op="put"')"
assert_eq "$w2" "$(metric s3nbd_written_bytes_total 'volume="v2"')" "v2 bytes written (untouched)"

# errors: a busy port, a bad address, unknown options
expect_rc 1 timeout 10 "$S3NBD_CLI" exporter --listen "127.0.0.1:$PORT"
assert_grep "cannot listen on 127\.0\.0\.1:$PORT: Address already in use" "$T/out" "busy port"
expect_rc 1 timeout 10 "$S3NBD_CLI" exporter --listen 127.0.0.1
assert_grep "listen: '127\.0\.0\.1' is not ADDR:PORT" "$T/out" "bad --listen"
expect_rc 2 timeout 10 "$S3NBD_CLI" exporter
assert_grep "listen ADDR:PORT is required" "$T/out" "missing --listen"
expect_rc 2 timeout 10 "$S3NBD_CLI" exporter --listen "127.0.0.1:$PORT" --bogus 1
assert_grep "unknown option --bogus" "$T/out" "unknown option"

# a stopped server: s3nbd_up 0 once its stats file is stale (> 5 s), and no counters
expect_rc 0 run_s3nbd stop v2
for _ in $(seq 50); do scrape; [ "$(metric s3nbd_up 'volume="v2"')" = 0 ] && break; sleep 0.3; done
assert_eq 0 "$(metric s3nbd_up 'volume="v2"')" "s3nbd_up of the stopped v2"
assert_eq "" "$(metric s3nbd_written_bytes_total 'volume="v2"')" "counters of the stopped v2"

kill -TERM "$EXPORTER"
rc=0; wait "$EXPORTER" || rc=$?
assert_eq 0 "$rc" "exporter exit status on SIGTERM"
assert_grep "s3nbd exporter: stopped" "$T/exporter.log" "exporter log"
