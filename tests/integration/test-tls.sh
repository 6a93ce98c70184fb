#!/bin/bash
# https for real: the runner's Ceph RGW also listens with TLS (tests/lib/rgw-start.sh: a test CA
# and a certificate for s3.localhost and *.s3.localhost, made at start), and libcurl resolves
# *.localhost to loopback by itself, so BUCKET.s3.localhost is virtual-hosted addressing on
# 127.0.0.1 with no hosts entry.
#   - s3nbd create + nbdkit over https with addressing=virtual and ca-file=: data written comes
#     back identical through a new server, and the bucket holds the block objects;
#   - the same path-style over https;
#   - refusals, each naming its cause on the CLI's stderr and in the nbdkit log, and writing
#     nothing: no ca-file (the system store does not trust the test CA), a host name the
#     certificate does not list (127.0.0.1, other.localhost, BUCKET.localhost), an unreadable
#     ca-file, https to the plain http port;
#   - the credential chain's STS over https (profile role_arn with an https sts_endpoint):
#     works with ca-file=, refused as untrusted without it.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
LIB=$REPO/tests/lib
need openssl radosgw-admin
MiB=1048576

{ [ -n "$S3_TLS_ENDPOINT" ] && [ -f "$S3_CA_FILE" ]; } ||
  fail "no https RGW: $S3_RGW_DIR/tls/{endpoint,ca.pem} missing (this test needs the runner's RGW, tests/lib/rgw-start.sh)"
TLS=$S3_TLS_ENDPOINT CA=$S3_CA_FILE
case $TLS in https://s3.localhost:*) ;; *) fail "unexpected https endpoint '$TLS' (want https://s3.localhost:PORT)" ;; esac
TLS_PORT=${TLS##*:}
HTTP_PORT=${S3_ENDPOINT##*:}
# the certificate is what the refusals below rely on: check it says what we think
openssl x509 -in "$S3_RGW_DIR/tls/server.pem" -noout -ext subjectAltName >"$T/san.txt" ||
  fail "cannot read the server certificate"
assert_grep 'DNS:s3\.localhost, DNS:\*\.s3\.localhost$' "$T/san.txt" "server certificate SANs"
# and the system store must not trust the test CA, or the "untrusted" refusal proves nothing
if curl -s -m 10 -o /dev/null "$TLS/"; then fail "curl trusts the test CA without --cacert"; fi
curl -sf -m 10 -o /dev/null --cacert "$CA" "$TLS/" || fail "curl --cacert $CA cannot reach $TLS"

B=$(new_bucket)
IMG=$T/in.img
truncate -s 16M "$IMG"
for mib in 0 5 6 15; do dd if=/dev/urandom of="$IMG" bs=1M seek="$mib" count=1 conv=notrunc status=none; done
dd if=/dev/urandom of="$IMG" bs=1 seek=$((9 * MiB + 4321)) count=70000 conv=notrunc status=none
WANT_SUM=$(sha256sum <"$IMG" | cut -d' ' -f1)
BS=262144
WANT_BLOCKS=$("$PY" "$LIB/nbd-blocks.py" count "$IMG" $BS)

# roundtrip PREFIX PLUGIN-ARGS...: create over https with the same options, write, read back
# through a new server, compare checksums, count the block objects (listed over plain http)
roundtrip() {
  local prefix=$1 cargs=() a sum; shift
  for a in "$@"; do cargs+=("--${a%%=*}" "${a#*=}"); done
  log "round trip $prefix: $*"
  run_s3nbd create --bucket "$B" --prefix "$prefix" --size 16M --block-size $BS "${cargs[@]}" \
    >"$T/create-$prefix.log" 2>&1 || { cat "$T/create-$prefix.log" >&2; fail "s3nbd create over https ($prefix) failed"; }
  [ "$(count_keys "$B" "$prefix/")" -gt 0 ] || fail "create over https ($prefix) left nothing in bucket $B"
  assert_eq 0 "$(count_blocks "$B" "$prefix")" "block objects of a fresh volume ($prefix)"
  start_server bucket="$B" prefix="$prefix" "$@"
  assert_eq $((16 * MiB)) "$(nbd_size "$SERVER_URI")" "export size over https ($prefix)"
  nbdcopy "$IMG" "$SERVER_URI" || fail "nbdcopy into the volume over https failed ($prefix)"
  stop_server
  assert_eq "$WANT_BLOCKS" "$(count_blocks "$B" "$prefix")" "block objects in $B after writing over https ($prefix)"
  start_server bucket="$B" prefix="$prefix" "$@"
  rm -f "$T/out.img"
  nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy out of the volume over https failed ($prefix)"
  stop_server
  sum=$(sha256sum <"$T/out.img" | cut -d' ' -f1)
  assert_eq "$WANT_SUM" "$sum" "sha256 of the data read back over https ($prefix)"
}
roundtrip vhost endpoint="$TLS" addressing=virtual ca-file="$CA"
roundtrip path endpoint="$TLS" addressing=path ca-file="$CA"
# the virtual-hosted volume is also readable path-style over plain http: the same objects
start_server bucket="$B" prefix=vhost
rm -f "$T/out.img"; nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy over plain http failed"
stop_server
cmp "$IMG" "$T/out.img" || fail "the volume written over https reads back differently over http"

# ---- refusals ------------------------------------------------------------------------------
# refused WHAT REGEX [PLUGIN-ARGS...]: s3nbd create and nbdkit (serving the existing volume
# 'vhost') both refuse with REGEX in their messages, and the refused create wrote nothing
NREF=0
refused() {
  local what=$1 re=$2 cargs=() a rc=0 p; shift 2
  NREF=$((NREF + 1)); p=refused$NREF
  for a in "$@"; do cargs+=("--${a%%=*}" "${a#*=}"); done
  run_s3nbd create --bucket "$B" --prefix "$p" --size 16M --block-size $BS "${cargs[@]}" >"$T/$p.cli" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || { cat "$T/$p.cli" >&2; fail "$what: s3nbd create succeeded"; }
  assert_grep "$re" "$T/$p.cli" "$what: s3nbd create's stderr"
  assert_eq 0 "$(count_keys "$B" "$p/")" "$what: objects a refused create left"
  expect_start_failure "$T/$p.nbdkit" bucket="$B" prefix=vhost "$@"
  assert_grep "$re" "$T/$p.nbdkit" "$what: the nbdkit log"
  log "$what: $(grep -m1 -oE 'TLS (certificate|handshake|to) .*' "$T/$p.cli")"
}
UNTRUSTED='TLS certificate verification failed for %s \\(%s\\): SSL certificate problem: unable to get local issuer certificate \\(the server.s certificate is not signed by a CA in the system CA store: set ca-file=PATH'
# shellcheck disable=SC2059
refused "no ca-file, virtual" "$(printf "$UNTRUSTED" "$B\\.s3\\.localhost" "$TLS")" endpoint="$TLS" addressing=virtual
# shellcheck disable=SC2059
refused "no ca-file, path" "$(printf "$UNTRUSTED" "s3\\.localhost" "$TLS")" endpoint="$TLS"
MISMATCH='TLS certificate verification failed for %s \\(%s\\): .*\\(the certificate does not name the host .%s.'
mismatch() { # HOST ENDPOINT-URL
  local h=${1//./\\.}
  # shellcheck disable=SC2059
  printf "$MISMATCH" "$h" "$2" "$h"
}
refused "connect as 127.0.0.1" "$(mismatch 127.0.0.1 "https://127.0.0.1:$TLS_PORT")" \
  endpoint="https://127.0.0.1:$TLS_PORT" ca-file="$CA"
refused "connect as other.localhost" "$(mismatch other.localhost "https://other.localhost:$TLS_PORT")" \
  endpoint="https://other.localhost:$TLS_PORT" ca-file="$CA"
refused "virtual under localhost" \
  "$(mismatch "$B.localhost" "https://localhost:$TLS_PORT").*cover BUCKET\.localhost, such as \*\.localhost, or use addressing=path" \
  endpoint="https://localhost:$TLS_PORT" addressing=virtual ca-file="$CA"
# curl's own words: the requests of addressing=virtual really went to the bucket's host name
assert_grep "target host name '${B//./\\.}\\.localhost'" "$T/refused$NREF.cli" "the host addressing=virtual connected to"
refused "unreadable ca-file" "TLS to s3\.localhost \(.*\): cannot load ca-file '$T/no-such-ca\.pem'" \
  endpoint="$TLS" ca-file="$T/no-such-ca.pem"
refused "https to the http port" "TLS handshake with s3\.localhost \(https://s3\.localhost:$HTTP_PORT\) failed" \
  endpoint="https://s3.localhost:$HTTP_PORT" ca-file="$CA"

# ---- the credential chain's STS over https --------------------------------------------------
export CEPH_CONF=$S3_RGW_DIR/ceph.conf
ROLE=s3nbd-tls-$RANDOM$RANDOM
ROLE_ARN=arn:aws:iam:::role/$ROLE
timeout 60 radosgw-admin role create --role-name="$ROLE" --path=/ --assume-role-policy-doc=\
'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/test"]},"Action":["sts:AssumeRole"]}]}' \
  >"$T/role.log" 2>&1 || { cat "$T/role.log" >&2; fail "radosgw-admin role create failed"; }
on_exit "timeout 30 radosgw-admin role-policy delete --role-name=$ROLE --policy-name=all; timeout 30 radosgw-admin role delete --role-name=$ROLE"
timeout 60 radosgw-admin role-policy put --role-name="$ROLE" --policy-name=all --policy-doc=\
'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}' \
  >>"$T/role.log" 2>&1 || { cat "$T/role.log" >&2; fail "radosgw-admin role-policy put failed"; }
STATIC_SK=$AWS_SECRET_ACCESS_KEY
printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/credentials"
chmod 600 "$T/credentials"
printf '[profile sts-tls]\nrole_arn = %s\nsource_profile = base\nsts_endpoint = %s\n' "$ROLE_ARN" "$TLS" >"$T/config"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_CONFIG_FILE=$T/config AWS_SHARED_CREDENTIALS_FILE=$T/credentials HOME=$T
run_s3nbd info --endpoint "$TLS" --ca-file "$CA" --bucket "$B" --prefix path --profile sts-tls \
  --show-credential-source >"$T/sts.out" 2>&1 || { cat "$T/sts.out" >&2; fail "info with STS over https failed"; }
assert_grep "^credential-source: profile 'sts-tls' \(assume role $ROLE_ARN via $TLS" "$T/sts.out" "credential source"
! grep -q "$STATIC_SK" "$T/sts.out" || fail "info --show-credential-source printed a secret"
start_server bucket="$B" prefix=path endpoint="$TLS" ca-file="$CA" profile=sts-tls
rm -f "$T/out.img"; nbdcopy "$SERVER_URI" "$T/out.img" || fail "nbdcopy with STS credentials over https failed"
stop_server
cmp "$IMG" "$T/out.img" || fail "data read with STS credentials over https differs"
# STS is asked over https even when S3 is plain http: without ca-file it is refused as untrusted
rc=0
run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --prefix path --profile sts-tls >"$T/sts-bad.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/sts-bad.out" >&2; fail "STS over https without ca-file was accepted"; }
assert_grep "TLS certificate verification failed for s3\.localhost: SSL certificate problem: .*set ca-file=PATH" \
  "$T/sts-bad.out" "STS without ca-file"
log "STS without ca-file: $(grep -m1 -E 'TLS certificate verification failed' "$T/sts-bad.out")"
log "ok"
