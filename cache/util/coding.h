// Coding: the one home of the small byte and clock helpers every format and layer needs —
// little-endian fixed-width fields (every s3nbd format is little-endian: docs/format.md,
// docs/cache-format.md), the all-zero check, and the two clocks. Pure functions; thread-safe.
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace s3nbd {

// Stores v at p as sizeof(T) little-endian bytes (p needs no alignment).
template <typename T>
  requires std::is_integral_v<T>
inline void PutLE(void* p, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &u, sizeof u);
  } else {
    auto* b = static_cast<unsigned char*>(p);
    for (size_t i = 0; i < sizeof u; i++) b[i] = static_cast<unsigned char>(u >> (8 * i));
  }
}

// Reads sizeof(T) little-endian bytes at p.
template <typename T>
  requires std::is_integral_v<T>
inline T GetLE(const void* p) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&u, p, sizeof u);
  } else {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < sizeof u; i++) u = static_cast<U>(u | U{b[i]} << (8 * i));
  }
  return static_cast<T>(u);
}

// True when every byte is zero (also for an empty range). Word-at-a-time: this runs over
// every written block, so it must stay near memory speed.
inline bool IsAllZero(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (; n >= 32; p += 32, n -= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    if ((w[0] | w[1] | w[2] | w[3]) != 0) return false;
  }
  for (; n > 0; p++, n--)
    if (*p) return false;
  return true;
}
inline bool IsAllZero(std::string_view d) { return IsAllZero(d.data(), d.size()); }
inline bool IsAllZero(std::span<const uint8_t> d) { return IsAllZero(d.data(), d.size()); }

// Monotonic time in nanoseconds (deadlines, delays, durations; never compared across hosts).
inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Wall-clock seconds since the Unix epoch (what is recorded in the bucket: lease expiry,
// object timestamps).
inline int64_t WallNowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace s3nbd
