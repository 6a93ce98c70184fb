// lazyfs: a FUSE pass-through file system that holds unsynced file data in memory and loses it
// on command (the LazyFS / FaultInjectionTestEnv idea), for tests/faults/test-powercut.sh.
// Lock rule: one mutex (g_mu) guards all lazy state and runs every operation, so a power cut is
// one instant: an operation completed before it, or fails with EIO.
//
// What is modelled (a disk with a volatile write cache under a page cache):
//  * File data: every write is kept per 512-byte sector of the file as a history of versions
//    (the sector's bytes after each write, oldest first, at most kMaxVersions). Reads see the
//    newest version. fsync/fdatasync of any descriptor of the inode writes the newest versions
//    to the backing file, fdatasyncs it and forgets the history.
//  * Namespace (create, unlink, rename, mkdir, ...), attributes and size changes (ftruncate,
//    fallocate modes 0 and KEEP_SIZE) are applied to the backing directory at once and count
//    as durable at once. Unsynced sectors past a truncation are dropped. PUNCH_HOLE and
//    ZERO_RANGE are unsynced writes of zeros. Unsynced writes past the backing file's end grow
//    the size seen (getattr) but the backing file only as far as a kept sector reaches.
//  * flock/POSIX locks: no lock operations are implemented, so the kernel keeps them locally
//    (they work between processes on this mount).
//  * SIGUSR1 = power cut: from then on every operation fails with EIO, and the crash image is
//    written to the backing files: --mode drop (only synced data), keep (everything, like
//    kill -9), or random (seeded): each sector independently ends as its synced bytes or as one
//    of its versions (a prefix of its history in write order), so multi-sector writes tear and
//    writes to different sectors reorder. A report line goes to stderr and to --done FILE; the
//    caller then unmounts (fusermount3 -u), which ends the process.
//  * --ignore-fsync: fsync does nothing (every write stays unsynced); a broken disk, used to
//    show that the power-cut test can fail.
//    --mode prefix keeps every unsynced write up to a random one, in write order, and none after
//    it (a disk that never reorders: what a cache that relies on write order survives; exact
//    unless a sector was rewritten more than kMaxVersions times since its last sync).
//   lazyfs [--mode random|prefix|drop|keep] [--seed N] [--ignore-fsync] [--done FILE] BACKING MOUNT
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kSector = 512;
constexpr size_t kMaxVersions = 16;             // older versions of a sector are forgotten
constexpr uint64_t kMaxLazyZero = 64ull << 20;  // larger hole punches are refused

struct Version {
  uint64_t write_id;
  std::array<uint8_t, kSector> bytes;
};

// The unsynced state of one inode.
struct LazyFile {
  int fd = -1;               // owned: keeps the inode (and its number) alive while pending
  uint64_t pending_end = 0;  // end of the furthest unsynced write
  std::map<uint64_t, std::vector<Version>> sectors;  // sector index -> versions, oldest first
  ~LazyFile() {
    if (fd >= 0) ::close(fd);
  }
};

struct Options {
  std::string backing, mode = "random", done;
  uint64_t seed = 1;
  bool ignore_fsync = false;
};

Options g_opt;
std::mutex g_mu;
bool g_frozen = false;                               // GUARDED_BY(g_mu)
uint64_t g_next_write = 1;                           // GUARDED_BY(g_mu)
std::map<ino_t, std::unique_ptr<LazyFile>> g_files;  // GUARDED_BY(g_mu)

std::string B(const char* path) { return g_opt.backing + path; }
int Err() { return -errno; }

// Full-length pread; bytes past the end of the file read as zeros. Returns bytes read or -errno.
ssize_t ReadFull(int fd, uint8_t* buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  std::memset(buf + done, 0, len - done);
  return static_cast<ssize_t>(done);
}

int WriteFull(int fd, const uint8_t* buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

uint64_t BackingSize(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

LazyFile* Find(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return nullptr;
  auto it = g_files.find(st.st_ino);
  return it == g_files.end() ? nullptr : it->second.get();
}

// A lazy write of len bytes (zeros when data is null) at off. REQUIRES(g_mu)
int LazyWrite(int fd, const uint8_t* data, uint64_t len, uint64_t off) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Err();
  auto& slot = g_files[st.st_ino];
  if (!slot) {
    slot = std::make_unique<LazyFile>();
    slot->fd = ::dup(fd);
    if (slot->fd < 0) {
      int e = errno;
      g_files.erase(st.st_ino);
      return -e;
    }
  }
  LazyFile& f = *slot;
  const uint64_t id = g_next_write++;
  for (uint64_t s = off / kSector; len > 0 && s <= (off + len - 1) / kSector; s++) {
    Version v{id, {}};
    auto& hist = f.sectors[s];
    if (!hist.empty()) {
      v.bytes = hist.back().bytes;
    } else {
      ssize_t n = ReadFull(fd, v.bytes.data(), kSector, static_cast<off_t>(s * kSector));
      if (n < 0) return static_cast<int>(n);
    }
    uint64_t lo = std::max(off, s * kSector), hi = std::min(off + len, (s + 1) * kSector);
    if (data)
      std::memcpy(v.bytes.data() + (lo - s * kSector), data + (lo - off), hi - lo);
    else
      std::memset(v.bytes.data() + (lo - s * kSector), 0, hi - lo);
    hist.push_back(v);
    if (hist.size() > kMaxVersions) hist.erase(hist.begin());
  }
  f.pending_end = std::max(f.pending_end, off + len);
  return 0;
}

// Writes sector s's chosen version (index k-1; k = 0: keep the synced bytes). REQUIRES(g_mu)
int ApplySector(const LazyFile& f, uint64_t s, const std::vector<Version>& hist, size_t k,
                uint64_t size) {
  if (k == 0 || s * kSector >= size) return 0;
  uint64_t n = std::min(kSector, size - s * kSector);
  return WriteFull(f.fd, hist[k - 1].bytes.data(), n, static_cast<off_t>(s * kSector));
}

// fsync: every newest version becomes durable. REQUIRES(g_mu)
int SyncFile(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Err();
  auto it = g_files.find(st.st_ino);
  if (it != g_files.end()) {
    const LazyFile& f = *it->second;
    uint64_t size = std::max(static_cast<uint64_t>(st.st_size), f.pending_end);
    for (const auto& [s, hist] : f.sectors)
      if (int rc = ApplySector(f, s, hist, hist.size(), size); rc != 0) return rc;
  }
  if (::fdatasync(fd) != 0) return Err();
  if (it != g_files.end()) g_files.erase(it);
  return 0;
}

// ---- the power cut ---------------------------------------------------------------------------

void PowerCut() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_frozen) return;
  g_frozen = true;
  std::mt19937_64 rng(g_opt.seed);
  // random mode: a sector keeps its whole history with probability keep_all, otherwise a
  // uniformly chosen shorter prefix of it (possibly none)
  const double keep_all = std::uniform_real_distribution<double>(0, 1)(rng);
  // prefix mode: the writes up to a random one are kept, in order, the later ones are lost
  uint64_t first_id = g_next_write, last_id = 0;
  for (auto& [ino, fp] : g_files)
    for (const auto& [s, hist] : fp->sectors)
      for (const Version& v : hist) {
        first_id = std::min(first_id, v.write_id);
        last_id = std::max(last_id, v.write_id);
      }
  const uint64_t cutoff =
      last_id < first_id ? 0 : std::uniform_int_distribution<uint64_t>(first_id - 1, last_id)(rng);
  uint64_t pending = 0, kept = 0, versions = 0;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> per_write;  // id -> (sectors, kept)
  int err = 0;
  for (auto& [ino, fp] : g_files) {
    const LazyFile& f = *fp;
    uint64_t size = std::max(BackingSize(f.fd), f.pending_end);
    for (const auto& [s, hist] : f.sectors) {
      size_t n = hist.size(), k = 0;
      if (g_opt.mode == "keep") {
        k = n;
      } else if (g_opt.mode == "prefix") {
        while (k < n && hist[k].write_id <= cutoff) k++;
      } else if (g_opt.mode == "random") {
        k = std::bernoulli_distribution(keep_all)(rng)
                ? n
                : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      }
      pending++;
      versions += n;
      if (k > 0) kept++;
      for (size_t j = 0; j < n; j++) {
        auto& w = per_write[hist[j].write_id];
        w.first++;
        if (j < k) w.second++;
      }
      if (int rc = ApplySector(f, s, hist, k, size); rc != 0 && err == 0) err = rc;
    }
    if (::fdatasync(f.fd) != 0 && err == 0) err = -errno;
  }
  g_files.clear();
  uint64_t torn = 0, dropped_writes = 0;
  for (const auto& [id, w] : per_write) {
    if (w.second > 0 && w.second < w.first) torn++;
    if (w.second == 0) dropped_writes++;
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "lazyfs: power cut mode=%s seed=%llu keep_all=%.2f cutoff=%llu unsynced_writes=%zu "
                "dropped_writes=%llu torn_writes=%llu unsynced_sectors=%llu versions=%llu "
                "sectors_changed=%llu error=%s\n",
                g_opt.mode.c_str(), static_cast<unsigned long long>(g_opt.seed),
                g_opt.mode == "random" ? keep_all : 0.0,
                static_cast<unsigned long long>(g_opt.mode == "prefix" ? cutoff : 0),
                per_write.size(), static_cast<unsigned long long>(dropped_writes),
                static_cast<unsigned long long>(torn), static_cast<unsigned long long>(pending),
                static_cast<unsigned long long>(versions), static_cast<unsigned long long>(kept),
                err ? std::strerror(-err) : "none");
  std::fputs(line, stderr);
  if (!g_opt.done.empty()) {
    std::string tmp = g_opt.done + ".tmp";
    if (FILE* out = std::fopen(tmp.c_str(), "w")) {
      std::fputs(line, out);
      std::fclose(out);
      std::rename(tmp.c_str(), g_opt.done.c_str());
    }
  }
}

void* CutThread(void*) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  int sig;
  while (sigwait(&set, &sig) == 0) PowerCut();
  return nullptr;
}

// ---- FUSE operations: every one takes g_mu and fails once the power is cut -----------------

#define GUARD()                          \
  std::lock_guard<std::mutex> lk_(g_mu); \
  do {                                   \
    if (g_frozen) return -EIO;           \
  } while (0)

void* Init(struct fuse_conn_info*, struct fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->direct_io = 1;  // no page cache of ours in the kernel: every read and write comes here
  cfg->attr_timeout = cfg->entry_timeout = cfg->negative_timeout = 0;
  cfg->hard_remove = 1;
  cfg->nullpath_ok = 1;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  GUARD();
  if ((fi ? ::fstat(static_cast<int>(fi->fh), st) : ::lstat(B(path).c_str(), st)) != 0)
    return Err();
  auto it = g_files.find(st->st_ino);
  if (S_ISREG(st->st_mode) && it != g_files.end())
    st->st_size =
        static_cast<off_t>(std::max(static_cast<uint64_t>(st->st_size), it->second->pending_end));
  return 0;
}

int OpenDir(const char* path, struct fuse_file_info* fi) {
  GUARD();
  DIR* d = ::opendir(B(path).c_str());
  if (!d) return Err();
  fi->fh = reinterpret_cast<uint64_t>(d);
  return 0;
}

int ReadDir(const char*, void* buf, fuse_fill_dir_t fill, off_t, struct fuse_file_info* fi,
            enum fuse_readdir_flags) {
  GUARD();
  DIR* d = reinterpret_cast<DIR*>(fi->fh);
  ::rewinddir(d);
  while (struct dirent* e = ::readdir(d)) {
    struct stat st {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(e->d_type) << 12;
    if (fill(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  return 0;
}

int ReleaseDir(const char*, struct fuse_file_info* fi) {
  std::lock_guard<std::mutex> lk(g_mu);
  ::closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

int OpenFlags(int flags) {
  return (flags & ~(O_ACCMODE | O_DIRECT | O_APPEND | O_CREAT | O_EXCL | O_TRUNC)) | O_RDWR |
         O_CLOEXEC;
}

// The kernel opens with O_TRUNC only with atomic_o_trunc, which we do not ask for.
int Open(const char* path, struct fuse_file_info* fi) {
  GUARD();
  int fd = ::open(B(path).c_str(), OpenFlags(fi->flags));
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == ETXTBSY))
    fd = ::open(B(path).c_str(), (fi->flags & O_ACCMODE) | O_CLOEXEC);
  if (fd < 0) return Err();
  fi->fh = static_cast<uint64_t>(fd);
  fi->direct_io = 1;
  return 0;
}

int Create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  GUARD();
  int fd = ::open(B(path).c_str(), OpenFlags(fi->flags) | O_CREAT | (fi->flags & O_EXCL), mode);
  if (fd < 0) return Err();
  fi->fh = static_cast<uint64_t>(fd);
  fi->direct_io = 1;
  return 0;
}

int Release(const char*, struct fuse_file_info* fi) {  // also after the cut: closes our fd
  std::lock_guard<std::mutex> lk(g_mu);
  ::close(static_cast<int>(fi->fh));
  return 0;
}

int Read(const char*, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  GUARD();
  int fd = static_cast<int>(fi->fh);
  LazyFile* f = Find(fd);
  uint64_t fsize = std::max(BackingSize(fd), f ? f->pending_end : 0);
  uint64_t o = static_cast<uint64_t>(off);
  if (o >= fsize) return 0;
  uint64_t len = std::min<uint64_t>(size, fsize - o);
  auto* out = reinterpret_cast<uint8_t*>(buf);
  ssize_t n = ReadFull(fd, out, len, off);
  if (n < 0) return static_cast<int>(n);
  if (f) {
    for (auto it = f->sectors.lower_bound(o / kSector);
         it != f->sectors.end() && it->first * kSector < o + len; ++it) {
      uint64_t s0 = it->first * kSector;
      uint64_t lo = std::max(o, s0), hi = std::min(o + len, s0 + kSector);
      std::memcpy(out + (lo - o), it->second.back().bytes.data() + (lo - s0), hi - lo);
    }
  }
  return static_cast<int>(len);
}

int Write(const char*, const char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  GUARD();
  int rc = LazyWrite(static_cast<int>(fi->fh), reinterpret_cast<const uint8_t*>(buf), size,
                     static_cast<uint64_t>(off));
  return rc != 0 ? rc : static_cast<int>(size);
}

int Fsync(const char*, int, struct fuse_file_info* fi) {
  GUARD();
  return g_opt.ignore_fsync ? 0 : SyncFile(static_cast<int>(fi->fh));
}

int FsyncDir(const char*, int, struct fuse_file_info*) {  // namespace changes are durable
  GUARD();
  return 0;
}

int Flush(const char*, struct fuse_file_info*) {  // close(2): no durability
  GUARD();
  return 0;
}

int Truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  GUARD();
  int fd = fi ? static_cast<int>(fi->fh) : ::open(B(path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Err();
  int rc = ::ftruncate(fd, size) == 0 ? 0 : Err();
  if (rc == 0) {
    if (LazyFile* f = Find(fd)) {
      uint64_t sz = static_cast<uint64_t>(size);
      f->sectors.erase(f->sectors.lower_bound((sz + kSector - 1) / kSector), f->sectors.end());
      if (sz % kSector != 0) {
        auto it = f->sectors.find(sz / kSector);
        if (it != f->sectors.end())
          for (Version& v : it->second)
            std::memset(v.bytes.data() + sz % kSector, 0, kSector - sz % kSector);
      }
      f->pending_end = std::min(f->pending_end, sz);
    }
    if (::fsync(fd) != 0) rc = Err();
  }
  if (!fi) ::close(fd);
  return rc;
}

int Fallocate(const char*, int mode, off_t off, off_t len, struct fuse_file_info* fi) {
  GUARD();
  int fd = static_cast<int>(fi->fh);
  if ((mode & ~FALLOC_FL_KEEP_SIZE) == 0)  // reserve space: metadata, durable at once
    return ::fallocate(fd, mode, off, len) == 0 && ::fsync(fd) == 0 ? 0 : Err();
  int kind = mode & ~FALLOC_FL_KEEP_SIZE;
  if ((kind != FALLOC_FL_PUNCH_HOLE && kind != FALLOC_FL_ZERO_RANGE) ||
      static_cast<uint64_t>(len) > kMaxLazyZero)
    return -EOPNOTSUPP;
  uint64_t o = static_cast<uint64_t>(off), l = static_cast<uint64_t>(len);
  if (mode & FALLOC_FL_KEEP_SIZE) {  // only within the current size
    LazyFile* f = Find(fd);
    uint64_t size = std::max(BackingSize(fd), f ? f->pending_end : 0);
    if (o >= size) return 0;
    l = std::min(l, size - o);
  }
  return LazyWrite(fd, nullptr, l, o);
}

int StatFs(const char*, struct statvfs* st) {
  GUARD();
  return ::statvfs(g_opt.backing.c_str(), st) == 0 ? 0 : Err();
}

int Mkdir(const char* p, mode_t m) {
  GUARD();
  return ::mkdir(B(p).c_str(), m) == 0 ? 0 : Err();
}
int Rmdir(const char* p) {
  GUARD();
  return ::rmdir(B(p).c_str()) == 0 ? 0 : Err();
}
int Unlink(const char* p) {
  GUARD();
  return ::unlink(B(p).c_str()) == 0 ? 0 : Err();
}
int Symlink(const char* to, const char* p) {
  GUARD();
  return ::symlink(to, B(p).c_str()) == 0 ? 0 : Err();
}
int Link(const char* from, const char* to) {
  GUARD();
  return ::link(B(from).c_str(), B(to).c_str()) == 0 ? 0 : Err();
}
int Rename(const char* from, const char* to, unsigned int flags) {
  GUARD();
  return ::renameat2(AT_FDCWD, B(from).c_str(), AT_FDCWD, B(to).c_str(), flags) == 0 ? 0 : Err();
}
int ReadLink(const char* p, char* buf, size_t size) {
  GUARD();
  ssize_t n = ::readlink(B(p).c_str(), buf, size - 1);
  if (n < 0) return Err();
  buf[n] = 0;
  return 0;
}
int Chmod(const char* p, mode_t m, struct fuse_file_info* fi) {
  GUARD();
  int rc = fi ? ::fchmod(static_cast<int>(fi->fh), m) : ::chmod(B(p).c_str(), m);
  return rc == 0 ? 0 : Err();
}
int Chown(const char* p, uid_t u, gid_t g, struct fuse_file_info* fi) {
  GUARD();
  int rc = fi ? ::fchown(static_cast<int>(fi->fh), u, g) : ::lchown(B(p).c_str(), u, g);
  return rc == 0 ? 0 : Err();
}
int Utimens(const char* p, const struct timespec ts[2], struct fuse_file_info* fi) {
  GUARD();
  int rc = fi ? ::futimens(static_cast<int>(fi->fh), ts)
              : ::utimensat(AT_FDCWD, B(p).c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return rc == 0 ? 0 : Err();
}

int Usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s [--mode random|prefix|drop|keep] [--seed N] [--ignore-fsync] [--done FILE] "
      "BACKING_DIR MOUNTPOINT [FUSE options]\n",
      argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; i++) {
    std::string a = argv[i];
    if (a == "--ignore-fsync") {
      g_opt.ignore_fsync = true;
    } else if (i + 1 < argc && a == "--mode") {
      g_opt.mode = argv[++i];
    } else if (i + 1 < argc && a == "--seed") {
      g_opt.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (i + 1 < argc && a == "--done") {
      g_opt.done = argv[++i];
    } else {
      return Usage(argv[0]);
    }
  }
  if (argc - i < 2 || (g_opt.mode != "random" && g_opt.mode != "prefix" && g_opt.mode != "drop" &&
                       g_opt.mode != "keep"))
    return Usage(argv[0]);
  char real[PATH_MAX];
  if (!::realpath(argv[i], real)) {
    std::fprintf(stderr, "lazyfs: backing directory %s: %s\n", argv[i], std::strerror(errno));
    return 1;
  }
  g_opt.backing = real;
  sigset_t set;  // SIGUSR1 goes to the cut thread only (FUSE's threads inherit the mask)
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  pthread_t cut;
  if (pthread_create(&cut, nullptr, CutThread, nullptr) != 0) {
    std::fprintf(stderr, "lazyfs: cannot start the power-cut thread\n");
    return 1;
  }
  static struct fuse_operations ops;
  ops.init = Init;
  ops.getattr = GetAttr;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = ReleaseDir;
  ops.open = Open;
  ops.create = Create;
  ops.release = Release;
  ops.read = Read;
  ops.write = Write;
  ops.fsync = Fsync;
  ops.fsyncdir = FsyncDir;
  ops.flush = Flush;
  ops.truncate = Truncate;
  ops.fallocate = Fallocate;
  ops.statfs = StatFs;
  ops.mkdir = Mkdir;
  ops.rmdir = Rmdir;
  ops.unlink = Unlink;
  ops.symlink = Symlink;
  ops.link = Link;
  ops.rename = Rename;
  ops.readlink = ReadLink;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.utimens = Utimens;
  std::vector<char*> fargs{argv[0], const_cast<char*>("-f"), argv[i + 1]};
  const char* fsname = "-ofsname=lazyfs,subtype=lazyfs";
  fargs.push_back(const_cast<char*>(fsname));
  for (int j = i + 2; j < argc; j++) fargs.push_back(argv[j]);
  std::fprintf(stderr, "lazyfs: %s on %s, mode=%s seed=%llu%s\n", g_opt.backing.c_str(),
               argv[i + 1], g_opt.mode.c_str(), static_cast<unsigned long long>(g_opt.seed),
               g_opt.ignore_fsync ? " IGNORING FSYNC" : "");
  return fuse_main(static_cast<int>(fargs.size()), fargs.data(), &ops, nullptr);
}
