// FakeS3Server: a scripted HTTP/1.1 server on 127.0.0.1 for S3Client tests. It answers each
// request with the next scripted response (the last one repeats), or with what a handler
// returns, optionally after a delay (then it notes whether the client reset the connection
// meanwhile), closes the connection after each answer, and records what it received. One
// server thread; mu_ guards the script and log; a handler runs on the server thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace s3nbd {

struct FakeResponse {
  int status = 200;
  std::string body;
  std::string extra_headers;  // "Name: value\r\n" lines
  int delay_ms = 0;           // wait this long before answering
  bool echo_put = false;      // the body is that of the last PUT received
};

struct FakeRequest {
  std::string head;  // request line + headers
  std::string body;
  bool client_reset = false;  // the client reset the connection during the delay (RST)
  bool client_closed = false; // the client closed it during the delay (FIN)
};

class FakeS3Server {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeS3Server(Handler handler) : FakeS3Server(std::vector<FakeResponse>{FakeResponse{}}) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  explicit FakeS3Server(std::vector<FakeResponse> script) : script_(std::move(script)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeS3Server() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  FakeS3Server(const FakeS3Server&) = delete;
  FakeS3Server& operator=(const FakeS3Server&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakeRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Handle(c);
      close(c);
    }
  }

  void Handle(int c) {
    std::string data;
    char buf[65536];
    size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      data.append(buf, n);
      head_end = data.find("\r\n\r\n");
    }
    FakeRequest req{data.substr(0, head_end), data.substr(head_end + 4)};
    size_t length = 0;
    size_t cl = Lower(req.head).find("\ncontent-length:");
    if (cl != std::string::npos) length = std::stoul(req.head.substr(cl + 16));
    while (req.body.size() < length) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      req.body.append(buf, n);
    }
    FakeResponse resp;
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t i = std::min(next_++, script_.size() - 1);
      resp = script_[i];
      handler = handler_;
    }
    if (handler) resp = handler(req);
    if (req.head.rfind("PUT ", 0) == 0) last_put_ = req.body;
    if (resp.echo_put) resp.body = last_put_;
    if (resp.delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(resp.delay_ms));
      ssize_t n = recv(c, buf, 1, MSG_DONTWAIT);
      req.client_reset = n < 0 && errno == ECONNRESET;
      req.client_closed = n == 0;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    bool head = req.head.rfind("HEAD ", 0) == 0;
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\nContent-Length: " +
                      std::to_string(resp.body.size()) + "\r\nConnection: close\r\n" +
                      resp.extra_headers + "\r\n" + (head ? "" : resp.body);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += n;
    }
  }

  static std::string Lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<FakeResponse> script_;   // GUARDED_BY(mu_)
  Handler handler_;                    // GUARDED_BY(mu_); set once, before any request
  size_t next_ = 0;                    // GUARDED_BY(mu_)
  std::vector<FakeRequest> requests_;  // GUARDED_BY(mu_)
  std::string last_put_;               // the server thread's own
};

}  // namespace s3nbd
