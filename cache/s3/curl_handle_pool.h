// CurlHandlePool: a bounded pool of libcurl easy handles. A caller borrows a handle for one
// request (a Lease) and it returns to the pool when the Lease dies, keeping its connection
// alive for the next borrower. Acquire() blocks while all `capacity` handles are out.
// Locking: mu_ guards idle_ and created_ (annotated); a leased handle is used by one thread only.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <vector>

#include "cache/util/mutex.h"

namespace s3nbd {

// Calls curl_global_init once per process (std::call_once); safe from any thread.
void EnsureCurlGlobalInit();

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
// Owns a header list; Append keeps ownership on failure-free paths.
class CurlHeaderList {
 public:
  void Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_.get(), line.c_str());
    if (next != nullptr) {
      list_.release();
      list_.reset(next);
    }
  }
  curl_slist* get() const { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, CurlSlistDeleter> list_;
};

class CurlHandlePool {
 public:
  class Lease {
   public:
    Lease(CurlHandlePool* pool, CurlEasyPtr handle) : pool_(pool), handle_(std::move(handle)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (handle_) pool_->Release(std::move(handle_));
    }
    CURL* get() const { return handle_.get(); }
    // Drops the handle (and its connection) instead of returning it, e.g. after a protocol
    // error that leaves the connection in an unknown state.
    void Discard() {
      if (handle_) pool_->Forget();
      handle_.reset();
    }

   private:
    CurlHandlePool* pool_;
    CurlEasyPtr handle_;
  };

  explicit CurlHandlePool(size_t capacity);
  CurlHandlePool(const CurlHandlePool&) = delete;
  CurlHandlePool& operator=(const CurlHandlePool&) = delete;

  // Borrows a handle (reset to default options, connection cache kept). Null get() if
  // libcurl cannot allocate one.
  Lease Acquire() EXCLUDES(mu_);

 private:
  void Release(CurlEasyPtr handle) EXCLUDES(mu_);
  void Forget() EXCLUDES(mu_);

  const size_t capacity_;
  Mutex mu_;
  CondVar cv_;
  std::vector<CurlEasyPtr> idle_ GUARDED_BY(mu_);
  size_t created_ GUARDED_BY(mu_) = 0;  // handles alive (idle + leased)
};

}  // namespace s3nbd
