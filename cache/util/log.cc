// Logging sink and level; see log.h.
#include "cache/util/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace s3nbd {
namespace {

void StderrSink(LogLevel level, const std::string& message) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  std::fprintf(stderr, "s3nbd: %s: %s\n", kNames[static_cast<int>(level)], message.c_str());
}

std::atomic<LogSink> g_sink{StderrSink};
std::atomic<int> g_level{-1};  // -1: not yet decided

int CurrentLevel() {
  int level = g_level.load(std::memory_order_relaxed);
  if (level >= 0) return level;
  const char* debug = std::getenv("S3NBD_DEBUG");
  level = static_cast<int>((debug && *debug == '1') ? LogLevel::kDebug : LogLevel::kInfo);
  g_level.store(level, std::memory_order_relaxed);
  return level;
}

}  // namespace

void SetLogSink(LogSink sink) { g_sink.store(sink ? sink : StderrSink); }
void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

void Log(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < CurrentLevel()) return;
  g_sink.load()(level, message);
}

}  // namespace s3nbd
