#!/usr/bin/python3
# A crash-test workload with a journal (run with Debian's /usr/bin/python3: it needs nbd).
# The export is cut into UNIT-byte units; every write covers 1..4 consecutive units with a new
# version of each. A version's bytes are a pure function of (seed, unit, gen) and begin with a
# header naming unit and gen, so a reader can tell which version a unit holds and that it is
# intact. About 1 op in 6 is a WRITE_ZEROES or TRIM instead (version = zeros; whole blocks then
# become erases). Journal lines (appended, fsync'd at every FLUSH):
#   I gen unit...   intent, written BEFORE the write is sent (such a version may appear)
#   Z gen unit...   the same for a zero/trim
#   W gen           the write of gen was acknowledged
#   F               a FLUSH completed: every W before it must survive
#   B unit gen      baseline from a check (gen 0 = zeros), followed by F
#   journal-writer.py write URI JOURNAL SEED UNIT FLUSH_EVERY MAX_WRITES
#       writes until MAX_WRITES or until the server dies (exit 0 either way; other errors exit 1)
#   journal-writer.py check URI JOURNAL SEED UNIT
#       every unit must hold a version allowed by the journal; then FLUSH, and the journal is
#       rewritten as the observed baseline. Exit 1 naming the first bad unit. One tear is legal:
#       a write never acknowledged that reached only a prefix of whole pages (kill -9 stops a
#       buffered pwrite between pages); it is reported and the unit written back whole.
# env LANE=k/n: several writers on their own connections and journals share the export: this
# one writes single units u with u % n == k (the lanes share every block) and checks only those.
import errno
import hashlib
import os
import random
import struct
import sys

import nbd

MAGIC = b"JWv1"


def version_bytes(seed, unit, gen, size):
    head = MAGIC + struct.pack("<QQ", unit, gen)
    out, ctr = bytearray(head), 0
    while len(out) < size:
        out += hashlib.blake2b(b"%d:%d:%d:%d" % (seed, unit, gen, ctr), digest_size=64).digest()
        ctr += 1
    return bytes(out[:size])


def parse_journal(path, acked=None):
    """-> (flushed: unit -> gen of the newest write covered by a FLUSH, 0 = none,
           allowed: unit -> gens of data versions that may legally be there,
           zeros: unit -> gens of zero/trim writes, next_gen); `acked` (a set) gets the gens
           whose write was acknowledged"""
    flushed, acked_since_flush, intents, allowed = {}, {}, {}, {}
    zeros = {}  # unit -> gens that zeroed it
    next_gen = 1
    with open(path) as f:
        lines = f.read().split("\n")
    for ln in lines:
        p = ln.split()
        if not p:
            continue
        if p[0] in ("I", "Z") and len(p) >= 3:
            g = int(p[1])
            intents[g] = [int(u) for u in p[2:]]
            for u in intents[g]:
                (allowed if p[0] == "I" else zeros).setdefault(u, set()).add(g)
            next_gen = max(next_gen, g + 1)
        elif p[0] == "W":
            g = int(p[1])
            if acked is not None:
                acked.add(g)
            for u in intents[g]:
                acked_since_flush[u] = max(acked_since_flush.get(u, 0), g)
        elif p[0] == "F":
            for u, g in acked_since_flush.items():
                flushed[u] = max(flushed.get(u, 0), g)
            acked_since_flush = {}
        elif p[0] == "B":
            u, g = int(p[1]), int(p[2])
            acked_since_flush[u] = g
            allowed.setdefault(u, set()).add(g)
            next_gen = max(next_gen, g + 1)
    return flushed, allowed, zeros, next_gen


class Journal:
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def add(self, line, sync=False):
        os.write(self.fd, (line + "\n").encode())
        if sync:
            os.fsync(self.fd)


def dead(e):  # the server went away (kill -9): the normal end of a run
    gone = (errno.EIO, errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ECONNREFUSED, errno.ESHUTDOWN)
    return isinstance(e, nbd.Error) and (getattr(e, "errnum", None) in gone or "not connected" in str(e)
                                         or "disconnect" in str(e).lower() or "eof" in str(e).lower())


def do_write(uri, journal, seed, unit, flush_every, max_writes, lane, lanes):
    gen = parse_journal(journal)[3] if os.path.exists(journal) else 1
    j = Journal(journal)
    h = nbd.NBD()
    h.connect_uri(uri)
    nunits = h.get_size() // unit
    open(journal + ".connected", "w").close()  # the test starts its kill timer now
    rnd = random.Random(seed * 1000003 + gen)
    n = flushes = 0
    try:
        while n < max_writes:
            if lanes == 1:
                first = rnd.randrange(nunits)
                count = min(rnd.choice((1, 1, 1, 2, 3, 4)), nunits - first)
            else:  # single units of this lane: other lanes write the same blocks at the same time
                first, count = rnd.randrange(nunits // lanes) * lanes + lane, 1
            units = list(range(first, first + count))
            kind = rnd.randrange(12)
            if kind < 10:
                data = b"".join(version_bytes(seed, u, gen, unit) for u in units)
                j.add("I %d %s" % (gen, " ".join(map(str, units))))
                h.pwrite(data, first * unit)
            else:
                j.add("Z %d %s" % (gen, " ".join(map(str, units))))
                (h.zero if kind == 10 else h.trim)(count * unit, first * unit)
            j.add("W %d" % gen)
            gen += 1
            n += 1
            if n % flush_every == 0:
                h.flush()
                j.add("F", sync=True)
                flushes += 1
    except nbd.Error as e:
        if not dead(e):
            raise
        print("writer: %d writes %d flushes, then the server was gone (%s)" % (n, flushes, e))
        return 0
    h.flush()
    j.add("F", sync=True)
    h.shutdown()
    print("writer: %d writes %d flushes" % (n, flushes + 1))
    return 0


PAGE = 4096


def torn_write(got, seed, u, newer, allowed, low, unit):
    """The one tear a kill -9 may leave: a buffered pwrite interrupted by the fatal signal
    stops between pages (Linux checks fatal_signal_pending per page), so a write that was never
    acknowledged may have reached a prefix of whole pages. True if `got` is pages [0, k) of
    version `newer` (unacknowledged) over pages [k, n) of an allowed older version >= low."""
    new = version_bytes(seed, u, newer, unit)
    k = 0
    while k < unit and got[k:k + PAGE] == new[k:k + PAGE]:
        k += PAGE
    if k == 0 or k >= unit:
        return None
    for g in sorted(allowed, reverse=True):
        if low <= g < newer and got[k:] == version_bytes(seed, u, g, unit)[k:]:
            return (k // PAGE, g)
    return None


def do_check(uri, journal, seed, unit, lane, lanes):
    acked = set()
    flushed, allowed, zeros, _ = (parse_journal(journal, acked) if os.path.exists(journal)
                                  else ({}, {}, {}, 1))
    h = nbd.NBD()
    h.connect_uri(uri)
    size = h.get_size()
    nunits = size // unit
    zero = bytes(unit)
    observed = {}
    repairs = []
    chunk = max(1, (4 << 20) // unit)
    for first in range(0, nunits, chunk):
        n = min(chunk, nunits - first)
        buf = h.pread(n * unit, first * unit)
        for i in range(n):
            u = first + i
            if u % lanes != lane:
                continue
            got = buf[i * unit:(i + 1) * unit]
            low = flushed.get(u, 0)
            if got == zero:
                g = 0
                # zeros are right if nothing was flushed here, or a zero/trim at or after the
                # newest flushed write
                if low and not any(z >= low for z in zeros.get(u, ())):
                    sys.exit("check: unit %d (offset %d) reads as zeros but gen %d was acknowledged "
                             "before a completed FLUSH" % (u, u * unit, low))
                low = 0
            else:
                if got[:4] != MAGIC:
                    sys.exit("check: unit %d (offset %d) holds garbage: %r" % (u, u * unit, got[:24]))
                gu, g = struct.unpack("<QQ", got[4:20])
                if gu == u and got != version_bytes(seed, u, g, unit) and g not in acked \
                        and g in allowed.get(u, ()):
                    tear = torn_write(got, seed, u, g, allowed.get(u, ()), low, unit)
                    if tear:  # legal for a write that was never acknowledged; it reads as the older
                        print("check: unit %d: the unacknowledged write of gen %d reached its first %d "
                              "pages only (the rest is gen %d)" % (u, g, tear[0], tear[1]))
                        g = tear[1]
                        got = version_bytes(seed, u, g, unit)
                        repairs.append((u, got))  # written back whole: the baseline is exact
                if gu != u or got != version_bytes(seed, u, g, unit):
                    sys.exit("check: unit %d (offset %d) is corrupt: header says unit %d gen %d but the bytes differ"
                             " (gen %d %s)" % (u, u * unit, gu, g, g,
                                               "was acknowledged" if g in acked else "was not acknowledged"))
                if g not in allowed.get(u, ()):
                    sys.exit("check: unit %d holds gen %d, which was never written there" % (u, g))
            if g < low:
                sys.exit("check: unit %d (offset %d) holds gen %d but gen %d was acknowledged before a completed FLUSH"
                         % (u, u * unit, g, low))
            if g:
                observed[u] = g
    for u, data in repairs:
        h.pwrite(data, u * unit)
    h.flush()  # what was read is now durable: it becomes the baseline
    h.shutdown()
    tmp = journal + ".new"
    with open(tmp, "w") as f:
        for u in sorted(observed):
            f.write("B %d %d\n" % (u, observed[u]))
        f.write("F\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    print("check: %d units ok, %d hold data, %d had a flushed version" % (nunits, len(observed), len(flushed)))
    return 0


def main():
    lane, lanes = map(int, os.environ.get("LANE", "0/1").split("/"))
    if sys.argv[1] == "write":
        uri, journal, seed, unit, fe, mx = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:8])
        return do_write(uri, journal, seed, unit, fe, mx, lane, lanes)
    if sys.argv[1] == "check":
        uri, journal, seed, unit = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6])
        return do_check(uri, journal, seed, unit, lane, lanes)
    sys.exit("usage: journal-writer.py write|check ...")


if __name__ == "__main__":
    sys.exit(main())
