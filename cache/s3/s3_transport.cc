// S3Transport: one signed HTTP exchange per attempt, retried with backoff and bounded by the
// request's deadline. Per-call state lives on the stack; the pool has its own lock; counters
// are relaxed atomics.
#include "cache/s3/s3_transport.h"

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "cache/s3/s3_xml.h"
#include "cache/s3/tls_failure.h"
#include "cache/util/coding.h"
#include "cache/util/log.h"

namespace s3nbd {
namespace {

using Clock = std::chrono::steady_clock;

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

bool HeaderIs(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

std::string HeaderValue(std::string_view line, size_t name_len) {
  std::string_view v = line.substr(name_len + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  return std::string(v);
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<S3Response*>(user);
  std::string_view line(data, size * n);
  if (HeaderIs(line, "etag")) {
    r->etag = HeaderValue(line, 4);
  } else if (HeaderIs(line, "date")) {
    r->date = HeaderValue(line, 4);
  } else if (HeaderIs(line, "content-range")) {
    r->content_range = HeaderValue(line, 13);
  } else if (HeaderIs(line, "retry-after")) {
    r->retry_after = ParseRetryAfter(HeaderValue(line, 11));
  } else if (HeaderIs(line, "content-length")) {
    std::string v = HeaderValue(line, 14);
    char* end = nullptr;
    unsigned long long len = std::strtoull(v.c_str(), &end, 10);
    if (end != v.c_str() && len <= (1ull << 30)) r->body.reserve(len);
  }
  return size * n;
}

double Uniform01() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// Every socket closes with a reset (SO_LINGER {1, 0}): curl closes a connection after its
// exchange ended, when nothing is left unsent, or when it gave up on an attempt (a timeout cut
// at a deadline). Then the kernel must drop the bytes it still holds rather than deliver them
// after the writer lost its lease, and the server must see an aborted request, not a late one.
int ResetOnClose(void* /*user*/, curl_socket_t fd, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN) {
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);  // best effort: a plain close otherwise
  }
  return CURL_SOCKOPT_OK;
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", s);
  return buf;
}

}  // namespace

S3Transport::S3Transport(const S3Config& config, S3Endpoint endpoint, S3Counters* counters)
    : config_(config),
      endpoint_(std::move(endpoint)),
      counters_(counters),
      pool_(static_cast<size_t>(config.max_connections > 0 ? config.max_connections : 1)) {
  retry_.budget_seconds = config.retry_seconds;
}

std::string S3Transport::Label(const std::string& key) const {
  return key.empty() ? config_.bucket : config_.bucket + "/" + key;
}

void S3Transport::Execute(const S3Request& request, S3Response* response) {
  const std::string payload_hash = Sha256Hex(request.body);
  const Clock::time_point start = Clock::now();
  const int64_t deadline = request.deadline.steady_ns;
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  for (int attempt = 1;; ++attempt) {
    long timeout_ms = config_.request_timeout_ms;
    bool cut = false;  // this attempt's timeout is the deadline's, not request-timeout
    if (deadline != 0) {
      const int64_t left_ms = (deadline - SteadyNowNs()) / 1000000;
      if (left_ms <= 0) {  // no attempt starts at or after the deadline
        response->abandoned = true;
        response->abandon_cause = request.deadline.cause;
        response->elapsed_seconds = elapsed();
        return;
      }
      cut = left_ms < timeout_ms;
      timeout_ms = std::min<long>(timeout_ms, static_cast<long>(left_ms));
    }
    Attempt(request, payload_hash, timeout_ms, response);
    response->attempts = attempt;
    response->elapsed_seconds = elapsed();
    if (response->ok()) return;
    AttemptOutcome outcome{response->curl_code, response->http_status, response->s3_code};
    if (!IsRetryable(outcome)) return;                 // a definite answer, even a late one
    // Cut at the deadline (curl's timer may fire a little before it), or failed just then.
    if ((cut && response->curl_code == CURLE_OPERATION_TIMEDOUT) || (deadline != 0 && SteadyNowNs() >= deadline)) {
      response->abandoned = true;
      response->abandon_cause = request.deadline.cause;
      return;
    }
    std::optional<double> delay = NextRetryDelay(retry_, attempt, response->elapsed_seconds,
                                                 response->retry_after, Uniform01());
    if (!delay) return;
    if (deadline != 0 && SteadyNowNs() + static_cast<int64_t>(*delay * 1e9) >= deadline) {
      response->abandoned = true;  // the retry could not start before the deadline
      response->abandon_cause = request.deadline.cause;
      return;
    }
    counters_->retries.fetch_add(1, std::memory_order_relaxed);
    LogDebug(request.method + " " + Label(request.key) + ": attempt " + std::to_string(attempt) +
             " failed (" + Describe(request.method + " " + Label(request.key), *response, /*final=*/false).message() + "); retrying in " +
             std::to_string(static_cast<int>(*delay * 1000)) + " ms");
    std::this_thread::sleep_for(std::chrono::duration<double>(*delay));
  }
}

void S3Transport::Attempt(const S3Request& request, const std::string& payload_hash, long timeout_ms,
                          S3Response* response) {
  std::string body = std::move(response->body);  // keep the caller's buffer (see S3Client::Get)
  body.clear();
  *response = S3Response();
  response->body = std::move(body);
  CurlHandlePool::Lease lease = pool_.Acquire();
  CURL* h = lease.get();
  if (h == nullptr) {
    response->curl_code = CURLE_OUT_OF_MEMORY;
    response->curl_error = "cannot allocate a curl handle";
    return;
  }
  // Asked per attempt: a retry after a refresh signs with the new credentials.
  Result<std::shared_ptr<const Credentials>> creds = config_.credential_source->Get();
  if (!creds.ok()) {
    response->curl_code = CURLE_LOGIN_DENIED;  // no request was sent; see Describe
    response->curl_error = creds.status().message();
    return;
  }
  const Credentials& cred = **creds;
  const S3Target target =
      BuildTarget(endpoint_, config_.bucket, config_.virtual_host, request.key, request.query);
  HeaderList headers = {{"Host", target.host},
                        {"x-amz-date", AmzDate(std::time(nullptr))},
                        {"x-amz-content-sha256", payload_hash}};
  if (!cred.session_token.empty()) headers.emplace_back("x-amz-security-token", cred.session_token);
  for (const auto& h2 : request.headers) headers.push_back(h2);

  CurlHeaderList list;
  for (const auto& [name, value] : headers) list.Append(name + ": " + value);
  if (!cred.anonymous()) {
    SigV4Request sig{request.method, target.canonical_uri, request.query, headers, payload_hash,
                     config_.region, "s3", headers[1].second};
    list.Append("Authorization: " + SignV4(sig, cred).authorization);
  }
  list.Append("Expect:");        // no 100-continue round trip (not signed: never sent)
  bool has_content_type = false;
  for (const auto& h2 : request.headers) {
    has_content_type |= HeaderIs(h2.first + ":", "content-type");
  }
  // Without our own, drop curl's form default for POSTFIELDS (it would be sent unsigned).
  if (!has_content_type) list.Append("Content-Type:");

  curl_easy_setopt(h, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, ResetOnClose);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response->body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, response);

  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // POSTFIELDS sends straight from our buffer and rewinds by itself on every attempt.
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    if (request.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  counters_->bytes_out.fetch_add(request.body.size(), std::memory_order_relaxed);
  if (rc != CURLE_OK) {
    response->curl_code = rc;
    response->curl_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (endpoint_.scheme == "https") {
      curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &response->tls_verify_result);
    }
    response->body.clear();
    return;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response->http_status);
  if (response->http_status >= 200 && response->http_status < 300) {
    counters_->bytes_in.fetch_add(response->body.size(), std::memory_order_relaxed);
  } else if (!response->body.empty()) {
    S3XmlError e = ParseErrorDocument(response->body);
    response->s3_code = e.code;
    response->s3_message = e.message;
  }
}

// What one attempt produced, e.g. "HTTP 503 SlowDown: <message>".
std::string S3Transport::AttemptMessage(const S3Response& r) const {
  if (r.curl_code == CURLE_LOGIN_DENIED) return r.curl_error;  // no credentials to sign with (Attempt)
  if (r.curl_code != 0 && endpoint_.scheme == "https") {
    const bool vh = config_.virtual_host;
    std::string tls = DescribeTlsFailure({r.curl_code, r.tls_verify_result, r.curl_error,
                                          vh ? config_.bucket + "." + endpoint_.host : endpoint_.host,
                                          config_.ca_file, vh ? endpoint_.host : "", config_.endpoint});
    if (!tls.empty()) return tls;
  }
  if (r.curl_code != 0) return "cannot reach " + config_.endpoint + ": " + r.curl_error;
  if (r.s3_code == "NoSuchBucket") return "bucket '" + config_.bucket + "' does not exist at " + config_.endpoint;
  std::string msg = "HTTP " + std::to_string(r.http_status);
  if (!r.s3_code.empty()) msg += " " + r.s3_code;
  if (!r.s3_message.empty()) msg += ": " + r.s3_message;
  std::string hint = HintForS3Code(r.s3_code);
  if (hint.empty() && r.http_status == 403 && r.s3_code.empty()) hint = "access denied: check the credentials";
  if (!hint.empty()) msg += " (" + hint + ")";
  return msg;
}

Status S3Transport::Describe(const std::string& operation, const S3Response& r, bool final) const {
  if (r.abandoned) {
    std::string msg = operation + ": abandoned: " + (r.abandon_cause.empty() ? "deadline passed" : r.abandon_cause);
    if (r.attempts == 0) return Status::Error(EROFS, msg + " (no attempt started)");
    return Status::Error(EROFS, msg + " (after " + std::to_string(r.attempts) + " attempt" +
                                    (r.attempts > 1 ? "s" : "") + " in " + FormatSeconds(r.elapsed_seconds) +
                                    " s; the last: " + AttemptMessage(r) + ")");
  }
  std::string msg = AttemptMessage(r);
  if (final && r.attempts > 1) {
    msg += " (gave up after " + std::to_string(r.attempts) + " attempts in " +
           FormatSeconds(r.elapsed_seconds) + " s)";
  }
  AttemptOutcome outcome{r.curl_code, r.http_status, r.s3_code};
  return Status::Error(ErrnoForOutcome(outcome), operation + ": " + msg);
}

}  // namespace s3nbd
