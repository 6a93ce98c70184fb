#!/bin/bash
# s3nbd doctor through the HAProxy fault front: (1) 20 % 503 SlowDown, 5 % 500, 5 % resets,
# 10 % delays: it retries, still finds every check as on a clean run (exit 0), counts the
# retries in its table and leaves nothing; (2) every request 503: a clear FAIL verdict (exit 1)
# naming the SlowDown and the attempts, within its retry budget, nothing written; (3) the front
# goes away in the middle of a run and comes back: the run ends with a verdict and the bucket is
# empty again (cleanup retried through the outage). The bucket is checked straight against S3.
set -euo pipefail
# shellcheck source=tests/faults/lib.sh
source "$(dirname "$0")/lib.sh"

doctor() { # EXPECTED-RC(S) OUT URL ARGS...: EXPECTED "0|3" allows either
  local want=$1 out=$2 rc=0; shift 2
  timeout 300 "$S3NBD_CLI" doctor "$@" >"$out" 2>"$out.err" || rc=$?
  [ "$rc" != 124 ] || { cat "$out" "$out.err" >&2; fail "s3nbd doctor hung (timeout): $*"; }
  [[ "|$want|" == *"|$rc|"* ]] || { cat "$out" "$out.err" >&2; fail "s3nbd doctor $*: exit $rc, expected $want"; }
  DOCTOR_RC=$rc
}
B=$(new_bucket)

# ---- (1) transient faults: retried, the same findings as without faults ---------------------
start_front 20 5 5 0 10 100
doctor 0 "$T/f.txt" "$FRONT_URL/$B" --samples 4
for r in 'endpoint +ok' 'authentication +ok' 'put/get/delete +ok' 'create-only PUT +ok' 'multi-delete +ok' \
         'listing pages +ok' 'ranged GET +ok' 'cleanup +ok' 'writable serve, attach \(writer lease\) +ok'; do
  assert_grep "^$r" "$T/f.txt" "doctor through faults: row /$r/"
done
assert_grep '^verdict: ok \(exit 0\)$' "$T/f.txt" "doctor through faults: verdict"
retries=$(sed -n 's/^retries  *info  *\([0-9][0-9]*\) retried attempts.*/\1/p' "$T/f.txt")
stop_front
injected=$(( $(front_count slowdown503) + $(front_count internal500) + $(front_count reset) ))
log "faults injected: $injected (503 $(front_count slowdown503), 500 $(front_count internal500), reset $(front_count reset)); retries in the table: ${retries:-none}"
[ "$injected" -gt 0 ] || fail "the front injected no fault: the test proves nothing"
[ -n "$retries" ] && [ "$retries" -gt 0 ] || fail "the table shows no retries although $injected faults were injected"
assert_eq 0 "$(count_keys "$B" "")" "objects left after the run through faults"

# ---- (2) the endpoint only answers 503: a clear failure, not a hang ------------------------
start_front 100 0 0 0 0 0
doctor 1 "$T/slow.txt" "$FRONT_URL/$B" --retry-time 3
assert_grep '^endpoint +FAIL +.*HTTP 503 SlowDown.*gave up after [0-9]+ attempts' "$T/slow.txt" "all-503 endpoint row"
assert_grep '^s3nbd doctor: endpoint: .*SlowDown' "$T/slow.txt.err" "all-503 stderr"
assert_grep '^verdict: FAILED' "$T/slow.txt" "all-503 verdict"
stop_front
assert_eq 0 "$(count_keys "$B" "")" "objects after the all-503 run"

# ---- (3) an outage in the middle of a run: it ends with a verdict and cleans up ------------
start_front 0 0 0 0 0 0
"$S3NBD_CLI" doctor "$FRONT_URL/$B" --samples 100 --block-size 256K >"$T/o.txt" 2>"$T/o.err" &
DOC=$!
_SERVER_PIDS+=("$DOC")
# until it is well into its run (up to 20 s): 30 requests through the front, or objects of it in
# the bucket (it deletes each sample soon after writing it, so a listing alone can miss them)
front_requests() { grep -c '^fault=' "$FRONT_LOG" || true; }
for _ in $(seq 200); do
  [ "$(front_requests)" -ge 30 ] || [ "$(count_keys "$B" "")" -gt 0 ] && break
  kill -0 "$DOC" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$DOC" 2>/dev/null || { cat "$T/o.txt" "$T/o.err" >&2; fail "the doctor ended before the outage"; }
[ "$(front_requests)" -ge 30 ] || [ "$(count_keys "$B" "")" -gt 0 ] ||
  fail "the doctor sent $(front_requests) requests and wrote nothing within 20 s"
stop_front
sleep 3
restart_front
rc=0
wait "$DOC" || rc=$?
log "doctor across an outage: exit $rc"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 3 ] || { cat "$T/o.txt" "$T/o.err" >&2; fail "exit $rc across the outage"; }
assert_grep '^verdict: ' "$T/o.txt" "verdict after the outage"
assert_grep '^cleanup +ok' "$T/o.txt" "cleanup after the outage"
assert_grep '^retries +info +[1-9][0-9]* retried attempts' "$T/o.txt" "retries across the outage"
stop_front
assert_eq 0 "$(count_keys "$B" "")" "objects left after the outage run"
figure faults_injected "$injected"
figure retries "$retries"
log "ok"
