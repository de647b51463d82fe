#include "netns/linkemu/distribution.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace sockchaos::linkemu {

namespace {

constexpr int kTableSize = 16384;  // TABLESIZE in iproute2's generators; every 4th entry is kept
constexpr double kGridStart = -10.0, kGridStep = 0.00005;
constexpr int kGridPoints = 401000;  // -10 ... 10.05 in steps of 0.00005

double unit_normal_cdf(double x) { return .5 + .5 * std::erf(x / std::sqrt(2.0)); }
int normal_bucket(long k) {
  return static_cast<int>(std::rint(kTableSize * unit_normal_cdf(kGridStart + k * kGridStep)));
}

// iproute2 normal.c fills table[rint(16384 * Phi(x))] = x for x on a 0.00005 grid, so
// table[i] is the largest grid point whose bucket is i. The bucket is monotone in x, so a
// binary search finds it with ~20 erf calls per kept entry instead of 401,000 in all.
std::vector<double> normal_quantiles() {
  std::vector<double> q;
  for (int i = 0; i < kTableSize; i += 4) {
    long lo = 0, hi = kGridPoints - 1;  // largest k with bucket(k) <= i
    while (lo < hi) {
      long mid = (lo + hi + 1) / 2;
      if (normal_bucket(mid) <= i)
        lo = mid;
      else
        hi = mid - 1;
    }
    q.push_back(kGridStart + lo * kGridStep);
  }
  return q;
}

int16_t clamp_short(long v) { return static_cast<int16_t>(std::clamp<long>(v, SHRT_MIN, SHRT_MAX)); }

// pareto.c / paretonormal.c: Pareto with alpha 3 and scale 1, less its mean 1.5, times 4/3.
int pareto_value(int i /* 65536 ... 16 */) {
  double v = 1.0 / std::pow(static_cast<double>(i) / 65536.0, 1.0 / 3.0);
  v -= 1.5;
  v *= (4.0 / 3.0) * kNetemDistScale;
  if (v > 32767) v = 32767;
  return static_cast<int>(std::rint(v));
}

struct Tables {
  std::vector<int16_t> normal, pareto, paretonormal;
  Tables() {
    auto q = normal_quantiles();
    for (double x : q) normal.push_back(clamp_short(std::lrint(x * kNetemDistScale)));
    for (int i = 65536; i > 0; i -= 16) pareto.push_back(static_cast<int16_t>(pareto_value(i)));
    for (size_t n = 0; n < q.size(); ++n) {
      int i = static_cast<int>(n) * 4;
      long normvalue = std::lrint(q[n] * kNetemDistScale);
      long parvalue = pareto_value(65536 - 4 * i);
      paretonormal.push_back(clamp_short((normvalue + 3 * parvalue) / 4));
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::vector<int16_t>& netem_table(Distribution d) {
  static const std::vector<int16_t> none;
  switch (d) {
    case Distribution::kNormal:
      return tables().normal;
    case Distribution::kPareto:
      return tables().pareto;
    case Distribution::kParetoNormal:
      return tables().paretonormal;
    case Distribution::kUniform:
      break;
  }
  return none;
}

int64_t netem_tabledist(int64_t mu, int64_t sigma, uint64_t rnd, Distribution d) {
  if (sigma <= 0) return mu;
  const auto& table = netem_table(d);
  if (table.empty()) return static_cast<int64_t>(rnd % (2 * static_cast<uint64_t>(sigma))) + mu - sigma;
  int64_t t = table[(rnd >> 32) % table.size()];
  // The kernel's arithmetic: the remainder of sigma / 8192 times t, rounded half away from 0.
  int64_t x = (sigma % kNetemDistScale) * t;
  x += x >= 0 ? kNetemDistScale / 2 : -kNetemDistScale / 2;
  return x / kNetemDistScale + (sigma / kNetemDistScale) * t + mu;
}

Moments distribution_moments(Distribution d) {
  const auto& table = netem_table(d);
  if (table.empty()) return {0, 1 / std::sqrt(3.0)};
  double sum = 0, sq = 0;
  for (int16_t t : table) sum += t;
  double mean = sum / table.size();
  for (int16_t t : table) sq += (t - mean) * (t - mean);
  return {mean / kNetemDistScale, std::sqrt(sq / table.size()) / kNetemDistScale};
}

double distribution_cdf(Distribution d, double x) {
  const auto& table = netem_table(d);
  if (table.empty()) return std::clamp((x + 1) / 2, 0.0, 1.0);
  double scaled = x * kNetemDistScale;
  auto it = std::upper_bound(table.begin(), table.end(), scaled,
                             [](double v, int16_t t) { return v < static_cast<double>(t); });
  return static_cast<double>(it - table.begin()) / table.size();
}

}  // namespace sockchaos::linkemu
