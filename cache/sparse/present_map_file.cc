// PresentMapFile; see present_map_file.h.
#include "cache/sparse/present_map_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[8] = {'S', '3', 'N', 'B', 'D', 'P', 'M', '1'};
constexpr size_t kHeader = 8 + 16 + 32 + 8;  // magic, uuid, token, block count
constexpr uint64_t kSeed = 0x53334e42504d;

class Fd {  // RAII file descriptor
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
 private:
  int fd_;
};

Status Errno(const std::string& what) { return Status::Error(errno, what + ": " + std::strerror(errno)); }

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDir(const std::string& path) {
  Fd dir(::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Errno("open directory of " + path);
  if (::fsync(dir.get()) != 0) return Errno("fsync directory of " + path);
  return Status::Ok();
}

}  // namespace

std::string NewWriterToken() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    for (auto& c : raw) c = static_cast<unsigned char>(std::rand());  // still unique enough
  }
  char hex[33];
  for (int i = 0; i < 16; i++) std::snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  return std::string(hex, 32);
}

std::string EncodePresentMap(const PresentMapImage& image) {
  std::string out(kHeader, '\0');
  std::memcpy(out.data(), kMagic, 8);
  std::memcpy(out.data() + 8, image.volume_uuid.data(), 16);
  std::memcpy(out.data() + 24, image.writer_token.data(), std::min<size_t>(32, image.writer_token.size()));
  PutLE(out.data() + 56, image.block_count);
  out.resize(kHeader + 8 * image.words.size() + 8);
  for (size_t w = 0; w < image.words.size(); w++) PutLE(out.data() + kHeader + 8 * w, image.words[w]);
  PutLE(out.data() + out.size() - 8, XXH3_64bits_withSeed(out.data(), out.size() - 8, kSeed));
  return out;
}

Result<PresentMapImage> DecodePresentMap(std::string_view bytes) {
  auto bad = [](const std::string& why) { return Status::Error(EINVAL, "present map file: " + why); };
  if (bytes.size() < kHeader + 8) return bad("too short");
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) return bad("bad magic");
  auto le64 = [&](size_t off) { return GetLE<uint64_t>(bytes.data() + off); };
  uint64_t sum = le64(bytes.size() - 8);
  if (XXH3_64bits_withSeed(bytes.data(), bytes.size() - 8, kSeed) != sum) return bad("checksum mismatch");
  PresentMapImage image;
  std::memcpy(image.volume_uuid.data(), bytes.data() + 8, 16);
  image.writer_token.assign(bytes.data() + 24, 32);
  image.block_count = le64(56);
  uint64_t words = (image.block_count + 63) / 64;
  if (bytes.size() != kHeader + 8 * words + 8) return bad("length does not match its block count");
  image.words.resize(words);
  for (uint64_t w = 0; w < words; w++) image.words[w] = le64(kHeader + 8 * w);
  return image;
}

Status SavePresentMap(const std::string& path, const PresentMapImage& image) {
  std::string bytes = EncodePresentMap(image);
  std::string tmp = path + ".tmp";
  {
    // A fresh file, never through a symlink or into an existing file someone planted there
    // (an unlink that fails shows as the create's error below).
    (void)::unlink(tmp.c_str());
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Errno("save present map " + tmp);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("save present map " + tmp);
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return Errno("save present map " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("save present map " + path);
  return SyncDir(path);
}

Result<PresentMapImage> TakePresentMap(const std::string& path) {
  std::string bytes;
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));  // ELOOP for a symlink
    if (fd.get() < 0) return Errno("load present map " + path);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("load present map " + path);
      if (n == 0) break;
      bytes.append(buf, static_cast<size_t>(n));
    }
  }
  if (::unlink(path.c_str()) != 0) return Errno("remove present map " + path);
  if (Status s = SyncDir(path); !s.ok()) return s;
  return DecodePresentMap(bytes);
}

}  // namespace s3nbd
