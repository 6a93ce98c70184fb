#!/usr/bin/python3
# A long write: random data in BLOCK-sized writes at ascending offsets (wrapping) for SECONDS,
# mirrored into a local MODEL file of the export's size (check it with nbd-ops.py verify), with
# a flush every FLUSH_EVERY writes. Any failed request ends the script with exit 1.
# Prints "writes N bytes B seconds S". Run with Debian's /usr/bin/python3 (nbd module).
#   timed-writer.py URI MODEL SECONDS BLOCK [FLUSH_EVERY=16]
import os
import sys
import time

import nbd


def main():
    uri, model, seconds, block = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    flush_every = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    h = nbd.NBD()
    h.connect_uri(uri)
    size = h.get_size()
    if not os.path.exists(model) or os.path.getsize(model) != size:
        with open(model, "wb") as f:
            f.truncate(size)
    start = time.monotonic()
    writes = 0
    off = 0
    with open(model, "r+b") as m:
        while time.monotonic() - start < seconds:
            data = os.urandom(block)
            h.pwrite(data, off)
            m.seek(off)
            m.write(data)
            writes += 1
            if writes % flush_every == 0:
                h.flush()
            off = (off + block) % (size - size % block)
        h.flush()
    h.shutdown()
    print(f"writes {writes} bytes {writes * block} seconds {time.monotonic() - start:.1f}")


if __name__ == "__main__":
    main()
