#include "harness/metrics/stats.hpp"

#include <algorithm>
#include <cmath>

namespace sockchaos::harness {

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

double median_sorted(const std::vector<double>& sorted) {
  if (sorted.empty()) return NAN;
  size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

}  // namespace sockchaos::harness
