// Progress: a one-line progress bar on stderr, drawn only when stderr is a terminal (never in
// logs or pipes). Thread-safe: Add() may be called from pool workers; mu_ guards drawing
// (annotated).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "cache/util/mutex.h"

namespace s3nbd::cli {

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // Done()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(uint64_t n) EXCLUDES(mu_);
  void Done() EXCLUDES(mu_);  // ends the line

 private:
  void Draw(uint64_t done) EXCLUDES(mu_);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::atomic<uint64_t> done_{0};
  Mutex mu_;
  int last_percent_ GUARDED_BY(mu_) = -1;
  bool finished_ GUARDED_BY(mu_) = false;
};

}  // namespace s3nbd::cli
