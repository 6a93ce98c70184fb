#!/bin/bash
# Exclusive-writer lease (P/lease.s3nbd): a second writer is refused with a message naming the
# holder and the expiry while the first runs; read-only opens need no lease; a clean stop
# releases it; the lease is renewed while serving; an expired lease (planted, or left by a
# killed writer) is taken over; force-takeover=true takes an unexpired one; a writer that lost
# its lease refuses writes.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
B=$(new_bucket)
BS=65536
LEASE=v/lease.s3nbd
create_volume "$B" v 4M $BS
field() { get_object "$B" "$LEASE" "$T/lease" && sed -n "s/^$1 //p" "$T/lease"; }
write_ok() { nbdsh -u "$1" -c "h.pwrite(b'w' * $BS, 0)" -c "h.flush()" >"$T/w.log" 2>&1; }

log "first writer"
start_server bucket="$B" prefix=v lease-time=6
A_PID=$SERVER_PID A_URI=$SERVER_URI A_LOG=$SERVER_LOG
object_exists "$B" "$LEASE" || fail "no lease object while a writer runs"
assert_eq "$A_PID" "$(field pid)" "pid in the lease"
exp1=$(field expires)

log "second writer refused"
expect_start_failure "$T/second.log" bucket="$B" prefix=v lease-time=6
assert_grep "another writer holds the lease: host $(hostname) pid $A_PID .*expires at .*\(in [0-9]+ s\)" \
  "$T/second.log" "refusal of the second writer"
assert_grep "force-takeover=true" "$T/second.log" "refusal mentions force-takeover"

log "read-only opens need no lease"
start_server bucket="$B" prefix=v readonly=true
nbdsh -u "$SERVER_URI" -c "h.pread($BS, 0)" >/dev/null || fail "read-only reader cannot read"
stop_server
assert_eq "$A_PID" "$(field pid)" "lease holder after the reader"

log "renewal: the lease outlives its duration while the writer runs"
sleep 8   # > lease-time; renewal runs every 2 s
write_ok "$A_URI" || { cat "$T/w.log"; fail "writer cannot write after its lease duration passed"; }
exp2=$(field expires)
[ "$exp2" -gt "$exp1" ] || fail "lease expiry was not renewed ($exp1 -> $exp2)"

log "clean stop releases"
stop_server "$A_PID"
object_exists "$B" "$LEASE" && fail "lease object left after a clean stop"
start_server bucket="$B" prefix=v lease-time=6
write_ok "$SERVER_URI" || fail "second writer cannot write after the first stopped"
C_PID=$SERVER_PID

log "a killed writer's lease on this host is taken over at once (its process is gone)"
kill -9 "$C_PID"; wait "$C_PID" 2>/dev/null || true
object_exists "$B" "$LEASE" || fail "a killed writer's lease should remain"
start_server -v bucket="$B" prefix=v lease-time=6   # -v: the takeover is an info (debug) line
assert_grep "taking over the lease of host .* pid $C_PID .*its process on this host is gone" "$SERVER_LOG" "takeover of a dead local holder logged"
assert_eq "$SERVER_PID" "$(field pid)" "lease holder after the takeover"
write_ok "$SERVER_URI" || fail "cannot write after the takeover"
stop_server "$SERVER_PID"

log "an unexpired lease of another host blocks until it expires, then is taken over"
now=$(date +%s)
printf 's3nbd-lease 1\nhost ghost-host\npid 4242\nstarted 2026-01-01T00:00:00Z\ntoken 00ff\nexpires %s\nseconds 6\n' "$((now + 6))" >"$T/ghost"
put_object "$B" "$LEASE" "$T/ghost"
expect_start_failure "$T/stale.log" bucket="$B" prefix=v lease-time=6
assert_grep "another writer holds the lease: host ghost-host pid 4242" "$T/stale.log" "refusal while the other host's lease lasts"
exp=$(field expires)
while [ "$(date +%s)" -le "$exp" ]; do sleep 1; done
start_server bucket="$B" prefix=v lease-time=6
assert_grep "taking over the lease of host ghost-host pid 4242 .*expired" "$SERVER_LOG" "takeover logged"
assert_eq "$SERVER_PID" "$(field pid)" "lease holder after the takeover"
write_ok "$SERVER_URI" || fail "cannot write after the takeover"
D_PID=$SERVER_PID D_URI=$SERVER_URI D_LOG=$SERVER_LOG

log "a planted expired lease is taken over at once"
stop_server "$D_PID"
printf 's3nbd-lease 1\nhost ghost\npid 1\nstarted 2020-01-01T00:00:00Z\ntoken dead\nexpires 1600000000\nseconds 60\n' >"$T/old"
put_object "$B" "$LEASE" "$T/old"
start_server bucket="$B" prefix=v lease-time=6
assert_grep "taking over the lease of host ghost pid 1" "$SERVER_LOG" "takeover of a planted expired lease"
E_PID=$SERVER_PID

log "force-takeover takes an unexpired lease; the loser refuses writes"
start_server bucket="$B" prefix=v lease-time=6 force-takeover=true   # E is alive: for the test only
F_PID=$SERVER_PID F_URI=$SERVER_URI
assert_eq "$F_PID" "$(field pid)" "lease holder after force-takeover"
# E notices at its next renewal (every 2 s) and refuses writes from then on
E_URI=$(uri_of "$T/nbd$((_NSERVERS - 1)).sock")
for i in $(seq 100); do
  grep -q "lease is no longer ours" "$T/nbdkit$((_NSERVERS - 1)).log" && break
  sleep 0.2
done
assert_grep "lease is no longer ours.*now held by host .* pid $F_PID" "$T/nbdkit$((_NSERVERS - 1)).log" "loser logs the loss"
if write_ok "$E_URI"; then fail "the writer that lost its lease still accepts writes"; fi
assert_grep "writer lease was lost" "$T/nbdkit$((_NSERVERS - 1)).log" "refused write names the lost lease"
write_ok "$F_URI" || fail "the new holder cannot write"
stop_server "$E_PID"
assert_eq "$F_PID" "$(field pid)" "the loser's stop must not remove the new holder's lease"
stop_server "$F_PID"
object_exists "$B" "$LEASE" && fail "lease left after the last clean stop"
log "ok"
