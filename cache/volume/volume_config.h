// Volume option parsing shared by the nbdkit plugin (key=value parameters) and the CLI
// (--key value flags): one table of option names, one parser, one help text. Pure
// functions; no state.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cache/util/status.h"
#include "cache/volume/volume_factory.h"

namespace s3nbd {

// Sizes: a decimal number with an optional binary suffix (k/K, M, G, T, P, E; optional
// trailing "B" or "iB"), e.g. "4096", "64K", "1M", "10G". Negative, empty, overflowing
// or malformed values are refused with a message naming `what`.
Result<uint64_t> ParseSize(std::string_view what, std::string_view text);
Result<bool> ParseBool(std::string_view what, std::string_view text);
// Durations: a whole number with an optional unit ms, s (default) or m.
Result<std::chrono::milliseconds> ParseDuration(std::string_view what, std::string_view text);

// Applies one option; EINVAL with a clear message for an unknown key or a bad value.
Status SetVolumeOption(VolumeOptions* options, std::string_view key, std::string_view value);

// "bucket/prefix" without the trailing slash, for messages.
std::string VolumeName(const VolumeOptions& options);

// Checks required options and combinations after all were applied.
Status CheckVolumeOptions(const VolumeOptions& options);

// One line per option: "name=VALUE  description".
extern const char* const kVolumeOptionHelp;

}  // namespace s3nbd
