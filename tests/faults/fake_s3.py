#!/usr/bin/python3
"""A hostile S3 endpoint on 127.0.0.1 for tests/faults/test-hostile.sh alone. The bucket name
chooses the misbehaviour; everything else answers like a plain S3 server holding one volume
(the descriptor file given on the command line, at the bucket root).
  usage: fake_s3.py PORT DESCRIPTOR_FILE"""
import http.server
import socketserver
import sys

PORT, DESCRIPTOR = int(sys.argv[1]), open(sys.argv[2], "rb").read()
HDR = b'<?xml version="1.0" encoding="UTF-8"?>'


def listing(mode):
    c = lambda k, size=65584: b"<Contents><Key>%s</Key><Size>%d</Size><ETag>&quot;x&quot;</ETag></Contents>" % (k, size)
    body = {
        "list-garbage": b"\x00\xff<<<>>>&&&" * 100,
        "list-unclosed": HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>b/0000000000000001",
        "list-truncated-no-token": HDR + b"<ListBucketResult><IsTruncated>true</IsTruncated>" + c(b"b/0000000000000001") + b"</ListBucketResult>",
        "list-loop": HDR + b"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken>" + c(b"b/0000000000000001") + b"</ListBucketResult>",
        "list-bad-entity": HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated>" + c(b"b/&#xFFFFFFFF;&bogus;") + b"</ListBucketResult>",
        "list-huge-size": HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated>" + c(b"b/0000000000000001", 2**70) + b"</ListBucketResult>",
        "list-bad-keys": HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated>" + c(b"b/zz") + c(b"b/ffffffffffffffff") + c(b"b/00000000000000001") + c(b"") + b"</ListBucketResult>",
        "list-deep": HDR + b"<ListBucketResult>" + b"<Contents>" * 50000 + b"</ListBucketResult>",
        "list-huge-text": HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>" + b"A" * (8 << 20) + b"</Key></Contents></ListBucketResult>",
    }.get(mode)
    if body is None:  # a valid listing with one block present
        body = HDR + b"<ListBucketResult><IsTruncated>false</IsTruncated>" + c(b"b/0000000000000001") + b"</ListBucketResult>"
    return body


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/xml"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"e"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.send(200)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.send(200)

    def do_POST(self):
        self.do_PUT()

    def do_DELETE(self):
        self.send(204)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        parts = path.lstrip("/").split("/", 1)
        mode, key = parts[0], parts[1] if len(parts) > 1 else ""
        if key == "" and "list-type=2" in query:
            return self.send(200, listing(mode))
        if key == "volume.s3nbd":
            return self.send(200, DESCRIPTOR, "text/plain")
        if key.startswith("b/"):
            if mode == "get-error-garbage":
                return self.send(500, b"<Error><Code>\xff\xfe" + b"<" * 1000)
            if mode == "get-403-garbage":
                return self.send(403, b"\x00" * 100)
            if mode == "get-short":  # Content-Length says more than is sent, then close
                self.send_response(200)
                self.send_header("Content-Length", "65584")
                self.end_headers()
                self.wfile.write(b"S3NB")
                self.close_connection = True
                return
            return self.send(200, b"S3NB\x01\x00\x30\x00" + b"\x07" * 100, "application/octet-stream")
        self.send(404, HDR + b"<Error><Code>NoSuchKey</Code><Message>no</Message></Error>")


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


S(("127.0.0.1", PORT), H).serve_forever()
