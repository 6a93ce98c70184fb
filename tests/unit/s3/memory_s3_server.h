// MemoryS3Server: an in-memory S3 object store over HTTP/1.1 on 127.0.0.1 for tests of logic
// that needs S3 semantics, not a script: path-style GET/PUT/DELETE of objects, HEAD of the
// bucket, one-page ListObjectsV2, and PUT If-None-Match: * honoured (412) or ignored (overwrite, as
// s3rver does) by choice. One connection per request; one server thread. mu_ guards objects_, the
// log and the hook; tests read and change them through the locked accessors.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace s3nbd {

class MemoryS3Server {
 public:
  MemoryS3Server(std::string bucket, bool honour_if_none_match)
      : bucket_(std::move(bucket)), honour_(honour_if_none_match) {
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
  ~MemoryS3Server() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  MemoryS3Server(const MemoryS3Server&) = delete;
  MemoryS3Server& operator=(const MemoryS3Server&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::map<std::string, std::string> objects() {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_;
  }
  void SetObject(const std::string& key, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    objects_[key] = body;
  }
  // "PUT key", "GET key", "DELETE key", "HEAD " (bucket) in arrival order.
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  // Runs (under the lock, on the objects) after each successful object PUT: a concurrent writer.
  void OnPut(
      std::function<void(const std::string& key, std::map<std::string, std::string>* objects)>
          hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_put_ = std::move(hook);
  }

 private:
  struct Reply {
    int status = 200;
    std::string body;
  };

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
    std::string head = data.substr(0, head_end), body = data.substr(head_end + 4);
    std::string lower = Lower(head);
    size_t length = 0;
    if (size_t cl = lower.find("\ncontent-length:"); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 16));
    while (body.size() < length) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      body.append(buf, n);
    }
    std::string method = head.substr(0, head.find(' '));
    size_t p0 = head.find(' ') + 1;
    std::string target = head.substr(p0, head.find(' ', p0) - p0);
    std::string path = target.substr(0, target.find('?'));
    std::string prefix;
    if (size_t q = target.find("prefix="); q != std::string::npos && target.find('?') < q)
      prefix = Decode(target.substr(q + 7, target.find('&', q) - q - 7));
    bool create_only = lower.find("\nif-none-match: *") != std::string::npos;
    Reply r = Answer(method, path, body, create_only, prefix);
    std::string out = "HTTP/1.1 " + std::to_string(r.status) +
                      " X\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\nETag: \"e\"\r\n\r\n" +
                      (method == "HEAD" ? "" : r.body);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(c, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += n;
    }
  }

  Reply Answer(const std::string& method, const std::string& path, const std::string& body,
               bool create_only, const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string root = "/" + bucket_;
    if (path.rfind(root, 0) != 0) return {404, Error("NoSuchBucket")};
    std::string key = path.size() > root.size() + 1 ? Decode(path.substr(root.size() + 1)) : "";
    log_.push_back(method + " " + key);
    if (key.empty() && method == "GET") return {200, ListXml(prefix)};  // ListObjectsV2, one page
    if (key.empty()) return method == "HEAD" ? Reply{200, ""} : Reply{400, Error("InvalidRequest")};
    auto it = objects_.find(key);
    if (method == "GET")
      return it == objects_.end() ? Reply{404, Error("NoSuchKey")} : Reply{200, it->second};
    if (method == "DELETE") {
      objects_.erase(key);
      return {204, ""};
    }
    if (method == "PUT") {
      if (create_only && honour_ && it != objects_.end()) return {412, Error("PreconditionFailed")};
      objects_[key] = body;
      if (on_put_) on_put_(key, &objects_);
      return {200, ""};
    }
    return {405, Error("MethodNotAllowed")};
  }

  std::string ListXml(const std::string& prefix) const {
    std::string xml =
        "<?xml version=\"1.0\" "
        "encoding=\"UTF-8\"?><ListBucketResult><IsTruncated>false</IsTruncated>";
    for (const auto& [k, v] : objects_)
      if (k.rfind(prefix, 0) == 0)
        xml += "<Contents><Key>" + k + "</Key><Size>" + std::to_string(v.size()) +
               "</Size><ETag>\"e\"</ETag></Contents>";
    return xml + "</ListBucketResult>";
  }
  static std::string Error(const std::string& code) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
           code + "</Message></Error>";
  }
  static std::string Decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string Lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  const std::string bucket_;
  const bool honour_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> objects_;  // GUARDED_BY(mu_)
  std::vector<std::string> log_;                // GUARDED_BY(mu_)
  std::function<void(const std::string&, std::map<std::string, std::string>*)>
      on_put_;  // GUARDED_BY(mu_)
};

}  // namespace s3nbd
