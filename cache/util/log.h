// Logging: the layers never call nbdkit; they log through this module, and the plugin
// (or the CLI) installs a sink at start-up. Thread-safe: the sink is set once before
// any worker thread starts and must itself be thread-safe.
#pragma once

#include <string>

namespace s3nbd {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogSink = void (*)(LogLevel level, const std::string& message);

// Installs the sink (default: stderr). Call before starting threads.
void SetLogSink(LogSink sink);
// Messages below this level are dropped (default kInfo; kDebug with S3NBD_DEBUG=1).
void SetLogLevel(LogLevel level);

void Log(LogLevel level, const std::string& message);
inline void LogDebug(const std::string& m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(const std::string& m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(const std::string& m) { Log(LogLevel::kWarning, m); }
inline void LogError(const std::string& m) { Log(LogLevel::kError, m); }

}  // namespace s3nbd
