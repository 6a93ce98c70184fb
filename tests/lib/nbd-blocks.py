#!/usr/bin/python3
# Block accounting for a local image file, used to predict what the bucket must hold.
#   nbd-blocks.py count FILE BS       number of BS-sized blocks of FILE that are not all zeros
#   nbd-blocks.py check-map FILE BS   reads `nbdinfo --map --json` from stdin and checks that every
#                                     all-zero block of FILE is reported as hole+zero (type 3) and
#                                     every non-zero block is not reported as zero; exit 1 otherwise
import json
import sys


def blocks(path, bs):
    with open(path, "rb") as f:
        i = 0
        while True:
            b = f.read(bs)
            if not b:
                return
            yield i, b.count(0) != len(b)
            i += 1


def type_at(extents, off):
    for e in extents:
        if e["offset"] <= off < e["offset"] + e["length"]:
            return e["type"]
    return None


def main():
    op, path, bs = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    if op == "count":
        print(sum(1 for _, nz in blocks(path, bs) if nz))
        return
    extents = json.load(sys.stdin)
    if isinstance(extents, dict):  # some nbdinfo versions wrap the list
        extents = extents.get("extents", extents.get("map", []))
    bad = []
    holes = 0
    for i, nonzero in blocks(path, bs):
        # every extent overlapping the block must agree; check start and last byte
        types = {type_at(extents, i * bs), type_at(extents, (i + 1) * bs - 1)}
        if None in types:
            bad.append(f"block {i}: not covered by the map")
        elif nonzero and any(t & 2 for t in types):
            bad.append(f"block {i} holds data but the map says zero (types {sorted(types)})")
        elif not nonzero and types != {3}:
            bad.append(f"block {i} is all zeros but the map says types {sorted(types)}, want 3 (hole,zero)")
        elif not nonzero:
            holes += 1
    if bad:
        sys.exit("check-map: " + "; ".join(bad[:10]) + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else ""))
    print(f"check-map: ok, {holes} hole blocks")


if __name__ == "__main__":
    main()
