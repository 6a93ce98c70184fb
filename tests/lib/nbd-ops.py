#!/usr/bin/python3
# Applies one NBD operation to an export AND to a local model file of the same size, so a test
# can later check the whole export against the model. Run with Debian's /usr/bin/python3 (nbd).
#   nbd-ops.py URI MODEL pwrite-random OFF LEN   write random bytes
#   nbd-ops.py URI MODEL pwrite-zeros  OFF LEN   write zero bytes with pwrite (not NBD_CMD_WRITE_ZEROES)
#   nbd-ops.py URI MODEL zero OFF LEN            NBD_CMD_WRITE_ZEROES
#   nbd-ops.py URI MODEL trim OFF LEN            NBD_CMD_TRIM (our plugin: trimmed ranges read as zeros)
#   nbd-ops.py URI MODEL trim-lax OFF LEN        NBD_CMD_TRIM that may legally be ignored: the range must
#                                                read as zeros or as before; bytes around it unchanged
#   nbd-ops.py URI MODEL verify                  whole export == model, else exit 1 naming the first diff
#   nbd-ops.py URI MODEL expect-zeros OFF LEN    export range reads as zeros
import os
import sys

import nbd

CHUNK = 4 << 20


def main():
    uri, model, op = sys.argv[1], sys.argv[2], sys.argv[3]
    args = [int(a, 0) for a in sys.argv[4:]]
    h = nbd.NBD()
    h.connect_uri(uri)
    size = h.get_size()
    if op in ("pwrite-random", "pwrite-zeros", "zero", "trim"):
        off, length = args
        data = os.urandom(length) if op == "pwrite-random" else bytes(length)
        if op.startswith("pwrite"):
            h.pwrite(data, off)
        elif op == "zero":
            h.zero(length, off)
        else:
            h.trim(length, off)
        h.flush()
        with open(model, "r+b") as f:
            f.seek(off)
            f.write(data)
    elif op == "trim-lax":
        off, length = args
        with open(model, "r+b") as f:
            f.seek(off)
            old = f.read(length)
            h.trim(length, off)
            h.flush()
            got = h.pread(length, off)
            if got != old and got != bytes(length):
                sys.exit(f"trim-lax: range {off}+{length} reads neither as before nor as zeros")
            f.seek(off)
            f.write(got)
            print("trim-lax: range " + ("zeroed" if got == bytes(length) else "unchanged (trim ignored)"))
    elif op == "verify":
        with open(model, "rb") as f:
            if os.fstat(f.fileno()).st_size != size:
                sys.exit(f"verify: export size {size} != model size {os.fstat(f.fileno()).st_size}")
            for off in range(0, size, CHUNK):
                n = min(CHUNK, size - off)
                got, want = h.pread(n, off), f.read(n)
                if got != want:
                    i = next(i for i in range(n) if got[i] != want[i])
                    sys.exit(f"verify: first difference at byte {off + i} "
                             f"(block of 64K #{(off + i) >> 16}): got {got[i]} want {want[i]}")
    elif op == "expect-zeros":
        off, length = args
        got = h.pread(length, off)
        if got != bytes(length):
            i = next(i for i in range(length) if got[i])
            sys.exit(f"expect-zeros: byte {off + i} is {got[i]}, not 0")
    else:
        sys.exit(f"unknown op {op}")
    h.shutdown()


if __name__ == "__main__":
    main()
