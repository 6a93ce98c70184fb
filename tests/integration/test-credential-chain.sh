#!/bin/bash
# Every source of the AWS credential chain against the real Ceph RGW, with temporary credentials
# that RGW itself issues and verifies (its STS: rgw sts key + rgw s3 auth use sts, see
# rgw-start.sh), each refreshed in the middle of a long write through nbdkit:
#   - environment with AWS_SESSION_TOKEN;
#   - profile role_arn + source_profile against RGW's own STS (AssumeRole, a real session token);
#   - profile credential_process, profile role_arn via STS, web identity (AssumeRoleWithWebIdentity),
#     ECS container credentials (FULL_URI + token file) and EC2 instance metadata v2: served by
#     tests/lib/fake-aws-credentials.py on 127.0.0.1, which speaks those protocols and hands out
#     FRESH RGW session credentials at every call, claiming they expire in $LIFETIME s, so the
#     plugin must refresh several times while tests/lib/timed-writer.py keeps writing;
#   - `s3nbd info --show-credential-source` names each source and prints no secret.
# At the end the whole volume is read back (with the static keys) and compared with the model.
# Only 127.0.0.1 is contacted: AWS_EC2_METADATA_DISABLED stays true except for the IMDS step, whose
# endpoint is the loopback server.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
LIB=$REPO/tests/lib
need radosgw-admin
LIFETIME=${CRED_LIFETIME:-6}        # claimed lifetime: refresh 3 s before expiry (half of it)
WRITE_SECONDS=${CRED_WRITE_SECONDS:-12}
MIN_FETCHES=3                        # the first fetch and at least two refreshes per source

export CEPH_CONF=${S3NBD_RGW_DIR:-${TMPDIR:-/tmp}/s3nbd-rgw}/ceph.conf
[ -f "$CEPH_CONF" ] || fail "no RGW state at $CEPH_CONF: this test needs the runner's RGW (tests/run-integration.sh)"
STATIC_AK=$AWS_ACCESS_KEY_ID STATIC_SK=$AWS_SECRET_ACCESS_KEY

# ---- a role in RGW that our test user may assume --------------------------------------------
ROLE=s3nbd-cred-$RANDOM$RANDOM
ROLE_ARN=arn:aws:iam:::role/$ROLE
timeout 60 radosgw-admin role create --role-name="$ROLE" --path=/ --assume-role-policy-doc="$(cat <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/test"]},"Action":["sts:AssumeRole"]}]}
JSON
)" >"$T/role.log" 2>&1 || { cat "$T/role.log" >&2; fail "radosgw-admin role create failed (RGW STS not configured?)"; }
on_exit "timeout 30 radosgw-admin role-policy delete --role-name=$ROLE --policy-name=all; timeout 30 radosgw-admin role delete --role-name=$ROLE"
timeout 60 radosgw-admin role-policy put --role-name="$ROLE" --policy-name=all --policy-doc=\
'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}' \
  >>"$T/role.log" 2>&1 || { cat "$T/role.log" >&2; fail "radosgw-admin role-policy put failed"; }

# ---- the loopback credential services ---------------------------------------------------------
ECS_TOKEN=ecs-token-$RANDOM WEB_TOKEN=web-token-$RANDOM
"$PY" "$LIB/fake-aws-credentials.py" --port-file "$T/fake.port" --rgw "$S3_ENDPOINT" \
  --source-key "$STATIC_AK" --source-secret "$STATIC_SK" --role-arn "$ROLE_ARN" \
  --lifetime "$LIFETIME" --ecs-token "$ECS_TOKEN" --web-token "$WEB_TOKEN" >"$T/fake.log" 2>&1 &
FAKE_PID=$!
on_exit "kill $FAKE_PID"
for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.1; done
[ -s "$T/fake.port" ] || { cat "$T/fake.log" >&2; fail "fake-aws-credentials.py did not start"; }
FAKE=http://127.0.0.1:$(cat "$T/fake.port")
hits() { curl -sf -m 10 "$FAKE/counts" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
printf '%s' "$ECS_TOKEN" >"$T/ecs-token"
printf '%s\n' "$WEB_TOKEN" >"$T/web-token"

# ---- sources are selected through the environment and files only -----------------------------
SOURCE_VARS=(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE
             AWS_SHARED_CREDENTIALS_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME
             AWS_ENDPOINT_URL_STS AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
             AWS_EC2_METADATA_SERVICE_ENDPOINT)
clear_sources() { unset "${SOURCE_VARS[@]}"; export AWS_EC2_METADATA_DISABLED=true HOME=$T/home; }
mkdir -p "$T/home"
cat >"$T/config" <<CONF
[profile rgw-sts]
role_arn = $ROLE_ARN
source_profile = base
sts_endpoint = $S3_ENDPOINT
duration_seconds = 900
[profile loop-sts]
role_arn = $ROLE_ARN
source_profile = base
role_session_name = s3nbd-itest
sts_endpoint = $FAKE
[profile process]
credential_process = curl -sf -m 10 $FAKE/process/credentials
CONF
printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$STATIC_AK" "$STATIC_SK" >"$T/credentials"
chmod 600 "$T/credentials"

check_source() { # REGEX [extra info args]: info --show-credential-source names it, shows no secret
  local want=$1; shift
  run_s3nbd info --endpoint "$S3_ENDPOINT" --bucket "$B" --show-credential-source "$@" >"$T/src.out" 2>&1 ||
    { cat "$T/src.out" >&2; fail "info --show-credential-source failed (want: $want)"; }
  grep -Eq "^credential-source: $want" "$T/src.out" || { cat "$T/src.out" >&2; fail "credential source is not '$want'"; }
  ! grep -q "$STATIC_SK" "$T/src.out" || fail "info --show-credential-source printed a secret"
}

B=$(new_bucket)
MODEL=$T/model.img

# ---- 1. environment with a session token (real RGW STS credentials) ---------------------------
clear_sources
curl -sf -m 20 "$FAKE/process/credentials" >"$T/session.json" || fail "cannot get RGW session credentials"
eval "$("$PY" -c '
import json, shlex, sys
c = json.load(open(sys.argv[1]))
print("export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s" % tuple(
    shlex.quote(c[k]) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))' "$T/session.json")"
[ -n "$AWS_SESSION_TOKEN" ] || fail "RGW STS gave no session token"
check_source 'environment$'
create_volume "$B" v 16M 64K
start_server bucket="$B" prefix=v
"$PY" "$LIB/timed-writer.py" "$SERVER_URI" "$MODEL" 2 65536 >"$T/w-env.out" || fail "write with environment session credentials failed"
stop_server
log "environment + AWS_SESSION_TOKEN: $(cat "$T/w-env.out")"
# a wrong session token is refused by RGW: the token really is checked
export AWS_SESSION_TOKEN=${AWS_SESSION_TOKEN}x
expect_start_failure "$T/badtoken.log" bucket="$B" prefix=v
log "a tampered AWS_SESSION_TOKEN is refused: $(grep -m1 -o 'HTTP [0-9]*[^(]*' "$T/badtoken.log" || true)"

# ---- 2. profile role_arn + source_profile against RGW's own STS -------------------------------
clear_sources
export AWS_CONFIG_FILE=$T/config AWS_SHARED_CREDENTIALS_FILE=$T/credentials
check_source "profile 'rgw-sts' \(assume role $ROLE_ARN via $S3_ENDPOINT, source: profile 'base'" --profile rgw-sts
grep -q '^credential-expiration: ' "$T/src.out" || fail "no expiration shown for role credentials"
start_server bucket="$B" prefix=v profile=rgw-sts
"$PY" "$LIB/timed-writer.py" "$SERVER_URI" "$MODEL" 2 65536 >"$T/w-sts.out" || fail "write with RGW STS AssumeRole credentials failed"
stop_server
log "profile role_arn via RGW STS: $(cat "$T/w-sts.out")"

# ---- 3-7: sources with short claimed lifetimes, refreshed during a long write ------------------
long_write() { # NAME COUNTER [plugin args]: serve, write for WRITE_SECONDS, count source fetches
  local name=$1 counter=$2 before after; shift 2
  before=$(hits "$counter")
  start_server bucket="$B" prefix=v "$@"
  "$PY" "$LIB/timed-writer.py" "$SERVER_URI" "$MODEL" "$WRITE_SECONDS" 65536 >"$T/w-$name.out" ||
    { grep -v 'debug:' "$SERVER_LOG" | tail -n 20 >&2; fail "$name: the long write failed"; }
  stop_server
  after=$(hits "$counter")
  ! grep -q "refresh failed" "$SERVER_LOG" || { grep "refresh failed" "$SERVER_LOG" >&2; fail "$name: a refresh failed"; }
  [ $((after - before)) -ge "$MIN_FETCHES" ] ||
    fail "$name: $((after - before)) credential fetches during a ${WRITE_SECONDS}s write with ${LIFETIME}s credentials (want >= $MIN_FETCHES)"
  log "$name: $((after - before)) fetches (1 + refreshes) during $(cat "$T/w-$name.out")"
}

clear_sources
export AWS_CONFIG_FILE=$T/config AWS_SHARED_CREDENTIALS_FILE=$T/credentials
check_source "profile 'process' \(credential_process\)" --profile process
long_write credential_process process profile=process

check_source "profile 'loop-sts' \(assume role $ROLE_ARN via $FAKE" --profile loop-sts
long_write assume-role sts-assume-role profile=loop-sts

clear_sources
export AWS_WEB_IDENTITY_TOKEN_FILE=$T/web-token AWS_ROLE_ARN=$ROLE_ARN AWS_ROLE_SESSION_NAME=pod-1 AWS_ENDPOINT_URL_STS=$FAKE
check_source "web identity \(role $ROLE_ARN via $FAKE\)"
long_write web-identity sts-web-identity

clear_sources
export AWS_CONTAINER_CREDENTIALS_FULL_URI=$FAKE/ecs/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$T/ecs-token
check_source "container credentials at $FAKE/ecs/credentials"
long_write ecs ecs

clear_sources
export AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=$FAKE
check_source "EC2 instance metadata \(IMDSv2\) at $FAKE, role 's3nbd-test-role'"
long_write imds imds
[ "$(hits denied)" = 0 ] || fail "the loopback services refused $(hits denied) requests (an IMDSv1 call, a missing token or signature)"

# ---- the data: everything written under all sources, read back with the static keys -----------
clear_sources
export AWS_ACCESS_KEY_ID=$STATIC_AK AWS_SECRET_ACCESS_KEY=$STATIC_SK
start_server bucket="$B" prefix=v
"$PY" "$LIB/nbd-ops.py" "$SERVER_URI" "$MODEL" verify || fail "the volume differs from what was written"
stop_server
log "ok"
