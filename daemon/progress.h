// Progress: a one-line progress bar on stderr, drawn only when stderr is a terminal (never in
// logs or pipes). Thread-safe: Add() may be called from pool workers; mu_ guards drawing.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace s3nbd::cli {

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // Done()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(uint64_t n);
  void Done();  // ends the line

 private:
  void Draw(uint64_t done);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  int last_percent_ = -1;  // GUARDED_BY(mu_)
  bool finished_ = false;  // GUARDED_BY(mu_)
};

}  // namespace s3nbd::cli
