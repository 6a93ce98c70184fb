#!/bin/bash
# Helpers for the cache tests (tests/integration/test-cache-*.sh), sourced after common.sh:
# killing a server like a crash, stopping it cleanly (it drains its dirty data), and nbdfuse
# mounts of an export. Every wait is bounded; failures fail the test.
# shellcheck disable=SC2034,SC2120  # variables used by the tests; [PID]/[LOG] arguments are optional

kill9_server() { # [PID] (default: the last started): SIGKILL, no drain; waits until it is gone
  local p=${1:-$SERVER_PID}
  kill -9 "$p" 2>/dev/null || fail "kill -9 $p: the server had already exited (see $SERVER_LOG)"
  wait "$p" 2>/dev/null || true
}
# stop_server_clean [PID]: SIGTERM; the plugin drains dirty cache data (bounded by its
# shutdown-timeout) before exiting. Fails the test if the server does not exit within 90 s or
# logged that dirty data was left behind.
stop_server_clean() {
  local p=${1:-$SERVER_PID} i
  kill "$p" 2>/dev/null || fail "stop: server $p had already exited (see $SERVER_LOG)"
  for i in $(seq 900); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "server $p did not exit within 90 s of SIGTERM"
  wait "$p" 2>/dev/null || true
  if grep -q 'dirty data left in the cache' "$SERVER_LOG"; then
    grep -v 'debug:' "$SERVER_LOG" | tail -n 20 >&2
    fail "clean stop left dirty data in the cache file"
  fi
}
# nonzero_blocks FILE BLOCKSIZE: how many BLOCKSIZE blocks of FILE are not all zeros
nonzero_blocks() {
  "$PY" - "$1" "$2" <<'PY'
import sys
path, bs = sys.argv[1], int(sys.argv[2])
zero, n = bytes(bs), 0
with open(path, "rb") as f:
    while True:
        b = f.read(bs)
        if not b:
            break
        n += b != zero[:len(b)]
print(n)
PY
}
# export_to_file URI FILE: the whole export copied into FILE (nbdcopy)
export_to_file() {
  rm -f "$2"
  timeout 120 nbdcopy "$1" "$2" || fail "nbdcopy $1 -> $2 failed"
}

# ---- nbdfuse: FUSE_DIR/nbd is the export of a unix socket --------------------------------
FUSE_PID=
fuse_up() { # DIR SOCK
  local dir=$1 sock=$2 i
  mkdir -p "$dir"
  rm -f "$T/nbdfuse.pid"
  nbdfuse -P "$T/nbdfuse.pid" "$dir" --unix "$sock" 2>>"$T/nbdfuse.log" &
  FUSE_PID=$!
  for i in $(seq 300); do
    [ -s "$T/nbdfuse.pid" ] && [ -e "$dir/nbd" ] && return 0
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$T/nbdfuse.log" >&2; fail "nbdfuse exited"; }
    sleep 0.1
  done
  fail "nbdfuse did not come up in 30 s"
}
fuse_down() { # DIR
  local i
  fusermount3 -u "$1" || umount -l "$1" || fail "cannot unmount the nbdfuse dir $1"
  for i in $(seq 300); do kill -0 "$FUSE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$FUSE_PID" 2>/dev/null && fail "nbdfuse did not exit after unmount"
  wait "$FUSE_PID" 2>/dev/null || true
}

# assert_clean_log [LOG] (default: the last server's): no error or warning lines (nbdkit_error,
# which also carries the plugin's warnings such as a cached copy failing its hash)
assert_clean_log() {
  local f=${1:-$SERVER_LOG}
  if grep -v 'debug:' "$f" | grep -qiE 'error|warning'; then
    grep -v 'debug:' "$f" | grep -iE 'error|warning' | head -n 10 >&2
    fail "errors or warnings in $f"
  fi
}
