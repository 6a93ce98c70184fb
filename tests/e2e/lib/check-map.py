#!/usr/bin/python3
"""Checks `qemu-img map --output=json` of an s3nbd volume block by block.
   check-map.py MAP.json BLOCK_SIZE SIZE DATA_BLOCKS   (DATA_BLOCKS: comma-separated block numbers)
Every listed block must be reported as data (data:true, zero:false) over its whole length and
every other block as a hole (data:false, zero:true): s3nbd answers BLOCK_STATUS per block from
its map of present objects. The map must cover the volume exactly. Exit 1 with the first
mismatch."""
import json
import sys


def main():
    path, bs, size, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    want_data = {int(b) for b in blocks.split(",") if b}
    extents = json.load(open(path))
    pos = 0
    for e in extents:
        if e["start"] != pos:
            sys.exit(f"map: extent starts at {e['start']}, expected {pos} (gap or overlap)")
        pos += e["length"]
    if pos != size:
        sys.exit(f"map covers {pos} bytes, the volume has {size}")
    for blk in range(size // bs):
        lo, hi = blk * bs, (blk + 1) * bs
        for e in extents:
            if e["start"] + e["length"] <= lo or e["start"] >= hi:
                continue
            if blk in want_data and not (e["data"] and not e["zero"]):
                sys.exit(f"block {blk}: expected data, map says {e}")
            if blk not in want_data and not (e["zero"] and not e["data"]):
                sys.exit(f"block {blk}: expected a hole (zero:true, data:false), map says {e}")
    print(f"map: {len(extents)} extents; {len(want_data)} data blocks and "
          f"{size // bs - len(want_data)} holes as expected")


main()
