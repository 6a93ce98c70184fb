// Terminal progress bar; see progress.h.
#include "daemon/progress.h"

#include <cstdio>

#include "daemon/cli.h"

namespace s3nbd::cli {

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(StderrIsTerminal()) {}

Progress::~Progress() { Done(); }

void Progress::Add(uint64_t n) {
  uint64_t done = done_.fetch_add(n) + n;
  if (enabled_) Draw(done);
}

void Progress::Draw(uint64_t done) {
  MutexLock lock(&mu_);
  if (finished_) return;
  int percent = total_ ? static_cast<int>(100 * (done > total_ ? total_ : done) / total_) : 100;
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  std::string bar(percent * kWidth / 100, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu", label_.c_str(), bar.c_str(), percent,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_));
  std::fflush(stderr);
}

void Progress::Done() {
  MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  if (enabled_ && last_percent_ >= 0) std::fputc('\n', stderr);
}

}  // namespace s3nbd::cli
