// MemoryS3Server: an in-memory S3 object store over HTTP/1.1 on 127.0.0.1 for tests of logic
// that needs S3 semantics, not a script: path-style GET (also ranged)/PUT/DELETE of objects,
// HEAD of the bucket, ListObjectsV2 with max-keys paging and start-after, multi-delete, GetBucketVersioning, a
// Date header, and the provider behaviours a probe must tell apart, chosen per server
// (MemoryS3Behaviour: create-only and conditional PUT honoured or ignored, as s3rver ignores
// If-None-Match: *; no multi-delete; Range or max-keys ignored; paging that fails; a skewed clock; one accepted
// access key).
// One connection per request; one server thread. mu_ guards objects_, the log and the hook;
// tests read and change them through the locked accessors.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace s3nbd {

struct MemoryS3Behaviour {
  bool honour_if_none_match = true;  // false: a create-only PUT overwrites (s3rver)
  // If-Match: kHonour compares with the ETag; kIgnore writes anyway; kNeverMatch answers 412
  // even to the right ETag (Pacific RGW with quoted ETags).
  enum class IfMatch { kHonour, kIgnore, kNeverMatch } if_match = IfMatch::kHonour;
  bool multi_delete = true;   // false: POST ?delete is 501 NotImplemented
  bool honour_range = true;   // false: a ranged GET gets the whole object with 200
  bool paging = true;         // false: max-keys is ignored (one page with everything)
  bool paging_error = false;  // a listing that needs more than one page is 500 (s3rver on
                              // OpenSSL 3 cannot make continuation tokens)
  std::string versioning;     // GetBucketVersioning's Status: "", "Enabled", "Suspended"
  int clock_skew_seconds = 0; // the Date header is this far from the real time
  std::string access_key;     // non-empty: requests signed with another key get 403
};

class MemoryS3Server {
 public:
  MemoryS3Server(std::string bucket, bool honour_if_none_match)
      : MemoryS3Server(std::move(bucket), WithCreateOnly(honour_if_none_match)) {}
  MemoryS3Server(std::string bucket, MemoryS3Behaviour behaviour)
      : bucket_(std::move(bucket)), behaviour_(std::move(behaviour)) {
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
  // "PUT key", "GET key", "DELETE key", "HEAD " (bucket), "LIST prefix", "POST ?delete",
  // "GET ?versioning" in arrival order.
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
  // The ETag this server gives `body` (quoted).
  static std::string EtagOf(const std::string& body) {
    return "\"" + std::to_string(std::hash<std::string>{}(body)) + "\"";
  }

 private:
  struct Reply {
    int status = 200;
    std::string body;
    std::string headers;  // extra "Name: value\r\n" lines
  };
  struct Request {
    std::string method, key, body, lower_head;
    std::map<std::string, std::string> query;
  };

  static MemoryS3Behaviour WithCreateOnly(bool honour) {
    MemoryS3Behaviour b;
    b.honour_if_none_match = honour;
    return b;
  }

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
    std::string head = data.substr(0, head_end);
    Request req;
    req.body = data.substr(head_end + 4);
    req.lower_head = Lower(head);
    size_t length = 0;
    if (size_t cl = req.lower_head.find("\ncontent-length:"); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 16));
    while (req.body.size() < length) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      req.body.append(buf, n);
    }
    req.method = head.substr(0, head.find(' '));
    size_t p0 = head.find(' ') + 1;
    std::string target = head.substr(p0, head.find(' ', p0) - p0);
    std::string path = target.substr(0, target.find('?'));
    if (size_t q = target.find('?'); q != std::string::npos) req.query = ParseQuery(target.substr(q + 1));
    Reply r = Answer(path, &req);
    std::string out = "HTTP/1.1 " + std::to_string(r.status) +
                      " X\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\nDate: " + HttpDate() + "\r\n" + r.headers +
                      "\r\n" + (req.method == "HEAD" ? "" : r.body);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(c, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += n;
    }
  }

  Reply Answer(const std::string& path, Request* req) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string root = "/" + bucket_;
    if (path != root && path.rfind(root + "/", 0) != 0) return {404, Error("NoSuchBucket")};
    if (!behaviour_.access_key.empty() &&
        req->lower_head.find("credential=" + Lower(behaviour_.access_key) + "/") == std::string::npos)
      return {403, Error("InvalidAccessKeyId")};
    req->key = path.size() > root.size() + 1 ? Decode(path.substr(root.size() + 1)) : "";
    if (req->key.empty()) return BucketRequest(*req);
    log_.push_back(req->method + " " + req->key);
    if (req->method == "GET") return GetObject(*req);
    if (req->method == "DELETE") {
      objects_.erase(req->key);
      return {204, ""};
    }
    if (req->method == "PUT") return PutObject(*req);
    return {405, Error("MethodNotAllowed")};
  }

  Reply BucketRequest(const Request& req) {
    if (req.method == "HEAD") {
      log_.push_back("HEAD ");
      return {200, ""};
    }
    if (req.method == "GET" && req.query.count("versioning")) {
      log_.push_back("GET ?versioning");
      std::string status = behaviour_.versioning.empty()
                               ? ""
                               : "<Status>" + behaviour_.versioning + "</Status>";
      return {200, "<VersioningConfiguration>" + status + "</VersioningConfiguration>"};
    }
    if (req.method == "GET") {
      log_.push_back("LIST " + Param(req, "prefix"));
      std::string xml = ListXml(req);
      return {xml.find("<Error>") == std::string::npos ? 200 : 500, xml};
    }
    if (req.method == "POST" && req.query.count("delete")) {
      log_.push_back("POST ?delete");
      if (!behaviour_.multi_delete) return {501, Error("NotImplemented")};
      for (size_t k = req.body.find("<Key>"); k != std::string::npos; k = req.body.find("<Key>", k + 5)) {
        size_t end = req.body.find("</Key>", k);
        if (end == std::string::npos) return {400, Error("MalformedXML")};
        objects_.erase(XmlText(req.body.substr(k + 5, end - k - 5)));
      }
      return {200, "<DeleteResult></DeleteResult>"};
    }
    log_.push_back(req.method + " ");
    return {400, Error("InvalidRequest")};
  }

  Reply GetObject(const Request& req) {
    auto it = objects_.find(req.key);
    if (it == objects_.end()) return {404, Error("NoSuchKey")};
    const std::string etag = "ETag: " + EtagOf(it->second) + "\r\n";
    size_t r = req.lower_head.find("\nrange: bytes=");
    if (r == std::string::npos || !behaviour_.honour_range) return {200, it->second, etag};
    size_t first = std::stoul(req.lower_head.substr(r + 14));
    size_t last = std::stoul(req.lower_head.substr(req.lower_head.find('-', r + 14) + 1));
    const size_t size = it->second.size();
    if (first >= size) return {416, Error("InvalidRange")};
    last = std::min(last, size - 1);  // a range past the end is cut there, as S3 does
    return {206, it->second.substr(first, last - first + 1),
            etag + "Content-Range: bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                std::to_string(size) + "\r\n"};
  }

  Reply PutObject(const Request& req) {
    auto it = objects_.find(req.key);
    const bool create_only = req.lower_head.find("\nif-none-match: *") != std::string::npos;
    if (create_only && behaviour_.honour_if_none_match && it != objects_.end())
      return {412, Error("PreconditionFailed")};
    if (size_t m = req.lower_head.find("\nif-match: "); m != std::string::npos) {
      std::string want = req.lower_head.substr(m + 11, req.lower_head.find("\r\n", m + 1) - m - 11);
      bool matches = it != objects_.end() && want == Lower(EtagOf(it->second));
      if (behaviour_.if_match == MemoryS3Behaviour::IfMatch::kNeverMatch ||
          (behaviour_.if_match == MemoryS3Behaviour::IfMatch::kHonour && !matches))
        return {412, Error("PreconditionFailed")};
    }
    objects_[req.key] = req.body;
    if (on_put_) on_put_(req.key, &objects_);
    return {200, "", "ETag: " + EtagOf(req.body) + "\r\n"};
  }

  // ListObjectsV2; the continuation token is the last key of the previous page.
  std::string ListXml(const Request& req) const {
    const std::string prefix = Param(req, "prefix"), token = Param(req, "continuation-token");
    size_t max_keys = 1000;
    if (behaviour_.paging && req.query.count("max-keys")) max_keys = std::stoul(Param(req, "max-keys"));
    if (!behaviour_.paging) max_keys = static_cast<size_t>(-1);
    std::string contents, last;
    size_t n = 0;
    bool truncated = false;
    const std::string start_after = Param(req, "start-after");  // ignored with a token, as in S3
    auto it = !token.empty() ? objects_.upper_bound(token)
              : !start_after.empty() ? objects_.upper_bound(start_after) : objects_.begin();
    for (; it != objects_.end(); ++it) {
      if (it->first.rfind(prefix, 0) != 0) continue;
      if (n == max_keys) {
        truncated = true;
        break;
      }
      contents += "<Contents><Key>" + it->first + "</Key><Size>" + std::to_string(it->second.size()) +
                  "</Size><ETag>" + EtagOf(it->second) + "</ETag></Contents>";
      last = it->first;
      ++n;
    }
    if (truncated && behaviour_.paging_error) return Error("InternalError");
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><IsTruncated>" +
                      std::string(truncated ? "true" : "false") + "</IsTruncated>";
    if (truncated) xml += "<NextContinuationToken>" + last + "</NextContinuationToken>";
    return xml + contents + "</ListBucketResult>";
  }

  std::string HttpDate() const {
    std::time_t t = std::time(nullptr) + behaviour_.clock_skew_seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
  }
  static std::string Param(const Request& req, const std::string& name) {
    auto it = req.query.find(name);
    return it == req.query.end() ? "" : it->second;
  }
  static std::map<std::string, std::string> ParseQuery(const std::string& qs) {
    std::map<std::string, std::string> out;
    for (size_t pos = 0; pos <= qs.size();) {
      size_t amp = qs.find('&', pos);
      if (amp == std::string::npos) amp = qs.size();
      std::string part = qs.substr(pos, amp - pos);
      size_t eq = part.find('=');
      if (!part.empty())
        out[Decode(part.substr(0, eq))] = eq == std::string::npos ? "" : Decode(part.substr(eq + 1));
      pos = amp + 1;
    }
    return out;
  }
  static std::string XmlText(std::string s) {
    const std::pair<const char*, const char*> entities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const auto& [from, to] : entities)
      for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1))
        s.replace(p, std::string(from).size(), to);
    return s;
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
  const MemoryS3Behaviour behaviour_;
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
