#!/bin/bash
# Helpers for tests/e2e/test-*.sh, sourced after tests/lib/common.sh: how a volume is served (the
# one place to switch from nbdkit to `s3nbd serve`), the test guest (kit, boot, console protocol of
# tests/e2e/guest/init) and the host-side check that an ext4 volume written by a guest is intact.
# shellcheck disable=SC2034  # variables here are used by the tests that source this file
E2E_DIR=$REPO/tests/e2e
need qemu-system-x86_64 qemu-img nbdcopy e2fsck debugfs awk

# ---- serving a volume -----------------------------------------------------------------------
# S3NBD_E2E_SERVE picks the server: "nbdkit" (default) runs nbdkit + our plugin (common.sh's
# start_server). When `s3nbd serve` lands, add its branch here; the tests only see SERVER_SOCK,
# SERVER_URI and SERVER_PID. S3NBD_E2E_PLUGIN_ARGS adds plugin parameters to every server
# (space-separated KEY=VALUE words, e.g. "connections=1").
S3NBD_E2E_SERVE=${S3NBD_E2E_SERVE:-nbdkit}
serve_volume() { # BUCKET PREFIX [KEY=VALUE...]
  local b=$1 p=$2 extra; shift 2
  read -ra extra <<<"${S3NBD_E2E_PLUGIN_ARGS:-}"
  case $S3NBD_E2E_SERVE in
    nbdkit) start_server bucket="$b" prefix="$p" "$@" "${extra[@]}" ;;
    *) fail "S3NBD_E2E_SERVE=$S3NBD_E2E_SERVE: unknown server (known: nbdkit)" ;;
  esac
}
# shellcheck disable=SC2120  # the pid argument is optional
stop_volume() { stop_server "$@"; }

# ---- the guest ---------------------------------------------------------------------------------
# The kit (kernel + initramfs) is built once by tests/e2e/run-e2e.sh into S3NBD_E2E_KIT; a test
# run on its own builds one in its temp dir.
guest_kit() {
  if [ -z "${S3NBD_E2E_KIT:-}" ] || [ ! -s "$S3NBD_E2E_KIT/initrd.gz" ]; then
    S3NBD_E2E_KIT=$T/kit
    bash "$E2E_DIR/lib/guest-kit.sh" "$S3NBD_E2E_KIT" >"$T/kit.log" 2>&1 ||
      { cat "$T/kit.log" >&2; fail "building the guest kit failed"; }
  fi
  [ -s "$S3NBD_E2E_KIT/kernel" ] || fail "guest kit $S3NBD_E2E_KIT has no kernel"
}

# run_guest LOG APPEND [QEMU_ARGS...]: boots the guest (TCG, 1 vCPU; KVM does not work on these
# machines) with "e2e.* words" APPEND on its command line; its serial console goes to LOG. Returns
# when the guest has powered off or S3NBD_E2E_GUEST_TIMEOUT (s, default 480) has passed.
# Prints the guest's figures and sets GUEST_SECS (boot to power-off, a figure, never asserted).
run_guest() {
  local log=$1 append=$2 t0 rc=0 pid; shift 2
  guest_kit
  : >"$log"
  t0=$(date +%s.%N)
  timeout --kill-after=10 "${S3NBD_E2E_GUEST_TIMEOUT:-480}" \
    qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nodefaults -no-user-config -display none \
    -no-reboot -serial "file:$log" -kernel "$S3NBD_E2E_KIT/kernel" -initrd "$S3NBD_E2E_KIT/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 $append" "$@" >"$log.qemu" 2>&1 &
  pid=$!
  _SERVER_PIDS+=("$pid")
  wait "$pid" || rc=$?
  GUEST_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  log "guest ran ${GUEST_SECS}s (qemu exit $rc)"
  grep -a '^E2E: ' "$log" | sed 's/^/    guest| /' >&2 || true
  [ "$rc" -ne 124 ] || { tail -n 30 "$log" >&2; fail "guest timed out after ${S3NBD_E2E_GUEST_TIMEOUT:-480}s"; }
  [ "$rc" -eq 0 ] || { cat "$log.qemu" >&2; tail -n 30 "$log" >&2; fail "qemu exited with $rc"; }
  if ! grep -aq '^E2E-RESULT: PASS' "$log"; then
    tail -n 40 "$log" >&2
    fail "guest: $(grep -a '^E2E-RESULT:' "$log" || echo 'no result line on the console')"
  fi
}
guest_value() { # LOG KEY: the value of KEY=VALUE on the guest's "E2E:" lines
  grep -a '^E2E: ' "$1" | tr -d '\r' | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1
}

# ---- host-side check of an ext4 volume a guest wrote (tests/e2e/guest/lib.sh fs_check) ----------
# verify_guest_fs LOG BUCKET PREFIX SIZE BLOCKSIZE [FILES]: a FRESH server copies the volume out
# of the bucket; the copy's sha256 must equal the one the guest computed of its device, e2fsck
# must find it clean, every file the guest listed (FILES of them, default 43) must have the
# guest's checksum, and the bucket must hold at least the big file's blocks but not every block
# (zeros are never stored).
verify_guest_fs() {
  local log=$1 b=$2 p=$3 size=$4 bs=$5 files=${6:-43} want img=$T/volume.img got n objs mb t0
  want=$(guest_value "$log" devsha)
  [ ${#want} -eq 64 ] || fail "the guest printed no device checksum"
  serve_volume "$b" "$p"
  rm -f "$img"
  t0=$(date +%s.%N)
  if ! nbdcopy "$SERVER_URI" "$img"; then
    grep -v 'debug:' "$SERVER_LOG" | tail -n 10 >&2
    fail "nbdcopy of the volume from a fresh server failed"
  fi
  log "host: nbdcopy of the volume from a fresh server: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
  stop_volume
  assert_eq "$size" "$(stat -c %s "$img")" "size of the volume read back"
  got=$(sha256sum "$img" | cut -d' ' -f1)
  assert_eq "$want" "$got" "sha256 of the whole volume (guest device vs fresh server)"

  e2fsck -fn "$img" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "e2fsck -fn of the volume found problems"; }
  grep -a '^E2E-SUM: ' "$log" | sed 's/^E2E-SUM: //' | tr -d '\r' >"$T/manifest"
  n=$(wc -l <"$T/manifest")
  assert_eq "$files" "$n" "files the guest listed"
  rm -rf "$T/out"; mkdir -p "$T/out"
  debugfs -R "rdump /e2e $T/out" "$img" >"$T/debugfs.log" 2>&1 || { cat "$T/debugfs.log" >&2; fail "debugfs rdump failed"; }
  (cd "$T/out" && sha256sum --quiet -c "$T/manifest") >&2 || fail "files read on the host differ from what the guest wrote"
  rm -rf "$T/out" "$img"

  objs=$(count_blocks "$b" "$p")
  mb=$(guest_value "$log" write_mb)
  log "host: $objs block objects of $((size / bs)) in the bucket"
  [ "$objs" -ge $((mb * 1048576 / bs)) ] || fail "bucket holds $objs block objects, fewer than the ${mb} MiB file needs"
  [ "$objs" -lt $((size / bs)) ] || fail "bucket holds $objs block objects: every block is stored, zeros were not elided"
}
