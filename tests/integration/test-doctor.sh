#!/bin/bash
# s3nbd doctor against the real Ceph RGW: the ENDPOINT URL form and the VOLUME form print the
# table (endpoint, authentication, bucket, put/get/delete, create-only PUT honoured,
# multi-delete, listing pages, ranged GET ok; the If-Match behaviour as curl sees it on this
# RGW), say the writer lease is safe, exit 0, use the volume's block size, and leave nothing in
# the bucket. Wrong secret, wrong access key, a missing bucket and no server at all fail (exit 1)
# with messages naming the cause; SIGINT stops it, cleaned up (exit 130); bad arguments are
# usage errors (exit 2).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/cli.sh
source "$(dirname "$0")/../lib/cli.sh"

doctor() { # EXPECTED-RC OUT ARGS...: s3nbd doctor; stdout in OUT, stderr in OUT.err
  local want=$1 out=$2 rc=0; shift 2
  run_s3nbd doctor "$@" >"$out" 2>"$out.err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$out" "$out.err" >&2; fail "s3nbd doctor $*: exit $rc, expected $want"; }
}
row() { # JSON NAME: "result|detail" of the row NAME (checks and features)
  "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in d["checks"] + d["features"] if r["name"] == sys.argv[2]]
print(rows[0]["result"] + "|" + rows[0]["detail"] if rows else "missing|")' "$1" "$2"
}
expect_row() { # JSON NAME RESULT [DETAIL-REGEX]
  local got; got=$(row "$1" "$2")
  [ "${got%%|*}" = "$3" ] || fail "doctor row '$2': expected $3, got '$got'"
  [ -z "${4:-}" ] || grep -qE -- "$4" <<<"${got#*|}" || fail "doctor row '$2': detail '${got#*|}' does not match /$4/"
}

run_s3nbd --help | grep -q '^  doctor ' || fail "s3nbd --help does not list doctor"
expect_rc 0 run_s3nbd doctor --help
assert_grep "ENDPOINT +http\(s\)://HOST\[:PORT\]/BUCKET\[/PREFIX\]" "$T/out" "doctor --help"

# ---- what this RGW does with If-Match, seen by curl: the doctor must state the same --------
B=$(new_bucket)
echo v1 >"$T/v1"
etag=$(s3_curl -X PUT --data-binary "@$T/v1" -D - -o /dev/null "$S3_ENDPOINT/$B/scratch" |
       tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
[ -n "$etag" ] || fail "RGW answered a PUT without an ETag"
if s3_curl -X PUT -H "If-Match: $etag" --data-binary "@$T/v1" -o /dev/null "$S3_ENDPOINT/$B/scratch" 2>/dev/null; then
  IFMATCH='ok|If-Match honoured'
else
  IFMATCH='info|If-Match UNRELIABLE: 412 even with the object.s own ETag'
fi
delete_object "$B" scratch
log "curl: this RGW's If-Match with the object's own ETag: ${IFMATCH%%|*}"

# ---- the ENDPOINT form, JSON ---------------------------------------------------------------
doctor 0 "$T/d.json" "$S3_ENDPOINT/$B" --json --samples 3
expect_row "$T/d.json" endpoint ok
expect_row "$T/d.json" authentication ok "accepted \(credentials: "
expect_row "$T/d.json" bucket ok "s3://$B exists"
expect_row "$T/d.json" "put/get/delete" ok
expect_row "$T/d.json" "create-only PUT" ok "If-None-Match: \* honoured"
expect_row "$T/d.json" "conditional PUT" "${IFMATCH%%|*}" "${IFMATCH#*|}"
expect_row "$T/d.json" "multi-delete" ok "removed 5 objects"
expect_row "$T/d.json" "listing pages" ok "5 keys in 3 pages of max-keys=2"
expect_row "$T/d.json" "ranged GET" ok "HTTP 206"
expect_row "$T/d.json" "clock skew" ok
expect_row "$T/d.json" "latency 4 KiB" info "PUT p50 [0-9.]+ ms p99 [0-9.]+ ms, GET p50"
expect_row "$T/d.json" "latency 1 MiB" info "MiB/s"
expect_row "$T/d.json" "throughput 1 MiB" info "8 objects at once"
expect_row "$T/d.json" cleanup ok "nothing left under s3://$B/.s3nbd-doctor/[0-9a-f]{32}/"
expect_row "$T/d.json" "writable serve, attach (writer lease)" ok "safe"
"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["exit_code"] == 0 and d["lease_trusted"], d' "$T/d.json" ||
  fail "JSON: exit_code/lease_trusted"
assert_eq 0 "$(count_keys "$B" "")" "objects left in the bucket after doctor"

# ---- the table, with a prefix in the URL ---------------------------------------------------
doctor 0 "$T/d.txt" "$S3_ENDPOINT/$B/some/prefix" --samples 2 --block-size 64K
for r in 'endpoint +ok' 'authentication +ok' 'put/get/delete +ok' 'create-only PUT +ok' 'multi-delete +ok' \
         'listing pages +ok' 'ranged GET +ok' 'latency 64 KiB +info' 'cleanup +ok .*s3://'"$B"'/some/prefix/\.s3nbd-doctor/'; do
  assert_grep "^$r" "$T/d.txt" "doctor table row /$r/"
done
assert_grep '^block size: 65536 \(--block-size\)' "$T/d.txt" "block size line"
assert_grep '^verdict: ok \(exit 0\)$' "$T/d.txt" "verdict line"
! grep -q WARNING "$T/d.txt" || fail "the doctor warned on RGW"
assert_eq 0 "$(count_keys "$B" "")" "objects left after the prefixed run"

# ---- the VOLUME form: the volume's block size; its objects untouched ------------------------
create_volume "$B" vol 1M 64K
write_conf dv "$B" vol
doctor 0 "$T/v.txt" dv --samples 2
assert_grep '^s3nbd doctor: .*, bucket '"$B"', volume dv$' "$T/v.txt" "header names the volume"
assert_grep "^block size: 65536 \(the volume's\)" "$T/v.txt" "the volume's block size"
assert_grep '^latency 64 KiB +info' "$T/v.txt" "samples at the volume's block size"
assert_grep "^cleanup +ok .*s3://$B/vol/\.s3nbd-doctor/" "$T/v.txt" "scratch area under the volume's prefix"
assert_eq "vol/volume.s3nbd" "$(list_keys "$B" "")" "objects after doctor of a volume"

# ---- SIGINT in the middle: it stops after the current check, cleans up, exits 130 ----------
"$S3NBD_CLI" doctor "$S3_ENDPOINT/$B" --samples 100 --block-size 256K >"$T/int.txt" 2>"$T/int.err" &
DOC=$!
_SERVER_PIDS+=("$DOC")
for _ in $(seq 300); do [ "$(count_keys "$B" .s3nbd-doctor/)" -gt 0 ] && break; sleep 0.1; done
[ "$(count_keys "$B" .s3nbd-doctor/)" -gt 0 ] || fail "the doctor wrote nothing within 30 s"
kill -INT "$DOC"
rc=0
wait "$DOC" || rc=$?
[ "$rc" = 130 ] || { cat "$T/int.txt" "$T/int.err" >&2; fail "doctor after SIGINT: exit $rc, expected 130"; }
assert_grep '^interrupted +WARN +stopped by a signal' "$T/int.txt" "interrupted row"
assert_grep '^cleanup +ok' "$T/int.txt" "cleanup after SIGINT"
assert_grep 'interrupted' "$T/int.err" "SIGINT: stderr"
assert_eq "vol/volume.s3nbd" "$(list_keys "$B" "")" "objects after the interrupted run"

# ---- wrong credentials, a missing bucket, no server: exit 1 with the cause named ------------
AWS_SECRET_ACCESS_KEY=wrong-secret doctor 1 "$T/bad.txt" "$S3_ENDPOINT/$B"
# RGW answers AccessDenied (not SignatureDoesNotMatch / InvalidAccessKeyId) to both mistakes
DENIED='HTTP 403 (AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId).*\(check the (credentials|secret key|access key)'
assert_grep "^authentication +FAIL +HEAD $B: $DENIED" "$T/bad.txt" "wrong secret: row"
assert_grep "^s3nbd doctor: authentication: HEAD $B: $DENIED" "$T/bad.txt.err" "wrong secret: stderr"
assert_grep '^put/get/delete +skipped' "$T/bad.txt" "wrong secret: no writes"
assert_grep '^verdict: FAILED: s3nbd cannot use this provider \(exit 1\)' "$T/bad.txt" "wrong secret: verdict"
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY doctor 1 "$T/badkey.txt" "$S3_ENDPOINT/$B"
assert_grep "^authentication +FAIL +HEAD $B: $DENIED" "$T/badkey.txt" "wrong access key"
doctor 1 "$T/nob.txt" "$S3_ENDPOINT/no-such-bucket-$RANDOM$RANDOM" --json
expect_row "$T/nob.txt" bucket fail "bucket 'no-such-bucket-[0-9]+' does not exist at $S3_ENDPOINT"
expect_row "$T/nob.txt" authentication ok
assert_grep "^s3nbd doctor: bucket: HEAD no-such-bucket-[0-9]+: bucket 'no-such-bucket-[0-9]+' does not exist" "$T/nob.txt.err" "missing bucket: stderr"
doctor 1 "$T/down.txt" http://127.0.0.1:1/"$B" --retry-time 1
assert_grep '^endpoint +FAIL +.*cannot reach http://127.0.0.1:1' "$T/down.txt" "no server"
assert_eq "vol/volume.s3nbd" "$(list_keys "$B" "")" "objects after the failed runs"

# ---- usage errors ----------------------------------------------------------------------------
expect_rc 2 run_s3nbd doctor
expect_rc 2 run_s3nbd doctor ftp://127.0.0.1/b
assert_grep 'scheme must be http or https' "$T/out" "bad scheme"
expect_rc 2 run_s3nbd doctor "$S3_ENDPOINT/$B" --bucket other
expect_rc 2 run_s3nbd doctor "$S3_ENDPOINT/$B" --samples 0
expect_rc 2 run_s3nbd doctor "$S3_ENDPOINT/$B" --no-such-flag 1
log "ok"
