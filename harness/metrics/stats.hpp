// Order statistics used by every metric: nearest-rank percentiles and medians.
#pragma once
#include <vector>

namespace sockchaos::harness {

// Percentile of a sorted vector (nearest rank: the smallest value with at least p% of the
// values at or below it), NaN for an empty one.
double percentile_sorted(const std::vector<double>& sorted, double p);

// Median of a sorted vector (mean of the two middle values for an even count), NaN if empty.
double median_sorted(const std::vector<double>& sorted);

}  // namespace sockchaos::harness
