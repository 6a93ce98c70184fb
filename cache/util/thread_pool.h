// ThreadPool: a fixed set of worker threads running queued tasks, and RunAll(), which
// runs a batch of tasks in parallel (the caller runs one itself) and waits for all.
// Lock rule: mu_ guards queue_ and stopping_ (annotated); tasks run without it. Tasks must not
// call RunAll on the same pool (a worker waiting on its own pool could deadlock).
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "cache/util/mutex.h"
#include "cache/util/status.h"

namespace s3nbd {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();  // finishes queued tasks, joins the workers
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task) EXCLUDES(mu_);

  // Runs every task, in parallel where workers are free; returns the first non-OK status
  // (by index) after ALL tasks have finished.
  Status RunAll(std::vector<std::function<Status()>>& tasks) EXCLUDES(mu_);

  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void WorkerLoop() EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::jthread> workers_;
};

}  // namespace s3nbd
