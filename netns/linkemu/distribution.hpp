// netem's jitter distributions, built the way iproute2 builds its .dist files (netem/normal.c,
// pareto.c, paretonormal.c: 4096 quantiles of a unit distribution scaled by NETEM_DIST_SCALE =
// 8192), and netem's tabledist() (net/sched/sch_netem.c): a uniform draw picks a quantile, the
// jitter is sigma * quantile / 8192. "uniform" has no table: mu - sigma + rnd % (2 sigma).
#pragma once
#include <cstdint>
#include <vector>

#include "netns/linkemu/impairment.hpp"

namespace sockchaos::linkemu {

inline constexpr int kNetemDistScale = 8192;  // NETEM_DIST_SCALE (include/uapi/linux/pkt_sched.h)

// The table tc would load for the distribution; empty for kUniform. Built once per process.
const std::vector<int16_t>& netem_table(Distribution d);

// netem's tabledist(mu, sigma, rnd, table), with 64 random bits (the table index uses the high
// 32, as netem's u32 draw would) so sigma may exceed netem's 2^31 ns cap.
int64_t netem_tabledist(int64_t mu, int64_t sigma, uint64_t rnd, Distribution d);

// Mean and standard deviation of the jitter as a multiple of `jitter` (sigma): (0, 1) for
// normal, (0, 1/sqrt(3)) for uniform (its sigma is the half-width), the tables' own moments
// for pareto and paretonormal. What a benchmark compares the measured delay spread with.
struct Moments {
  double mean = 0;
  double stddev = 0;
};
Moments distribution_moments(Distribution d);

// P(jitter <= x * sigma) for the distribution, from its table (uniform: exact).
double distribution_cdf(Distribution d, double x);

}  // namespace sockchaos::linkemu
