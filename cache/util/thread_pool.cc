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
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  workers_.clear();  // jthread joins
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
  std::mutex mu;
  std::condition_variable done_cv;
  size_t remaining;
  std::vector<Status> results;
};

}  // namespace

Status ThreadPool::RunAll(std::vector<std::function<Status()>>& tasks) {
  if (tasks.empty()) return Status::Ok();
  if (tasks.size() == 1) return tasks[0]();

  auto batch = std::make_shared<Batch>();
  batch->remaining = tasks.size() - 1;
  batch->results.resize(tasks.size());
  for (size_t i = 1; i < tasks.size(); i++) {
    Submit([batch, &task = tasks[i], i] {
      Status s = task();
      std::lock_guard lock(batch->mu);
      batch->results[i] = std::move(s);
      if (--batch->remaining == 0) batch->done_cv.notify_one();
    });
  }
  Status first = tasks[0]();
  std::unique_lock lock(batch->mu);
  batch->done_cv.wait(lock, [&] { return batch->remaining == 0; });
  if (!first.ok()) return first;
  for (auto& s : batch->results)
    if (!s.ok()) return s;
  return Status::Ok();
}

}  // namespace s3nbd
