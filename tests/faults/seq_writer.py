#!/usr/bin/python3
"""Writes FILE to the NBD export URI from offset 0 in CHUNK-byte writes, one at a time, and
appends "<bytes acknowledged>" to PROGRESS after each acknowledged write; FLUSHes at the end.
Exits 1 naming the offset and error if a write or the flush fails."""
import sys

import nbd

uri, path, progress = sys.argv[1], sys.argv[2], sys.argv[3]
chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 65536
data = open(path, "rb").read()
h = nbd.NBD()
h.connect_uri(uri)
with open(progress, "a") as p:
    for off in range(0, len(data), chunk):
        try:
            h.pwrite(data[off:off + chunk], off)
        except nbd.Error as e:
            sys.exit("write at %d failed: %s" % (off, e))
        p.write("%d\n" % (off + chunk))
        p.flush()
try:
    h.flush()
except nbd.Error as e:
    sys.exit("flush failed: %s" % e)
h.shutdown()
