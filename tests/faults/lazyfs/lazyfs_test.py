#!/usr/bin/python3
"""Self-test of lazyfs (tests/faults/lazyfs/lazyfs.cc), run by tests/faults/test-powercut.sh
before it trusts the file system with a cache (root: it mounts FUSE).

For each crash mode it writes synced and unsynced data (whole sectors, a torn multi-sector
write, a partial-sector overwrite, an ftruncate), checks that reads see
every write and that flock excludes a second open, cuts power, checks that operations now fail
with EIO, unmounts and checks the backing file sector by sector: drop keeps exactly the synced
bytes, keep keeps everything, random keeps per sector the synced bytes or one of its versions
(and the same seed gives the same image), prefix keeps the file as after some first writes.
--ignore-fsync loses synced data too.
  lazyfs_test.py LAZYFS_BINARY WORKDIR
Exits 1 naming the first wrong sector.
"""
import fcntl
import os
import signal
import subprocess
import sys
import time

SECTOR = 512


def pattern(tag, n):
    return bytes((tag * 37 + i) & 0xFF for i in range(n))


class Mount:
    def __init__(self, binary, work, mode, seed, extra=()):
        self.backing = os.path.join(work, "backing")
        self.mnt = os.path.join(work, "mnt")
        self.done = os.path.join(work, "done")
        for d in (self.backing, self.mnt):
            os.makedirs(d, exist_ok=True)
        if os.path.exists(self.done):
            os.unlink(self.done)
        self.log = open(os.path.join(work, "lazyfs.log"), "ab")
        self.proc = subprocess.Popen([binary, "--mode", mode, "--seed", str(seed), "--done",
                                      self.done, *extra, self.backing, self.mnt],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("lazyfs did not mount %s" % self.mnt)
            time.sleep(0.02)

    def path(self, name):
        return os.path.join(self.mnt, name)

    def cut(self):
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.done):
            if time.monotonic() > deadline:
                sys.exit("lazyfs did not report the power cut within 10 s")
            time.sleep(0.01)
        with open(self.done) as f:
            return f.read().strip()

    def unmount(self):
        subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            sys.exit("lazyfs did not exit after the unmount")


def expect(cond, what):
    if not cond:
        sys.exit("lazyfs_test: FAIL: " + what)


def scenario(binary, work, mode, seed, extra=()):
    """Returns (backing bytes, per-sector allowed contents after the cut)."""
    m = Mount(binary, work, mode, seed, extra)
    name = m.path("f")
    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.ftruncate(fd, 16 * SECTOR)              # size changes are durable at once
    synced = bytearray(16 * SECTOR)
    synced[0:4 * SECTOR] = pattern(1, 4 * SECTOR)
    os.pwrite(fd, bytes(synced[0:4 * SECTOR]), 0)
    os.fdatasync(fd)
    # history per sector: the versions written after the sync (sector bytes after each write)
    cur = bytearray(synced)
    versions = [[] for _ in range(17)]
    states = [bytes(synced)]  # the whole file after 0, 1, 2, ... unsynced writes

    def write(data, off):
        os.pwrite(fd, data, off)
        cur[off:off + len(data)] = data
        states.append(bytes(cur))
        for s in range(off // SECTOR, (off + len(data) - 1) // SECTOR + 1):
            versions[s].append(bytes(cur[s * SECTOR:(s + 1) * SECTOR]))

    write(pattern(2, 6 * SECTOR), 2 * SECTOR)  # multi-sector, over synced and unsynced sectors
    write(pattern(3, 100), 3 * SECTOR + 50)     # partial sector over an unsynced version
    write(pattern(4, SECTOR), 12 * SECTOR)
    expect(os.pread(fd, len(cur), 0) == bytes(cur), "reads must see unsynced writes")
    expect(os.fstat(fd).st_size == 16 * SECTOR, "size after ftruncate")
    # a second open file description must not get the exclusive flock
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fd2 = os.open(name, os.O_RDWR)
    try:
        fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        expect(False, "a second exclusive flock on the mount succeeded")
    except BlockingIOError:
        pass
    os.close(fd2)
    report = m.cut()
    try:
        os.pread(fd, 10, 0)
        expect(False, "a read after the power cut succeeded")
    except OSError as e:
        expect(e.errno == 5, "a read after the cut must fail EIO, got %s" % e)
    try:
        os.close(fd)
    except OSError:
        pass
    m.unmount()
    with open(os.path.join(m.backing, "f"), "rb") as f:
        img = f.read()
    allowed = []
    for s in range(16):
        base = bytes(synced[s * SECTOR:(s + 1) * SECTOR])
        if mode == "drop" or extra:
            allowed.append({base} if "--ignore-fsync" not in extra or s >= 4 else {bytes(SECTOR)})
        elif mode == "prefix":
            allowed.append({st[s * SECTOR:(s + 1) * SECTOR] for st in states})
        elif mode == "keep":
            allowed.append({versions[s][-1] if versions[s] else base})
        else:
            allowed.append({base, *versions[s]})
    if mode == "prefix":
        expect(img in states, "mode prefix: the image is not the file after some first writes")
    return img, allowed, report


def check(img, allowed, what):
    expect(len(img) == 16 * SECTOR, "%s: backing file size %d, expected %d" %
           (what, len(img), 16 * SECTOR))
    for s in range(16):
        expect(img[s * SECTOR:(s + 1) * SECTOR] in allowed[s],
               "%s: sector %d holds bytes of no allowed version" % (what, s))


def main():
    binary, work = sys.argv[1], sys.argv[2]
    for mode in ("drop", "keep"):
        img, allowed, report = scenario(binary, os.path.join(work, mode), mode, 1)
        check(img, allowed, "mode " + mode)
        print("lazyfs_test: mode %s ok: %s" % (mode, report))
    torn = changed = 0
    for seed in range(1, 9):
        img, allowed, report = scenario(binary, os.path.join(work, "r%d" % seed), "random", seed)
        check(img, allowed, "mode random seed %d" % seed)
        again, _, _ = scenario(binary, os.path.join(work, "s%d" % seed), "random", seed)
        expect(img == again, "mode random seed %d: the same seed gave another image" % seed)
        torn += "torn_writes=0 " not in report
        changed += "sectors_changed=0 " not in report
    expect(torn > 0 and changed > 0, "random mode never tore a write in 8 seeds")
    for seed in range(1, 5):
        img, allowed, report = scenario(binary, os.path.join(work, "p%d" % seed), "prefix", seed)
        check(img, allowed, "mode prefix seed %d" % seed)
    img, allowed, report = scenario(binary, os.path.join(work, "nofsync"), "drop", 1,
                                    ("--ignore-fsync",))
    check(img, allowed, "--ignore-fsync")
    print("lazyfs_test: random (8 seeds, %d with torn writes), prefix (4 seeds) and "
          "--ignore-fsync ok" % torn)


if __name__ == "__main__":
    main()
