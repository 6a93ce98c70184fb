// UringCacheFile implementation: open/stat/lock, per-thread rings, batched io_uring submission with
// resubmission of short transfers and -EAGAIN. No shared mutable state: no locking.
#include "cache/local/uring_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace s3nbd {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.Release();
  }
  return *this;
}
UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

AlignedBuffer::AlignedBuffer(size_t size) : size_(size) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size == 0 ? 4096 : size) != 0) throw std::bad_alloc();
  std::memset(p, 0, size);
  data_.reset(static_cast<uint8_t*>(p));
}
void AlignedBuffer::Free::operator()(uint8_t* p) const { std::free(p); }

Status IoError(const IoOp& op, int err) {
  if (err == 0) return Status::Error(EIO, "short transfer at offset " + std::to_string(op.offset));
  if (op.kind == IoOp::Kind::kSync) return Status::Error(err, std::string("fdatasync: ") + std::strerror(err));
  return Status::Error(err, std::string(op.kind == IoOp::Kind::kRead ? "read" : "write") + " at offset " +
                                std::to_string(op.offset) + ": " + std::strerror(err));
}

Result<std::unique_ptr<UringRing>> UringRing::Create(unsigned depth) {
  auto r = std::make_unique<UringRing>(Key{});
  int rc = io_uring_queue_init(depth, &r->ring_, 0);
  if (rc < 0) return Status::Error(-rc, std::string("io_uring_queue_init: ") + std::strerror(-rc));
  r->depth_ = depth;
  return r;
}

UringRing::~UringRing() {
  if (depth_ != 0) io_uring_queue_exit(&ring_);
}

void UringRing::Prep(IoOp* op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // caller guarantees space
  switch (op->kind) {
    case IoOp::Kind::kRead:
      io_uring_prep_read(sqe, op->fd, op->buf + op->done, op->len - op->done,
                         op->offset + op->done);
      break;
    case IoOp::Kind::kWrite:
      io_uring_prep_write(sqe, op->fd, op->buf + op->done, op->len - op->done,
                          op->offset + op->done);
      break;
    case IoOp::Kind::kSync:
      io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
      break;
  }
  io_uring_sqe_set_data(sqe, op);
}

Status UringRing::Run(std::span<IoOp> ops) {
  std::vector<IoOp*> todo;
  for (IoOp& op : ops) {
    op.done = 0;
    todo.push_back(&op);
  }
  Status first;
  while (!todo.empty()) {
    size_t n = std::min<size_t>(todo.size(), depth_);
    for (size_t i = 0; i < n; i++) Prep(todo[todo.size() - 1 - i]);
    todo.resize(todo.size() - n);
    // One syscall submits the wave and waits for all of it; the reaping below then finds the
    // completions without another (io_uring_wait_cqe only enters the kernel when none is
    // ready, e.g. after a signal cut the wait short).
    int rc;
    do rc = io_uring_submit_and_wait(&ring_, static_cast<unsigned>(n));
    while (rc == -EINTR);
    if (rc < 0)
      return Status::Error(-rc, std::string("io_uring_submit_and_wait: ") + std::strerror(-rc));
    for (size_t i = 0; i < n; i++) {
      io_uring_cqe* cqe = nullptr;
      do rc = io_uring_wait_cqe(&ring_, &cqe);
      while (rc == -EINTR);
      if (rc < 0)
        return Status::Error(-rc, std::string("io_uring_wait_cqe: ") + std::strerror(-rc));
      auto* op = static_cast<IoOp*>(io_uring_cqe_get_data(cqe));
      int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (res == -EAGAIN || res == -EINTR) {
        todo.push_back(op);
      } else if (res < 0) {
        if (first.ok()) first = IoError(*op, -res);
      } else if (op->kind != IoOp::Kind::kSync) {
        if (res == 0) {  // EOF: the file is shorter than its geometry
          if (first.ok()) first = IoError(*op, 0);
          continue;
        }
        op->done += static_cast<size_t>(res);
        if (op->done < op->len) todo.push_back(op);
      }
    }
  }
  return first;
}

Status RunOnThreadRing(std::span<IoOp> ops) {
  constexpr unsigned kRingDepth = 64;
  thread_local std::unique_ptr<UringRing> ring;
  thread_local pid_t ring_pid = 0;
  if (ring && ring_pid != ::getpid()) ring.reset();  // nbdkit forks after config: never share
  if (!ring) {
    auto r = UringRing::Create(kRingDepth);
    if (!r.ok()) return r.status();
    ring = std::move(r).value();
    ring_pid = ::getpid();
  }
  Status s = ring->Run(ops);
  // A batch that failed before reaping everything may leave completions behind: start over.
  if (!s.ok()) ring.reset();
  return s;
}

namespace {

// "pid N (comm)" of the processes other than us that have the file (dev, ino) open; for the
// message that refuses a second server. Best effort: /proc entries may vanish meanwhile.
std::string OpenersOf(dev_t dev, ino_t ino) {
  std::string out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  const pid_t self = ::getpid();
  while (dirent* p = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(p->d_name, &end, 10);
    if (*end != 0 || pid <= 0 || pid == self) continue;
    std::string fds = std::string("/proc/") + p->d_name + "/fd";
    DIR* d = ::opendir(fds.c_str());
    if (!d) continue;
    bool found = false;
    while (dirent* f = ::readdir(d)) {
      struct stat st;
      if (f->d_name[0] == '.' || ::stat((fds + "/" + f->d_name).c_str(), &st) != 0) continue;
      if (st.st_dev == dev && st.st_ino == ino) {
        found = true;
        break;
      }
    }
    ::closedir(d);
    if (!found) continue;
    std::string comm;
    std::ifstream(std::string("/proc/") + p->d_name + "/comm") >> comm;
    out += (out.empty() ? "" : ", ") + std::string("pid ") + p->d_name + " (" + comm + ")";
  }
  ::closedir(proc);
  return out;
}

// open(2) that refuses to follow a symbolic link (a planted link must not redirect the cache
// onto another file), except one to a block device (/dev/disk/by-id/... names).
int OpenNoFollow(const std::string& path, int flags, std::string* why) {
  int fd = ::open(path.c_str(), flags | O_NOFOLLOW, 0600);
  if (fd >= 0 || errno != ELOOP) return fd;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode))
    return ::open(path.c_str(), flags & ~O_CREAT, 0600);
  *why = "is a symbolic link (refused; give the real path, or a link to a block device)";
  errno = ELOOP;
  return -1;
}

}  // namespace

Result<std::unique_ptr<CacheFile>> UringCacheFile::Open(const std::string& path, bool direct_io) {
  auto f = std::make_unique<UringCacheFile>(Key{});
  f->path_ = path;
  f->direct_io_ = direct_io;
  std::string why;
  auto fail = [&](const char* op) {
    int e = errno;
    return Status::Error(e, std::string(op) + " " + path + ": " + (why.empty() ? std::strerror(e) : why));
  };
  f->meta_fd_ = UniqueFd(OpenNoFollow(path, O_RDWR | O_CREAT | O_CLOEXEC, &why));
  if (f->meta_fd_.get() < 0) return fail("open");
  struct stat st;
  if (::fstat(f->meta_fd_.get(), &st) != 0) return fail("fstat");
  // One server per cache file: the lock lives with the open file description, so nbdkit's
  // forked server keeps it and it goes away with the last descriptor (even after kill -9).
  if (::flock(f->meta_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return fail("flock");
    std::string holders = OpenersOf(st.st_dev, st.st_ino);
    return Status::Error(EBUSY, "open " + path + ": the cache file is in use by another server (" +
                                    (holders.empty() ? std::string("holder unknown") : "held by " + holders) +
                                    "); one cache file serves one server at a time");
  }
  f->data_fd_ = UniqueFd(OpenNoFollow(path, O_RDWR | O_CLOEXEC | (direct_io ? O_DIRECT : 0), &why));
  if (f->data_fd_.get() < 0) return fail(direct_io ? "open (O_DIRECT)" : "open");
  if (S_ISBLK(st.st_mode)) {
    f->block_device_ = true;
    uint64_t bytes = 0;
    if (::ioctl(f->meta_fd_.get(), BLKGETSIZE64, &bytes) != 0) return fail("ioctl BLKGETSIZE64");
    f->size_ = bytes;
  } else if (S_ISREG(st.st_mode)) {
    f->size_ = static_cast<uint64_t>(st.st_size);
  } else {
    return Status::Error(EINVAL, "open " + path + ": not a regular file or block device");
  }
  return std::unique_ptr<CacheFile>(std::move(f));
}

Status UringCacheFile::Reserve(uint64_t bytes) {
  if (bytes <= size_) return Status::Ok();
  if (block_device_)
    return Status::Error(ENOSPC, "open cache " + path_ + ": device has " + std::to_string(size_) +
                                     " bytes, the cache needs " + std::to_string(bytes));
  if (::ftruncate(meta_fd_.get(), static_cast<off_t>(bytes)) != 0) {
    int e = errno;
    return Status::Error(e, "ftruncate " + path_ + ": " + std::strerror(e));
  }
  size_ = bytes;
  return Status::Ok();
}

namespace {

// One op with plain syscalls: EINTR/EAGAIN and short transfers resumed, as the ring does.
Status RunDirect(IoOp& op) {
  if (op.kind == IoOp::Kind::kSync) {
    int rc;
    do rc = ::fdatasync(op.fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) return IoError(op, errno);
    return Status::Ok();
  }
  op.done = 0;
  while (op.done < op.len) {
    ssize_t n = op.kind == IoOp::Kind::kRead
                    ? ::pread(op.fd, op.buf + op.done, op.len - op.done, op.offset + op.done)
                    : ::pwrite(op.fd, op.buf + op.done, op.len - op.done, op.offset + op.done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return IoError(op, errno);
    if (n == 0) return IoError(op, 0);  // EOF: the file is shorter than its geometry
    op.done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status RunCacheIo(std::span<IoOp> ops, bool ring_for_batches) {
  if (ring_for_batches && ops.size() > 1) return RunOnThreadRing(ops);
  for (IoOp& op : ops)
    if (Status s = RunDirect(op); !s.ok()) return s;
  return Status::Ok();
}

Status UringCacheFile::ReadMeta(uint64_t offset, uint8_t* buf, size_t len) {
  IoOp op{IoOp::Kind::kRead, meta_fd_.get(), buf, len, offset};
  return RunDirect(op);
}

Status UringCacheFile::WriteMeta(std::span<IoOp> ops) {
  for (IoOp& op : ops) op.fd = meta_fd_.get();
  return RunCacheIo(ops, false);  // buffered: the ring buys nothing (RunCacheIo)
}

Status UringCacheFile::RunData(std::span<IoOp> ops) {
  for (IoOp& op : ops) op.fd = data_fd_.get();
  return RunCacheIo(ops, direct_io_);
}

Status UringCacheFile::Sync() {
  IoOp op{IoOp::Kind::kSync, data_fd_.get()};
  return RunDirect(op);
}

}  // namespace s3nbd
