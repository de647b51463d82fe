// Phase stamps for the benchmarks: code on the cell's path calls mark(log, "name") at the end
// of each phase; a null log (the product's default) costs one branch. A phase's duration is
// the time from the previous mark (or begin()) to its own (CLOCK_MONOTONIC).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace sockchaos {

struct PhaseLog {
  int64_t start = 0;
  std::vector<std::pair<const char*, int64_t>> marks;  // name (a literal), end of the phase
  void begin() {
    marks.clear();
    start = monotonic_ns();
  }
};

inline void mark(PhaseLog* log, const char* name) {
  if (log) log->marks.emplace_back(name, monotonic_ns());
}
// A phase that ended at `t` (a stamp taken elsewhere, e.g. by an agent).
inline void mark_at(PhaseLog* log, const char* name, int64_t t) {
  if (log) log->marks.emplace_back(name, t);
}

}  // namespace sockchaos
