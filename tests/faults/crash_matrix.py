#!/usr/bin/python3
"""Crash matrix driver for tests/faults/test-crash-matrix.sh (Debian's python3: needs `nbd`).

Starts nbdkit with the s3nbd plugin (and a cache file), runs a mixed workload on it (writes of
1-256 sectors with up to 8 in flight, zeroes, reads, FLUSHes), kills nbdkit with SIGKILL at a
random moment, restarts it on the same cache file, and checks every 512-byte sector of the
volume against the model:

  * every write acknowledged before an acknowledged FLUSH is in an fsync'd journal; its sector
    must read back as itself or as a LATER write that was issued (possibly unacknowledged);
  * nothing else may appear: no zeros where the model has data, no stale or torn sectors.

Every sector written carries its own tag (sequence number, sector, epoch) so a read tells
which write it came from. After the check the volume is flushed and the model adopts what was
read. With --lose-cache the cache file is deleted after the last crash and the bucket alone is
checked: it must be the image of some flush epoch m (all of epoch < m, any part of epoch m) and,
with flush=remote, m must be at least the last acknowledged flush's epoch.

Prints one line "crashes=N verified_bytes=N lost_bytes=N flushes=N ..." on success; exits 1
with a description of the first bad sectors otherwise.
"""
import argparse
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

import nbd

SECTOR = 512
MAGIC = 0x5333434D  # "S3CM"
_FILL = bytes(range(256)) * 3


def sector_data(seq, sector, epoch):
    head = struct.pack("<IIQQQ", MAGIC, 0, seq, sector, epoch)
    o = (seq * 31 + sector * 7) & 0xFF
    return head + _FILL[o:o + SECTOR - len(head)]


def parse(data, sector):
    """(content id, epoch): (0, None) for zeros, (None, None) for anything not written by us."""
    if not any(data):
        return 0, None
    magic, _, seq, sec, epoch = struct.unpack_from("<IIQQQ", data)
    if magic != MAGIC or sec != sector or sector_data(seq, sector, epoch) != data:
        return None, None
    return seq, epoch


class Server:
    def __init__(self, args, tag):
        self.args = args
        self.sock = os.path.join(args.dir, "crash-%s.sock" % tag)
        self.log = os.path.join(args.dir, "nbdkit-%s.log" % tag)
        self.proc = None

    def start(self, cache=True):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        cmd = [self.args.nbdkit, "-f", "-U", self.sock, self.args.plugin,
               "endpoint=" + self.args.endpoint, "bucket=" + self.args.bucket,
               "prefix=" + self.args.prefix,
               # the writer killed by SIGKILL still holds the lease: it is dead, take it over
               "force-takeover=true"]
        if cache:
            cmd += ["cache=" + self.args.cache, "cache-size=" + self.args.cache_size,
                    "flush=" + self.args.flush, "writeback-delay=" + self.args.writeback_delay]
        with open(self.log, "ab") as log:
            log.write(("---- start: %s\n" % " ".join(cmd[4:])).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("nbdkit exited at start (rc %s); see %s:\n%s" %
                         (self.proc.returncode, self.log, tail(self.log)))
            if os.path.exists(self.sock):
                try:
                    h = nbd.NBD()
                    h.connect_unix(self.sock)
                    return h
                except nbd.Error:
                    pass
            time.sleep(0.05)
        self.kill()
        sys.exit("nbdkit did not come up in 60 s; see " + self.log)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):  # clean shutdown (drains the cache)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                sys.exit("nbdkit did not stop within 120 s of SIGTERM")


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Model:
    """hist[s]: every operation issued to sector s, oldest first, as (seq, epoch, content id);
    content id = seq for a write, 0 for a zero. flushed_seq[s]: the newest operation on s that
    was acknowledged before an acknowledged FLUSH (it and everything before it is durable)."""

    def __init__(self, sectors, journal):
        self.sectors = sectors
        self.hist = [[(0, 0, 0)] for _ in range(sectors)]
        self.flushed_seq = [0] * sectors
        self.journal = open(journal, "a")
        self.epoch = 1
        self.unjournaled = []  # (seq, first, count) acknowledged, not yet covered by a flush

    def issue(self, seq, first, count, zero):
        for s in range(first, first + count):
            self.hist[s].append((seq, self.epoch, 0 if zero else seq))

    def acked(self, seq, first, count):
        self.unjournaled.append((seq, first, count))

    def flushed_ok(self):
        """An acknowledged FLUSH: every acknowledged write is durable; journal them, fsync."""
        for seq, first, count in self.unjournaled:
            self.journal.write("%d %d %d %d\n" % (seq, first, count, self.epoch))
            for s in range(first, first + count):
                self.flushed_seq[s] = max(self.flushed_seq[s], seq)
        self.journal.flush()
        os.fsync(self.journal.fileno())
        self.unjournaled = []
        self.epoch += 1

    def allowed(self, s):
        """Content ids sector s may hold after a crash: its flushed content or anything later."""
        fs = self.flushed_seq[s]
        base = [cid for seq, _, cid in self.hist[s] if seq <= fs]
        return {cid for seq, _, cid in self.hist[s] if seq > fs} | {base[-1]}

    def check(self, data, what):
        bad = []
        for s in range(self.sectors):
            cid, _ = parse(data[s * SECTOR:(s + 1) * SECTOR], s)
            if cid is not None and (cid == self.hist[s][-1][2] or cid in self.allowed(s)):
                continue
            bad.append((s, cid))
        if bad:
            s, cid = bad[0]
            print("%s: %d bad sectors; first: sector %d (byte %d) holds %s; allowed: %s; "
                  "flushed seq %d" % (what, len(bad), s, s * SECTOR,
                                      "garbage" if cid is None else "content %d" % cid,
                                      sorted(self.allowed(s))[-6:], self.flushed_seq[s]),
                  file=sys.stderr)
        return len(bad)

    def adopt(self, data):
        """After a passed check and a flush, what was read is durable: operations after the
        one whose content was read never took effect (unflushed, lost by the crash)."""
        for s in range(self.sectors):
            cid, _ = parse(data[s * SECTOR:(s + 1) * SECTOR], s)
            h = self.hist[s]
            fs = self.flushed_seq[s]
            i = max(j for j, (seq, _, c) in enumerate(h) if c == cid and
                    (seq >= fs or j == max(k for k, e in enumerate(h) if e[0] <= fs)))
            del h[i + 1:]
            self.flushed_seq[s] = h[i][0]
        self.unjournaled = []

    def content_at_epoch(self, s, e):
        c = [cid for _, ep, cid in self.hist[s] if ep <= e]
        return c[-1] if c else None

    def bucket_epoch(self, data, at_least):
        """The flush epoch m the bucket alone shows (every sector as at the end of epoch m-1 or
        written in epoch m), or None."""
        parsed = [parse(data[s * SECTOR:(s + 1) * SECTOR], s) for s in range(self.sectors)]
        if any(cid is None for cid, _ in parsed):
            return None
        for m in range(max(at_least, 1), self.epoch + 1):
            ok = True
            for s, (cid, _) in enumerate(parsed):
                if cid == self.content_at_epoch(s, m - 1):
                    continue
                if any(c == cid and ep == m for _, ep, c in self.hist[s]):
                    continue
                ok = False
                break
            if ok:
                return m
        return None


def read_all(h, size):
    out = bytearray()
    step = 4 << 20
    for off in range(0, size, step):
        out += h.pread(min(step, size - off), off)
    return bytes(out)


def workload(h, model, rnd, sectors, seq, stop_at, stats):
    """Mixed I/O until the connection dies (nbdkit killed) or stop_at; returns the next seq."""
    inflight = {}  # cookie -> (seq, first, count)
    busy = set()

    def reap():
        for c in list(inflight):
            if h.aio_command_completed(c):
                sq, f, n = inflight.pop(c)
                model.acked(sq, f, n)
                busy.difference_update(range(f, f + n))
    try:
        while time.monotonic() < stop_at:
            r = rnd.random()
            if r < 0.08:
                while inflight:
                    h.poll(1)
                    reap()
                h.flush()
                model.flushed_ok()
                stats["flushes"] += 1
                continue
            if r < 0.14:
                first = rnd.randrange(sectors)
                h.pread(min(rnd.randint(1, 64), sectors - first) * SECTOR, first * SECTOR)
                continue
            first = rnd.randrange(sectors)
            count = min(rnd.choice([1, 8, 8, 64, 128, 256]), sectors - first)
            if any(s in busy for s in range(first, first + count)):
                h.poll(1)
                reap()
                continue
            seq += 1
            zero = r < 0.22
            model.issue(seq, first, count, zero)
            if zero:
                c = h.aio_zero(count * SECTOR, first * SECTOR)
                stats["zeroes"] += 1
            else:
                buf = b"".join(sector_data(seq, s, model.epoch) for s in range(first, first + count))
                c = h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(buf)), first * SECTOR)
                stats["writes"] += 1
            inflight[c] = (seq, first, count)
            busy.update(range(first, first + count))
            while len(inflight) >= 8:
                h.poll(1)
                reap()
            reap()
    except nbd.Error:
        stats["interrupted"] += 1
    return seq


def main():
    ap = argparse.ArgumentParser()
    for a in ("nbdkit", "plugin", "endpoint", "bucket", "prefix", "dir", "cache", "flush"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--cache-size", default="4M")
    ap.add_argument("--writeback-delay", default="200ms")
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lose-cache", action="store_true")
    args = ap.parse_args()
    print("crash_matrix: flush=%s seed=%d kills=%d" % (args.flush, args.seed, args.kills),
          file=sys.stderr)
    rnd = random.Random(args.seed)
    sectors = args.size // SECTOR
    model = Model(sectors, os.path.join(args.dir, "journal-%s" % args.flush))
    stats = {"flushes": 0, "writes": 0, "zeroes": 0, "interrupted": 0}
    srv = Server(args, args.flush)
    seq = 0
    crashes = verified = 0
    h = srv.start()
    model.adopt(read_all(h, args.size))
    for k in range(args.kills + (1 if args.lose_cache else 0)):
        last = k == args.kills  # the extra round that loses the cache file
        timer = threading.Timer(rnd.uniform(0.3, 2.5), srv.kill)  # SIGKILL at a random moment
        timer.start()
        seq = workload(h, model, rnd, sectors, seq, time.monotonic() + 30, stats)
        timer.join()
        crashes += 1
        h = None  # the connection died with nbdkit
        if last:
            flushed_epoch = model.epoch - 1
            os.unlink(args.cache)
            h = srv.start(cache=False)
            data = read_all(h, args.size)
            m = model.bucket_epoch(data, flushed_epoch if args.flush == "remote" else 1)
            if m is None:
                print("cache file lost after kill %d (flush=%s): the bucket is not the image of "
                      "any flush epoch >= %d" % (k + 1, args.flush,
                                                 flushed_epoch if args.flush == "remote" else 1),
                      file=sys.stderr)
                model.check(data, "bucket alone")
                sys.exit(1)
            print("cache lost (flush=%s): the bucket is the image of flush epoch %d (last "
                  "acknowledged flush: epoch %d)" % (args.flush, m, flushed_epoch), file=sys.stderr)
            verified += args.size
            h.shutdown()
            break
        h = srv.start()
        data = read_all(h, args.size)
        if model.check(data, "after kill %d (flush=%s)" % (k + 1, args.flush)):
            srv.kill()
            print(tail(srv.log), file=sys.stderr)
            sys.exit(1)
        verified += args.size
        h.flush()
        model.flushed_ok()
        model.adopt(data)
    else:
        h.shutdown()  # nbdkit waits for connected clients before it exits on SIGTERM
    srv.stop()
    print("crashes=%d verified_bytes=%d lost_bytes=0 flushes=%d writes=%d zeroes=%d "
          "interrupted=%d" % (crashes, verified, stats["flushes"], stats["writes"],
                              stats["zeroes"], stats["interrupted"]))


if __name__ == "__main__":
    main()
