// CurlHandlePool implementation. mu_ guards the idle list and the count of live handles.
#include "cache/s3/curl_handle_pool.h"

#include <mutex>

namespace s3nbd {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

CurlHandlePool::CurlHandlePool(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  EnsureCurlGlobalInit();
}

CurlHandlePool::Lease CurlHandlePool::Acquire() {
  MutexLock lock(&mu_);
  while (idle_.empty() && created_ >= capacity_) cv_.Wait(&mu_);
  if (!idle_.empty()) {
    CurlEasyPtr h = std::move(idle_.back());
    idle_.pop_back();
    lock.Unlock();
    curl_easy_reset(h.get());  // clears options, keeps the connection and DNS caches
    return Lease(this, std::move(h));
  }
  ++created_;
  lock.Unlock();
  CurlEasyPtr h(curl_easy_init());
  if (!h) {
    Forget();
    return Lease(this, nullptr);
  }
  return Lease(this, std::move(h));
}

void CurlHandlePool::Release(CurlEasyPtr handle) {
  {
    MutexLock lock(&mu_);
    idle_.push_back(std::move(handle));
  }
  cv_.NotifyOne();
}

void CurlHandlePool::Forget() {
  {
    MutexLock lock(&mu_);
    --created_;
  }
  cv_.NotifyOne();
}

}  // namespace s3nbd
