#!/usr/bin/python3
"""Power-cut driver for tests/faults/test-powercut.sh (Debian's python3: needs `nbd`).

The cache file lives on lazyfs (tests/faults/lazyfs/lazyfs.cc), which keeps every write that
was not fsync'ed in memory. Per cut: mount lazyfs, start nbdkit with the s3nbd plugin and
cache=MOUNT/cache.img, verify the volume against the model, run a mixed workload (writes of
1-256 sectors with up to 8 in flight, WRITE_ZEROES, TRIM, reads, FLUSHes) and at a random
moment cut the power:
  1. the cut flag is set: a FLUSH acknowledged after this is not counted as acknowledged;
  2. SIGSTOP nbdkit (its threads stop issuing I/O and S3 requests);
  3. SIGUSR1 lazyfs: the power-cut instant. Every later operation fails EIO and the backing
     file becomes the synced data plus a seeded random subset of the unsynced sectors (or none,
     or all), printed as a lazyfs report line;
  4. SIGKILL nbdkit, unmount lazyfs.
Then the next round's lazyfs mounts the same backing directory and nbdkit restarts on the same
cache file and bucket. The check is crash_matrix.py's model: every 512-byte sector must hold
its last FLUSH-acknowledged content or a later write that was issued. Differing bytes of a bad
sector (against its flushed content) count as lost; the volume is then rewritten and flushed
so the run can go on, and the exit status is 1.

A cache that nbdkit refuses after a cut (corrupt) fails the cut too: nbdkit is restarted with
discard-bad-cache=true and what that loses is counted.

Prints one line "cuts=N lost_bytes=N bad_cuts=N refused_caches=N ..." at the end.
"""
import argparse
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import nbd

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash_matrix import (MAGIC, SECTOR, Model, Server, parse, read_all,  # noqa: E402
                          sector_data, tail)


class LazyFs:
    """One mount of lazyfs over the backing directory, armed with the next cut's mode and seed."""

    def __init__(self, args, mode, seed):
        self.args, self.mode, self.seed = args, mode, seed
        self.done = os.path.join(args.dir, "lazyfs-cut")
        if os.path.exists(self.done):
            os.unlink(self.done)
        cmd = [args.lazyfs, "--mode", mode, "--seed", str(seed), "--done", self.done]
        if args.ignore_fsync:
            cmd.append("--ignore-fsync")
        self.log = open(os.path.join(args.dir, "lazyfs.log"), "ab")
        self.proc = subprocess.Popen(cmd + [args.backing, args.mount], stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + 20
        while not os.path.ismount(args.mount):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                sys.exit("lazyfs did not mount %s within 20 s:\n%s" %
                         (args.mount, tail(self.log.name)))
            time.sleep(0.01)

    def cut(self):
        """Power cut now; returns lazyfs's report line."""
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.done):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit("lazyfs did not report the power cut within 20 s:\n" +
                         tail(self.log.name))
            time.sleep(0.002)
        with open(self.done) as f:
            return f.read().strip()

    def unmount(self):
        for cmd in (["fusermount3", "-u", self.args.mount], ["umount", "-l", self.args.mount]):
            if subprocess.run(cmd, stderr=subprocess.DEVNULL, timeout=20).returncode == 0:
                break
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            sys.exit("lazyfs did not exit within 20 s of its unmount")


class PowerCutServer(Server):
    """crash_matrix's Server, but a refusal to start is an answer (the message), not an exit."""

    def try_start(self, extra=()):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        a = self.args
        cmd = [a.nbdkit, "-f", "-U", self.sock, a.plugin, "endpoint=" + a.endpoint,
               "bucket=" + a.bucket, "prefix=" + a.prefix, "force-takeover=true",
               "cache=" + a.cache, "cache-size=" + a.cache_size, "flush=" + a.flush,
               "writeback-delay=" + a.writeback_delay, *extra]
        with open(self.log, "ab") as log:
            log.write(("---- start: %s\n" % " ".join(cmd[4:])).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return None, last_start_messages(self.log, 1)
            if os.path.exists(self.sock):
                try:
                    h = nbd.NBD()
                    h.connect_unix(self.sock)
                    return h, None
                except nbd.Error:
                    pass
            time.sleep(0.05)
        self.kill()
        sys.exit("nbdkit did not come up in 60 s; see " + self.log)


class Cutter(threading.Thread):
    """Cuts the power `after` seconds from its start, unless `cancel` is set first."""

    def __init__(self, srv, lfs, after, cut_flag):
        super().__init__()
        self.srv, self.lfs, self.after, self.cut_flag = srv, lfs, after, cut_flag
        self.report = None

    def run(self):
        time.sleep(self.after)
        self.cut_flag.set()
        self.srv.proc.send_signal(signal.SIGSTOP)
        self.report = self.lfs.cut()
        self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait(timeout=30)
        self.lfs.unmount()


def workload(h, model, rnd, sectors, seq, cut_flag, stats):
    """Mixed I/O until the cut flag is set or the connection dies; returns the next seq."""
    inflight = {}  # cookie -> (seq, first, count)
    busy = set()

    def reap():
        for c in list(inflight):
            if h.aio_command_completed(c):
                sq, f, n = inflight.pop(c)
                model.acked(sq, f, n)
                busy.difference_update(range(f, f + n))
    deadline = time.monotonic() + 60
    try:
        while not cut_flag.is_set() and time.monotonic() < deadline:
            r = rnd.random()
            if r < 0.08:
                while inflight and not cut_flag.is_set():
                    h.poll(1)
                    reap()
                if cut_flag.is_set():
                    break
                h.flush()
                if cut_flag.is_set():  # may have completed after the cut instant: not counted
                    break
                model.flushed_ok()
                stats["flushes"] += 1
                continue
            if r < 0.13:
                first = rnd.randrange(sectors)
                h.pread(min(rnd.randint(1, 64), sectors - first) * SECTOR, first * SECTOR)
                continue
            first = rnd.randrange(sectors)
            count = min(rnd.choice([1, 8, 8, 64, 128, 128, 256]), sectors - first)
            if any(s in busy for s in range(first, first + count)):
                h.poll(1)
                reap()
                continue
            seq += 1
            zero = r < 0.21
            model.issue(seq, first, count, zero)
            if zero and r < 0.17:
                c = h.aio_zero(count * SECTOR, first * SECTOR)
                stats["zeroes"] += 1
            elif zero:
                c = h.aio_trim(count * SECTOR, first * SECTOR)
                stats["trims"] += 1
            else:
                buf = b"".join(sector_data(seq, s, model.epoch)
                               for s in range(first, first + count))
                c = h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(buf)), first * SECTOR)
                stats["writes"] += 1
            inflight[c] = (seq, first, count)
            busy.update(range(first, first + count))
            while len(inflight) >= 8 and not cut_flag.is_set():
                h.poll(1)
                reap()
            reap()
        if inflight:
            stats["interrupted"] += 1
    except nbd.Error:
        stats["interrupted"] += 1
    return seq


def describe_garbage(data, block_size):
    """Names the sector a misplaced tagged sector came from (another block's data)."""
    magic, _, seq, sec, epoch = struct.unpack_from("<IIQQQ", data)
    if magic == MAGIC and sector_data(seq, sec, epoch) == data:
        return "misplaced data (of block %d)" % (sec * SECTOR // block_size)
    return "garbage"


def lost_bytes(model, data, block_size):
    """(bytes of the bad sectors that differ from their last flushed content, bad sectors,
    a description per bad block: what its bad sectors hold instead)."""
    lost = bad = 0
    blocks = {}
    for s in range(model.sectors):
        got = data[s * SECTOR:(s + 1) * SECTOR]
        cid, _ = parse(got, s)
        if cid is not None and (cid == model.hist[s][-1][2] or cid in model.allowed(s)):
            continue
        fs = model.flushed_seq[s]
        seq, epoch, base = [e for e in model.hist[s] if e[0] <= fs][-1]
        want = bytes(SECTOR) if base == 0 else sector_data(seq, s, epoch)
        lost += sum(a != b for a, b in zip(got, want))
        bad += 1
        if cid is None:
            what = describe_garbage(got, block_size)
        elif cid == 0:
            what = "zeros"
        else:
            older = [e for e in model.hist[s] if e[2] == cid]
            what = "older write seq %d epoch %d" % (cid, older[0][1]) if older else \
                "write seq %d (unknown here)" % cid
        b = blocks.setdefault(s * SECTOR // block_size, {})
        was = "zeros" if base == 0 else "seq %d epoch %d" % (seq, epoch)
        key = "%s instead of %s" % (what, was)
        b[key] = b.get(key, 0) + 1
    desc = ["block %d: %s" % (b, "; ".join("%d sectors %s" % (n, k) for k, n in kinds.items()))
            for b, kinds in sorted(blocks.items())]
    return lost, bad, desc, sorted(blocks)


def cache_records(image, blocks, limit=8):
    """The crash image's index records of the given blocks (docs/cache-format.md), as text."""
    try:
        with open(image, "rb") as f:
            data = f.read()
        if data[:8] != b"S3NBDCF1":
            return ["    crash image: no cache header"]
        slots, records, index, flushed = struct.unpack_from("<QQQ", data, 40) + \
            struct.unpack_from("<Q", data, 72)
    except (OSError, struct.error) as e:
        return ["    crash image: %s" % e]
    out = ["    crash image: header flushed_seq %d; records of the bad blocks (the cache's seq, "
           "not the workload's):" % flushed]
    kinds = {0: "FREE", 1: "CLEAN", 2: "DIRTY", 3: "ERASE"}
    for i in range(records):
        magic, kind, flags, _, block, seq, epoch = struct.unpack_from(
            "<IBBHQQQ", data, index + 64 * i)
        if magic != 0x52434E53 or block not in blocks or kind == 0:
            continue
        out.append("      block %d: %s %s%s seq %d epoch %d" % (
            block, "slot %d" % i if i < slots else "tombstone", kinds.get(kind, kind),
            " OPEN" if flags & 1 else "", seq, epoch))
        if len(out) > limit * len(blocks):
            break
    return out


def last_start_messages(path, limit=15):
    with open(path, errors="replace") as f:
        text = f.read()
    lines = text[text.rfind("---- start:"):].splitlines()[1:]
    lines = [ln for ln in lines if "debug:" not in ln]
    return "".join("    %s\n" % ln[:300] for ln in lines[-limit:])


def rebaseline(h, model, seq, size):
    """After a loss: rewrite every sector with a fresh version and flush, so the run goes on."""
    seq += 1
    sectors = size // SECTOR
    model.issue(seq, 0, sectors, False)
    buf = b"".join(sector_data(seq, s, model.epoch) for s in range(sectors))
    h.pwrite(buf, 0)
    model.acked(seq, 0, sectors)
    h.flush()
    model.flushed_ok()
    model.adopt(read_all(h, size))
    return seq


def main():
    ap = argparse.ArgumentParser()
    for a in ("nbdkit", "plugin", "lazyfs", "endpoint", "bucket", "prefix", "dir", "backing",
              "mount", "flush", "name"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--cache-size", default="2M")
    ap.add_argument("--block-size", type=int, default=65536)
    ap.add_argument("--writeback-delay", default="50ms")
    ap.add_argument("--cuts", type=int, default=50)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-run", type=float, default=0.15, help="shortest workload, seconds")
    ap.add_argument("--max-run", type=float, default=1.0, help="longest workload, seconds")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait after a cut (requests held in a delay front land)")
    ap.add_argument("--deadline", type=float, default=0,
                    help="seconds: start no new cut after this (the summary shows how many ran)")
    ap.add_argument("--ignore-fsync", action="store_true")
    ap.add_argument("--modes", default="random:6,prefix:1,drop:2,keep:1",
                    help="lazyfs crash modes and their weights")
    args = ap.parse_args()
    args.cache = os.path.join(args.mount, "cache.img")
    print("powercut %s: flush=%s seed=%d cuts=%d endpoint=%s" %
          (args.name, args.flush, args.seed, args.cuts, args.endpoint), file=sys.stderr)
    rnd = random.Random(args.seed)
    sectors = args.size // SECTOR
    model = Model(sectors, os.path.join(args.dir, "journal-%s" % args.name))
    stats = {"flushes": 0, "writes": 0, "zeroes": 0, "trims": 0, "interrupted": 0}
    srv = PowerCutServer(args, args.name)
    _CHILDREN[:] = [srv, None]
    started = time.monotonic()
    seq = lost_total = bad_cuts = torn_cuts = refused = 0

    def arm():
        modes = [m.split(":") for m in args.modes.split(",")]
        mode = rnd.choices([m for m, _ in modes], [float(w) for _, w in modes])[0]
        fs = LazyFs(args, mode, rnd.getrandbits(32))
        _CHILDREN[1] = fs
        return fs

    lfs = arm()
    h = srv.start()
    model.adopt(read_all(h, args.size))
    cuts = 0
    unreadable = False
    for k in range(1, args.cuts + 1):
        if args.deadline and time.monotonic() - started > args.deadline:
            print("powercut %s: deadline of %d s reached after %d cuts" %
                  (args.name, args.deadline, cuts), file=sys.stderr)
            break
        cuts = k
        cut_flag = threading.Event()
        cutter = Cutter(srv, lfs, rnd.uniform(args.min_run, args.max_run), cut_flag)
        t0 = time.monotonic()
        cutter.start()
        seq = workload(h, model, rnd, sectors, seq, cut_flag, stats)
        cutter.join(timeout=120)
        t1 = time.monotonic()
        if cutter.is_alive() or cutter.report is None:
            sys.exit("cut %d: the power cut did not complete" % k)
        h = None  # the connection died with nbdkit
        model.unjournaled = []  # acknowledged but not flushed before the cut: may be lost
        report = cutter.report
        torn_cuts += "torn_writes=0 " not in report
        time.sleep(args.settle)
        t2 = time.monotonic()
        image = os.path.join(args.backing, "cache.img")
        saved = os.path.join(args.dir, "crash-image.last")
        if os.path.exists(image):
            shutil.copyfile(image, saved)
        lfs = arm()
        h, refusal = srv.try_start()
        was_refused = h is None
        if was_refused:  # a cache that power loss made unusable: flushed data is gone with it
            print("POWER CUT %d (%s, flush=%s, driver seed %d): nbdkit REFUSED the cache after "
                  "the cut: %s\n  the cut: %s\n  restarting with discard-bad-cache=true" %
                  (k, args.name, args.flush, args.seed, refusal.strip(), report),
                  file=sys.stderr)
            refused += 1
            named = {int(b) for b in re.findall(r"block (\d+) slot", refusal)}
            if named and os.path.exists(saved):
                print("\n".join(cache_records(saved, named)), file=sys.stderr)
            if refused <= 20 and os.path.exists(saved):
                shutil.copyfile(saved, os.path.join(args.dir, "crash-image.cut-%d" % k))
                print("    (the crash image is kept as crash-image.cut-%d)" % k, file=sys.stderr)
            h, refusal = srv.try_start(["discard-bad-cache=true"])
            if h is None:
                sys.exit("nbdkit refused to start with discard-bad-cache=true:\n" + refusal)
        t3 = time.monotonic()
        try:
            data = read_all(h, args.size)
        except nbd.Error as e:
            print("POWER CUT %d (%s, flush=%s, driver seed %d): reading the volume after the "
                  "restart failed: %s\n  the cut: %s\n  nbdkit's messages since the restart:\n%s"
                  % (k, args.name, args.flush, args.seed, e, report,
                     last_start_messages(srv.log)), file=sys.stderr)
            bad_cuts += 1
            unreadable = True
            break
        t4 = time.monotonic()
        for key, dt in (("t_run", t1 - t0), ("t_settle", t2 - t1), ("t_start", t3 - t2),
                        ("t_read", t4 - t3)):
            stats[key] = stats.get(key, 0) + dt
        lost, bad, desc, bad_blocks = lost_bytes(model, data, args.block_size)
        if bad or was_refused:
            bad_cuts += 1
            lost_total += lost
            if bad:
                print("POWER CUT %d (%s, flush=%s, driver seed %d) LOST DATA: %d bad sectors, %d "
                      "bytes differ from the flushed content (last acknowledged FLUSH: epoch %d); "
                      "the cut: %s" % (k, args.name, args.flush, args.seed, bad, lost,
                                       model.epoch - 1, report), file=sys.stderr)
            for line in desc[:12]:
                print("  " + line, file=sys.stderr)
            kept = os.path.join(args.dir, "crash-image.cut-%d" % k)
            if bad_cuts <= 20 and os.path.exists(saved):
                os.rename(saved, kept)
                if bad:
                    print("\n".join(cache_records(kept, set(bad_blocks[:4]))), file=sys.stderr)
                print("    (the crash image is kept as %s)" % kept, file=sys.stderr)
            print("  nbdkit's messages since the restart:\n" + last_start_messages(srv.log),
                  file=sys.stderr)
            seq = rebaseline(h, model, seq, args.size)
            continue
        h.flush()
        model.flushed_ok()
        model.adopt(data)
    if not unreadable:  # else the cleanup kills what is left
        h.shutdown()  # nbdkit waits for connected clients before it exits on SIGTERM
        srv.stop()
        lfs.unmount()
    print("cuts=%d lost_bytes=%d bad_cuts=%d refused_caches=%d interrupted=%d "
          "cuts_with_torn_writes=%d flushes=%d writes=%d zeroes=%d trims=%d seconds=%d "
          "(per cut: workload+cut %.2fs, settle %.2fs, restart %.2fs, read %.2fs)" %
          (cuts, lost_total, bad_cuts, refused, stats["interrupted"], torn_cuts, stats["flushes"],
           stats["writes"], stats["zeroes"], stats["trims"], time.monotonic() - started,
           *(stats.get(t, 0) / max(cuts, 1) for t in ("t_run", "t_settle", "t_start", "t_read"))))
    sys.exit(1 if lost_total or bad_cuts else 0)  # bad_cuts counts refused and unreadable too


_CHILDREN = []  # [Server, LazyFs]: whatever is left running when the driver stops early


def cleanup():
    srv, fs = (_CHILDREN + [None, None])[:2]
    if srv is not None and srv.proc is not None and srv.proc.poll() is None:
        srv.proc.kill()  # a stopped nbdkit takes SIGKILL too
        srv.proc.wait()
    if fs is not None and fs.proc.poll() is None:
        subprocess.run(["fusermount3", "-u", "-z", fs.args.mount], stderr=subprocess.DEVNULL)
        try:
            fs.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fs.proc.kill()
            fs.proc.wait()
    if fs is not None:  # a dead FUSE mount is not os.path.ismount(): unmount regardless
        subprocess.run(["umount", "-l", fs.args.mount], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
