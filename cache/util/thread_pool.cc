// ThreadPool; see thread_pool.h.
#include "cache/util/thread_pool.h"

#include <atomic>
#include <memory>

namespace s3nbd {

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  workers_.reserve(threads);
  for (int i = 0; i < threads; i++) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  workers_.clear();  // jthread joins
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
  }
  cv_.NotifyOne();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {

// Completion state of one RunAll batch, shared with the submitted tasks.
struct Batch {
  Mutex mu;
  CondVar done_cv;
  size_t remaining GUARDED_BY(mu) = 0;
  std::vector<Status> results GUARDED_BY(mu);
};

}  // namespace

Status ThreadPool::RunAll(std::vector<std::function<Status()>>& tasks) {
  if (tasks.empty()) return Status::Ok();
  if (tasks.size() == 1) return tasks[0]();

  auto batch = std::make_shared<Batch>();
  {
    MutexLock lock(&batch->mu);  // not shared yet; the lock satisfies the annotations
    batch->remaining = tasks.size() - 1;
    batch->results.resize(tasks.size());
  }
  for (size_t i = 1; i < tasks.size(); i++) {
    Submit([batch, &task = tasks[i], i] {
      Status s = task();
      MutexLock lock(&batch->mu);
      batch->results[i] = std::move(s);
      if (--batch->remaining == 0) batch->done_cv.NotifyOne();
    });
  }
  Status first = tasks[0]();
  MutexLock lock(&batch->mu);
  while (batch->remaining != 0) batch->done_cv.Wait(&batch->mu);
  if (!first.ok()) return first;
  for (auto& s : batch->results)
    if (!s.ok()) return s;
  return Status::Ok();
}

}  // namespace s3nbd
