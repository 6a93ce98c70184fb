#!/bin/bash
# Helpers for tests/integration/test-cli-*.sh (sourced after common.sh): a config dir and a run
# dir in the test's temp dir, volume .conf files, and 's3nbd serve' daemons that the test's
# EXIT trap stops by their pid files.
# shellcheck disable=SC2034  # variables here are used by the tests that source this file
export S3NBD_CONFIG_DIR=$T/conf S3NBD_RUN_DIR=$T/run S3NBD_PLUGIN=$PLUGIN
mkdir -p "$S3NBD_CONFIG_DIR" "$S3NBD_RUN_DIR"
ENCODE_BLOCK=$S3NBD_BUILD/s3nbd-test-encode-block
[ -x "$ENCODE_BLOCK" ] || fail "test helper not built: $ENCODE_BLOCK (run make)"

write_conf() { # NAME BUCKET PREFIX [extra 'key = value' lines...]
  local name=$1 b=$2 p=$3; shift 3
  {
    echo "# volume $name for $TEST_NAME"
    echo "endpoint = $S3_ENDPOINT"
    echo "bucket = $b"
    echo "prefix = $p"
    local l; for l in "$@"; do echo "$l"; done
  } >"$S3NBD_CONFIG_DIR/$name.conf"
}
# kill the server whose pid file is PIDFILE (TERM, then KILL after 10 s)
_stop_pidfile() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && _kill_pid "$p"; }
serve_volume() { # NAME [serve args...]: s3nbd serve as a daemon; fails the test if it does not start
  local name=$1; shift
  local pidfile=$S3NBD_RUN_DIR/$name.pid
  on_exit "_stop_pidfile '$pidfile'"
  run_s3nbd serve "$name" "$@" >"$T/serve-$name.log" 2>&1 || { cat "$T/serve-$name.log" >&2; fail "s3nbd serve $name failed"; }
  local i
  for i in $(seq 100); do [ -s "$pidfile" ] && break; sleep 0.1; done
  [ -s "$pidfile" ] || fail "s3nbd serve $name: no pid file $pidfile"
  kill -0 "$(cat "$pidfile")" || fail "s3nbd serve $name: pid $(cat "$pidfile") is not running"
}
expect_rc() { # RC COMMAND...: runs the command (output in $T/out), asserts its exit status
  local want=$1 rc=0; shift
  "$@" >"$T/out" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || { cat "$T/out" >&2; fail "exit status of '$*': expected $want, got $rc"; }
}
uuid_of() { # VOLUME-ARGS...: the uuid s3nbd info prints
  run_s3nbd info --no-count "$@" | sed -n 's/^uuid: //p'
}
