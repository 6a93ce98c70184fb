#!/usr/bin/python3
# Block accounting for a local image file, used to predict what the bucket must hold.
#   nbd-blocks.py count FILE BS       number of BS-sized blocks of FILE that are not all zeros
#   nbd-blocks.py check-map FILE BS   reads `nbdinfo --map --json` from stdin and checks that every
#                                     all-zero block of FILE is reported as hole+zero (type 3) and
#                                     no range reported as zero holds data; exit 1 otherwise
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


def overlapping(extents, lo, hi):
    return [e for e in extents if e["offset"] < hi and lo < e["offset"] + e["length"]]


def main():
    op, path, bs = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    if op == "count":
        print(sum(1 for _, nz in blocks(path, bs) if nz))
        return
    extents = json.load(sys.stdin)
    if isinstance(extents, dict):  # some nbdinfo versions wrap the list
        extents = extents.get("extents", extents.get("map", []))
    bad = []
    # 1. a range reported as zero (type & 2) must read as zeros in the image
    with open(path, "rb") as f:
        for e in extents:
            if e["type"] & 2:
                f.seek(e["offset"])
                data = f.read(e["length"])
                if data.count(0) != len(data):
                    bad.append(f"extent {e} is reported zero but holds data")
    # 2. every all-zero block of the image must be wholly reported as hole,zero (type 3)
    holes = 0
    for i, nonzero in blocks(path, bs):
        if nonzero:
            continue
        over = overlapping(extents, i * bs, (i + 1) * bs)
        covered = sum(min(e["offset"] + e["length"], (i + 1) * bs) - max(e["offset"], i * bs) for e in over)
        types = sorted({e["type"] for e in over})
        if covered != bs or types != [3]:
            bad.append(f"block {i} is all zeros but the map says types {types}, want [3] (hole,zero)")
        else:
            holes += 1
    if bad:
        sys.exit("check-map: " + "; ".join(bad[:10]) + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else ""))
    print(f"check-map: ok, {holes} hole blocks")


if __name__ == "__main__":
    main()
