#!/bin/bash
# Helpers sourced by tests/integration/test-*.sh: S3 access with curl (SigV4), nbdkit servers
# running our plugin on unix sockets, assertions, and a per-test temp dir whose EXIT trap stops
# every process and mount the test started. Needs a running S3 endpoint (tests/run-integration.sh
# starts Ceph RGW, or set S3NBD_TEST_ENDPOINT). Missing tools or endpoint fail the test, never skip.
# shellcheck disable=SC2034  # variables here are used by the tests that source this file

TEST_NAME=$(basename "$0" .sh)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S3NBD_BUILD=${S3NBD_BUILD:-build}
case $S3NBD_BUILD in /*) ;; *) S3NBD_BUILD=$REPO/$S3NBD_BUILD ;; esac
PLUGIN=$S3NBD_BUILD/nbdkit-s3nbd-plugin.so
S3NBD_CLI=$S3NBD_BUILD/s3nbd
NBDKIT=${S3NBD_NBDKIT:-nbdkit}   # e.g. a wrapper that runs nbdkit under valgrind
PY=/usr/bin/python3              # Debian's python: has the nbd module (the pyenv one does not)

S3_ENDPOINT=${S3NBD_TEST_ENDPOINT:-http://127.0.0.1:${RGW_PORT:-9180}}
# The same RGW over https, as tests/lib/rgw-start.sh leaves it in its state dir (tls/endpoint,
# e.g. https://s3.localhost:9185, and the test CA tls/ca.pem); empty when that RGW did not start
# it. Only the tests that use https check them (test-tls.sh).
S3_RGW_DIR=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}
S3_TLS_ENDPOINT=${S3NBD_TEST_TLS_ENDPOINT:-$(cat "$S3_RGW_DIR/tls/endpoint" 2>/dev/null || true)}
S3_CA_FILE=${S3NBD_TEST_CA_FILE:-$S3_RGW_DIR/tls/ca.pem}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIATEST}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testsecret}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
# The credential chain's other sources: tests never reach the real metadata addresses
# (169.254.169.254, 169.254.170.2); test-credential-chain.sh points them at loopback servers.
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_ENDPOINT_URL_STS \
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
      AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
      AWS_EC2_METADATA_SERVICE_ENDPOINT
export AWS_EC2_METADATA_DISABLED=true

# ---- failing and asserting ----------------------------------------------------------------
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
log() { echo "[$TEST_NAME] $*" >&2; }
assert_eq() { # EXPECTED ACTUAL WHAT
  [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() { [ "$1" != "$2" ] || fail "${3:-value}: expected something other than '$1'"; }
assert_grep() { # PATTERN FILE WHAT: extended regex, case-insensitive
  grep -qiE -- "$1" "$2" || { echo "---- $2:" >&2; tail -n 20 "$2" >&2; fail "${3:-output} does not match /$1/"; }
}
need() { for t in "$@"; do command -v "$t" >/dev/null || fail "required tool '$t' is not installed (make deps)"; done; }

need curl nbdkit nbdcopy nbdinfo timeout sha256sum cmp
if ! "$PY" -c 'import nbd' 2>/dev/null; then
  fail "$PY with the nbd module is required (apt-get install python3-libnbd)"
fi
curl -s -m 10 -o /dev/null "$S3_ENDPOINT/" ||
  fail "no S3 server answers at $S3_ENDPOINT: run tests/run-integration.sh, or start tests/lib/rgw-start.sh"
[ -f "$PLUGIN" ] || fail "plugin not built: $PLUGIN (run make; or set S3NBD_BUILD)"
[ -x "$S3NBD_CLI" ] || fail "CLI not built: $S3NBD_CLI (run make; or set S3NBD_BUILD)"

# nbdsh with Debian's python, whatever python3 is first on PATH
nbdsh() { "$PY" -m nbd "$@"; }
run_s3nbd() { timeout 120 "$S3NBD_CLI" "$@"; }

# ---- per-test temp dir and cleanup ------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-$TEST_NAME.XXXXXX")
_CLEANUP=()   # commands run (last first) on exit
_SERVER_PIDS=()
on_exit() { _CLEANUP+=("$*"); }
_cleanup() {
  local rc=$? i p
  set +e
  for ((i = ${#_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${_CLEANUP[i]}" >/dev/null 2>&1; done
  for p in "${_SERVER_PIDS[@]}"; do _kill_pid "$p"; done
  if [ "$rc" -ne 0 ] && [ -n "${S3NBD_KEEP_FAILED:-}" ]; then
    echo "[$TEST_NAME] temp dir kept: $T" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM
_kill_pid() { # PID: TERM, wait up to 10 s, then KILL
  local p=$1 i
  kill "$p" 2>/dev/null || return 0
  for i in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
  return 0
}

# ---- S3 with curl: s3_curl make_bucket put_object get_object delete_object object_exists list_keys count_keys
# shellcheck source=tests/lib/s3.sh
source "$REPO/tests/lib/s3.sh"
make_bucket() { s3_create_bucket "$1" || fail "cannot create bucket $1 at $S3_ENDPOINT"; }
new_bucket() { # prints a fresh, created bucket name unique to this test run
  local b
  b=$(printf 't-%s-%s%s' "${TEST_NAME#test-}" "$RANDOM" "$RANDOM" | tr 'A-Z_' 'a-z-' | cut -c1-63)
  make_bucket "$b"
  echo "$b"
}
# block objects of a volume at PREFIX (flat and hashed layouts)
block_prefix() { local p=$1; [ -z "$p" ] || p=${p%/}/; echo "${p}b/"; }
count_blocks() { # BUCKET PREFIX
  local p=$2 a b; [ -z "$p" ] || p=${p%/}/
  a=$(count_keys "$1" "${p}b/"); b=$(count_keys "$1" "${p}h/")
  echo $((a + b))
}

# ---- volumes and servers --------------------------------------------------------------------
create_volume() { # BUCKET PREFIX SIZE BLOCKSIZE [more s3nbd create args]
  local b=$1 p=$2 s=$3 bs=$4; shift 4
  run_s3nbd create --endpoint "$S3_ENDPOINT" --bucket "$b" --prefix "$p" --size "$s" --block-size "$bs" "$@" \
    >"$T/create.log" 2>&1 || { cat "$T/create.log" >&2; fail "s3nbd create $b/$p failed"; }
}
uri_of() { echo "nbd+unix:///?socket=$1"; }
_NSERVERS=0
# start_server [NBDKIT_OPTION...] KEY=VALUE...: nbdkit + our plugin on a fresh unix socket; args
# starting with '-' go to nbdkit, the rest to the plugin (endpoint= is added unless given). Waits
# until the export answers. Sets SERVER_PID SERVER_SOCK SERVER_URI SERVER_LOG. Fails the test if
# the server does not come up; try_start_server returns 1 instead.
try_start_server() {
  local opts=() pargs=() a have_ep=0 i
  for a in "$@"; do
    case $a in -*) opts+=("$a") ;; endpoint=*) have_ep=1; pargs+=("$a") ;; *) pargs+=("$a") ;; esac
  done
  [ "$have_ep" = 1 ] || pargs=("endpoint=$S3_ENDPOINT" "${pargs[@]}")
  _NSERVERS=$((_NSERVERS + 1))
  SERVER_SOCK=$T/nbd$_NSERVERS.sock
  SERVER_LOG=$T/nbdkit$_NSERVERS.log
  SERVER_URI=$(uri_of "$SERVER_SOCK")
  rm -f "$SERVER_SOCK"
  "$NBDKIT" -f ${S3NBD_NBDKIT_VERBOSE:+-v} -U "$SERVER_SOCK" "${opts[@]}" "$PLUGIN" "${pargs[@]}" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  _SERVER_PIDS+=("$SERVER_PID")
  for i in $(seq 600); do   # up to ~60 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null; return 1
    fi
    if [ -S "$SERVER_SOCK" ] && timeout 10 nbdinfo --size "$SERVER_URI" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
start_server() {
  try_start_server "$@" && return 0
  echo "---- tail of $SERVER_LOG:" >&2; grep -v 'debug:' "$SERVER_LOG" | tail -n 30 >&2
  fail "nbdkit did not start: $*"
}
# shellcheck disable=SC2120  # the pid argument is optional
stop_server() { # [PID] (default: the last started); waits until it has exited
  local p=${1:-$SERVER_PID}
  _kill_pid "$p"
  wait "$p" 2>/dev/null || true
}
# expect_start_failure LOGFILE ARGS...: nbdkit with our plugin must refuse to start (or refuse
# the first connection); its messages are left in LOGFILE for the caller to grep.
expect_start_failure() {
  local logf=$1; shift
  local opts=() pargs=() a have_ep=0 rc=0
  for a in "$@"; do
    case $a in -*) opts+=("$a") ;; endpoint=*) have_ep=1; pargs+=("$a") ;; *) pargs+=("$a") ;; esac
  done
  [ "$have_ep" = 1 ] || pargs=("endpoint=$S3_ENDPOINT" "${pargs[@]}")
  # shellcheck disable=SC2016  # $uri is expanded by nbdkit --run
  timeout 120 "$NBDKIT" -U - "${opts[@]}" "$PLUGIN" "${pargs[@]}" \
    --run 'nbdinfo --size "$uri" && echo UNEXPECTED-START-OK' >"$logf" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || fail "nbdkit hung (timeout) instead of refusing: $*"
  if [ "$rc" -eq 0 ] || grep -q UNEXPECTED-START-OK "$logf"; then
    cat "$logf" >&2; fail "nbdkit started although it should have refused: $*"
  fi
}
nbd_size() { nbdinfo --size "$1"; }
# random file of N bytes
random_file() { head -c "$2" /dev/urandom >"$1"; }
