#!/usr/bin/python3
"""Loopback credential services for test-credential-chain.sh, on 127.0.0.1 only.

Speaks the documented protocols of
  - EC2 instance metadata v2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then
    GET /latest/meta-data/iam/security-credentials/[ROLE] with X-aws-ec2-metadata-token;
    requests without a token get 401 (an IMDSv2-only instance);
  - the ECS container credential endpoint: GET /ecs/credentials with Authorization: TOKEN;
  - GET /process/credentials: credential_process output (Version 1 JSON) for a curl command;
  - STS: POST / with Action=AssumeRole (must be SigV4-signed by --source-key for service sts)
    or Action=AssumeRoleWithWebIdentity (unsigned, WebIdentityToken must be --web-token).
Every answer holds FRESH temporary credentials that this server obtains from Ceph RGW's own STS
(AssumeRole of --role-arn with --source-key/--source-secret), so the session token is real and
RGW verifies it; the Expiration it claims is only --lifetime seconds away (RGW's are 900+ s),
so the client under test refreshes often. GET /counts returns the per-source hit counts as JSON.
  fake-aws-credentials.py --port-file F --rgw URL --source-key K --source-secret S --role-arn A
                          [--lifetime 8] [--ecs-token T] [--web-token W]
"""
import argparse, datetime, hashlib, hmac, json, re, sys, threading, urllib.parse, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None
COUNTS = {"imds-token": 0, "imds": 0, "ecs": 0, "process": 0, "sts-assume-role": 0, "sts-web-identity": 0,
          "denied": 0}
LOCK = threading.Lock()
ROLE = "s3nbd-test-role"
IMDS_TOKEN = "imds-session-token-1"


def count(k):
    with LOCK:
        COUNTS[k] += 1


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def rgw_assume_role():
    """A real AssumeRole against RGW's STS, signed SigV4 (service sts, region us-east-1)."""
    body = urllib.parse.urlencode(sorted({
        "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": A.role_arn,
        "RoleSessionName": "s3nbd-test", "DurationSeconds": "900"}.items()),
        quote_via=urllib.parse.quote)
    u = urllib.parse.urlsplit(A.rgw)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body.encode()).hexdigest()
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8",
               "host": u.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
                           signed, payload])
    scope = f"{day}/us-east-1/sts/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(("AWS4" + A.source_secret).encode(), day)
    for part in ("us-east-1", "sts", "aws4_request"):
        k = sign(k, part)
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={A.source_key}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    req = urllib.request.Request(A.rgw.rstrip("/") + "/", data=body.encode(), method="POST",
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=20) as r:
        xml = r.read().decode()
    get = lambda tag: re.search(f"<{tag}>([^<]*)</{tag}>", xml).group(1)
    expires = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(seconds=A.lifetime)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"AccessKeyId": get("AccessKeyId"), "SecretAccessKey": get("SecretAccessKey"),
            "Token": get("SessionToken"), "Expiration": expires}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; never log credentials
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def deny(self, status=401):
        count("denied")
        self.reply(status, "denied")

    def creds_json(self, what):
        c = rgw_assume_role()
        count(what)
        self.reply(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                    "LastUpdated": c["Expiration"], **c}), "application/json")

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/latest/api/token":
            return self.deny(404)
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "").isdigit():
            return self.deny(400)
        count("imds-token")
        self.reply(200, IMDS_TOKEN)

    def do_GET(self):
        if self.path == "/counts":
            with LOCK:
                return self.reply(200, json.dumps(COUNTS), "application/json")
        prefix = "/latest/meta-data/iam/security-credentials/"
        if self.path.startswith(prefix):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self.deny(401)  # IMDSv2 only
            if self.path == prefix:
                return self.reply(200, ROLE)
            if self.path == prefix + ROLE:
                return self.creds_json("imds")
            return self.deny(404)
        if self.path == "/process/credentials":
            c = rgw_assume_role()
            count("process")
            return self.reply(200, json.dumps({
                "Version": 1, "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                "SessionToken": c["Token"], "Expiration": c["Expiration"]}), "application/json")
        if self.path == "/ecs/credentials":
            if self.headers.get("Authorization") != A.ecs_token:
                return self.deny(401)
            return self.creds_json("ecs")
        self.deny(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = dict(urllib.parse.parse_qsl(body))
        action = form.get("Action")
        auth = self.headers.get("Authorization", "")
        if action == "AssumeRole":
            if f"Credential={A.source_key}/" not in auth or "/sts/aws4_request" not in auth:
                return self.deny(403)
            what = "sts-assume-role"
        elif action == "AssumeRoleWithWebIdentity":
            if auth or form.get("WebIdentityToken") != A.web_token or not form.get("RoleArn"):
                return self.deny(403)
            what = "sts-web-identity"
        else:
            return self.deny(400)
        c = rgw_assume_role()
        count(what)
        self.reply(200, f"<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   f"<{action}Result><Credentials><AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
                   f"<SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
                   f"<SessionToken>{c['Token']}</SessionToken>"
                   f"<Expiration>{c['Expiration']}</Expiration></Credentials></{action}Result>"
                   f"</{action}Response>", "text/xml")


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--rgw", required=True)
    p.add_argument("--source-key", required=True)
    p.add_argument("--source-secret", required=True)
    p.add_argument("--role-arn", required=True)
    p.add_argument("--lifetime", type=int, default=8)
    p.add_argument("--ecs-token", default="ecs-test-token")
    p.add_argument("--web-token", default="web-identity-test-token")
    A = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(A.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(A.port_file + ".tmp", A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
