// Time on one clock: CLOCK_MONOTONIC nanoseconds, the clock of every timestamp sockchaos takes
// (orchestrator, agents, captures) and of Python's time.monotonic(). Results print
// milliseconds with one decimal (to_ms).
#pragma once
#include <cmath>
#include <cstdint>
#include <ctime>

namespace sockchaos {

inline constexpr int64_t kMicrosecond = 1000;
inline constexpr int64_t kMillisecond = 1000 * kMicrosecond;
inline constexpr int64_t kSecond = 1000 * kMillisecond;

inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

// Nanoseconds -> milliseconds rounded to 0.1 ms, the resolution of every *_ms result.
inline double to_ms(int64_t ns) { return std::round(static_cast<double>(ns) / 1e5) / 10.0; }

inline timespec to_timespec(int64_t ns) {
  if (ns < 0) ns = 0;
  return timespec{static_cast<time_t>(ns / kSecond), static_cast<long>(ns % kSecond)};
}

}  // namespace sockchaos
