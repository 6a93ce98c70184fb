// The kernel's NBD connections: the transmission flags, the refusals, and a real handshake
// with nbdkit's memory plugin on a unix socket (the socket must be left in transmission phase:
// an NBD_CMD_READ written on it by hand gets a simple reply).
#include "daemon/nbd_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/nbd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

namespace s3nbd::cli {
namespace {

TEST(NbdConnectionTest, KernelFlags) {
  EXPECT_EQ(KernelFlags(false, false, false, false, false), uint64_t{NBD_FLAG_HAS_FLAGS});
  EXPECT_EQ(KernelFlags(true, true, true, true, true),
            uint64_t{NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY | NBD_FLAG_SEND_FLUSH |
                     NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_CAN_MULTI_CONN});
}

TEST(NbdConnectionTest, RefusesTlsAndNamesAMissingSocket) {
  ServerPaths p;
  p.socket = "/nonexistent/s3nbd-test.sock";
  p.tls = true;
  NbdExport ex;
  auto r = OpenKernelConnection(p, "v", &ex);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot use TLS"), std::string::npos);
  p.tls = false;
  r = OpenKernelConnection(p, "v", &ex);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("connect to /nonexistent/s3nbd-test.sock"),
            std::string::npos)
      << r.status().message();
}

class NbdkitMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/s3nbd-nbdconn.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    sock_ = dir_ + "/s";
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::execlp("nbdkit", "nbdkit", "-f", "-U", sock_.c_str(), "memory", "1M", nullptr);
      ::_exit(127);
    }
    struct stat st;
    for (int i = 0; i < 300 && ::stat(sock_.c_str(), &st) != 0; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << "nbdkit (memory plugin) did not start";
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(sock_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, sock_;
  pid_t pid_ = -1;
};

TEST_F(NbdkitMemory, HandshakeLeavesTheSocketInTransmission) {
  ServerPaths p;
  p.socket = sock_;
  NbdExport ex;
  auto fd = OpenKernelConnection(p, "v", &ex);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(ex.size, 1048576u);
  EXPECT_TRUE(ex.flags & NBD_FLAG_HAS_FLAGS);
  EXPECT_TRUE(ex.flags & NBD_FLAG_SEND_FLUSH);
  EXPECT_FALSE(ex.flags & NBD_FLAG_READ_ONLY);

  // what the kernel will do: a simple request, a simple reply with the data
  nbd_request req{};
  req.magic = htonl(NBD_REQUEST_MAGIC);
  req.type = htonl(NBD_CMD_READ);
  std::memcpy(req.handle, "s3nbdtst", 8);
  req.len = htonl(4096);
  ASSERT_EQ(::write(fd->get(), &req, sizeof req), static_cast<ssize_t>(sizeof req));
  nbd_reply rep{};
  ASSERT_EQ(::recv(fd->get(), &rep, sizeof rep, MSG_WAITALL), static_cast<ssize_t>(sizeof rep));
  EXPECT_EQ(ntohl(rep.magic), uint32_t{NBD_REPLY_MAGIC});
  EXPECT_EQ(ntohl(rep.error), 0u);
  EXPECT_EQ(std::memcmp(rep.handle, "s3nbdtst", 8), 0);
  char data[4096];
  ASSERT_EQ(::recv(fd->get(), data, sizeof data, MSG_WAITALL), 4096);
  EXPECT_EQ(data[0], 0);
}

TEST(NbdConnectionTest, AServerThatHangsUpFailsTheHandshake) {
  char dir[] = "/tmp/s3nbd-nbdconn.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/s";
  int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(l, 1), 0);
  std::thread t([l] { ::close(::accept(l, nullptr, nullptr)); });
  ServerPaths p;
  p.socket = path;
  NbdExport ex;
  auto r = OpenKernelConnection(p, "v", &ex);
  t.join();
  ::close(l);
  ::unlink(path.c_str());
  ::rmdir(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("NBD handshake"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace s3nbd::cli
