// HttpCall on libcurl; see credential_http.h. Each call owns its handle; no shared state.
#include "cache/s3/credential_http.h"

#include <chrono>
#include <thread>

#include "cache/s3/curl_handle_pool.h"
#include "cache/s3/tls_failure.h"

namespace s3nbd {
namespace {

size_t Append(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() + size * n > (1u << 20)) return 0;  // no credential document is this big
  s->append(data, size * n);
  return size * n;
}

}  // namespace

std::string UrlForMessages(const std::string& url) {
  size_t q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q);
}

Result<HttpReply> HttpCall(const HttpExchange& x) {
  EnsureCurlGlobalInit();
  const std::string what = x.method + " " + UrlForMessages(x.url);
  std::string last_error;
  int last_errno = EIO;
  HttpReply reply;
  for (int attempt = 1; attempt <= std::max(1, x.attempts); ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (attempt - 2)));
    CurlEasyPtr h(curl_easy_init());
    if (!h) return Status::Error(ENOMEM, what + ": cannot allocate a curl handle");
    CurlHeaderList list;
    for (const auto& [name, value] : x.headers) list.Append(name + ": " + value);
    list.Append("Expect:");
    reply = HttpReply();
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h.get(), CURLOPT_URL, x.url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, x.connect_timeout_ms);
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, x.timeout_ms);
    curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h.get(), CURLOPT_NOPROXY, "*");  // metadata endpoints are never proxied
    if (!x.ca_file.empty()) curl_easy_setopt(h.get(), CURLOPT_CAINFO, x.ca_file.c_str());
    curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &reply.body);
    if (x.method == "PUT" || x.method == "POST") {
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(x.body.size()));
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, x.body.c_str());
      if (x.method == "PUT") curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
      curl_easy_setopt(h.get(), CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h.get());
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &reply.status);
      if (reply.status < 500) return reply;
      last_error = "HTTP " + std::to_string(reply.status);
      last_errno = EIO;
      continue;
    }
    last_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    last_errno = rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT
                 : (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) ? EHOSTUNREACH
                                                                                      : EIO;
    long verify = 0;
    curl_easy_getinfo(h.get(), CURLINFO_SSL_VERIFYRESULT, &verify);
    std::string tls = DescribeTlsFailure({rc, verify, last_error, HostOfUrl(x.url), x.ca_file});
    if (!tls.empty()) {
      last_error = tls;
      if (rc != CURLE_SSL_CONNECT_ERROR) break;  // a certificate or CA file does not heal
    }
  }
  if (reply.status >= 500) return reply;  // the caller reports the body's error
  return Status::Error(last_errno, what + ": " + last_error);
}

}  // namespace s3nbd
