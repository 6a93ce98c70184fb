#!/bin/bash
# Verifies the systemd units with systemd-analyze verify in a throw-away root (--root): the
# units, the s3nbd binary at its installed path and a copy of this machine's unit directory
# (for the targets the units name), so nothing is installed on the machine. Any message about
# a unit fails the check, and a deliberately broken copy must be caught (the check can fail).
#   scripts/check-units.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
command -v systemd-analyze >/dev/null || { echo "check-units: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }
[ -x "$BUILD/s3nbd" ] || { echo "check-units: $BUILD/s3nbd not built (make)" >&2; exit 1; }
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/s3nbd-units.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
UNITDIR=$ROOT/lib/systemd/system
mkdir -p "$ROOT/usr/bin" "$ROOT/etc/s3nbd" "$UNITDIR"
cp -a /lib/systemd/system/. "$UNITDIR/"
install -m 0755 "$BUILD/s3nbd" "$ROOT/usr/bin/s3nbd"
cp systemd/*.service "$UNITDIR/"
touch "$ROOT/etc/s3nbd/example.conf"

verify() { # UNIT...: prints messages; non-zero exit or any message is a failure
  local out rc=0
  out=$(systemd-analyze verify --man=no --root="$ROOT" "$@" 2>&1) || rc=$?
  [ "$rc" -eq 0 ] && [ -z "$out" ] && return 0
  printf '%s\n' "$out" >&2
  return 1
}
units=()
for f in systemd/*.service; do
  u=$(basename "$f" .service)
  case $u in
    *@) ln -s "$u.service" "$UNITDIR/${u}example.service"; units+=("${u}example.service") ;;
    *) units+=("$u.service") ;;   # e.g. s3nbd-exporter.service
  esac
done
verify "${units[@]}" || { echo "check-units: FAIL: systemd-analyze verify ${units[*]}" >&2; exit 1; }

# the check must be able to fail: a unit with an invalid Type= is reported
sed 's/^Type=.*/Type=no-such-type/' systemd/s3nbd@.service >"$UNITDIR/s3nbd@.service"
if verify s3nbd@example.service 2>/dev/null; then
  echo "check-units: FAIL: a broken unit passed verification; the check is not working" >&2
  exit 1
fi
echo "check-units: ${units[*]} verified"
