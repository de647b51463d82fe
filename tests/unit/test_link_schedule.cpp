// The link emulator's decision core (netns/linkemu/schedule.hpp), without a kernel: order,
// delay and jitter, reorder, loss and Gilbert–Elliott bursts against their models, rate and
// tail drop, duplicates, corruption, replay from the seed, changes mid-stream. Statistical
// checks use 99.9% intervals of the model (z = 3.29), never values seen in one run.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "common/clock.hpp"
#include "netns/linkemu/distribution.hpp"
#include "netns/linkemu/schedule.hpp"

namespace sockchaos::linkemu {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr double kZ = 3.29;  // two-sided 99.9%

// A 1514-byte IPv4/UDP frame (IP total length 1500).
std::vector<uint8_t> ipv4_frame(size_t ip_len = 1500, uint16_t ethertype = 0x0800) {
  std::vector<uint8_t> f(kEthernetHeader + ip_len, 0);
  f[12] = static_cast<uint8_t>(ethertype >> 8);
  f[13] = static_cast<uint8_t>(ethertype);
  f[14] = 0x45;
  f[16] = static_cast<uint8_t>(ip_len >> 8);
  f[17] = static_cast<uint8_t>(ip_len);
  return f;
}

FrameInfo frame_at(int64_t t, uint32_t wire = 1514) {
  FrameInfo f;
  f.arrival_ns = t;
  f.wire_bytes = wire;
  f.ip_offset = kEthernetHeader;
  f.ip_length = wire - kEthernetHeader;
  return f;
}

// Binomial count within the 99.9% interval of n trials at p.
void expect_binomial(uint64_t count, uint64_t n, double p, const char* what) {
  double mean = n * p, sd = std::sqrt(n * p * (1 - p));
  EXPECT_GE(static_cast<double>(count), mean - kZ * sd - 1) << what << ": " << count << " of " << n << " at p=" << p;
  EXPECT_LE(static_cast<double>(count), mean + kZ * sd + 1) << what << ": " << count << " of " << n << " at p=" << p;
}

TEST(LinkSchedule, CleanLinkForwardsEverythingAtOnce) {
  DirectionSchedule s(Impairment{}, 1);
  for (int i = 0; i < 1000; ++i) {
    auto d = s.on_arrival(frame_at(1000 + i));
    ASSERT_EQ(d.fate, Fate::kForward);
    EXPECT_EQ(d.release_ns, 1000 + i);
    EXPECT_FALSE(d.duplicated || d.corrupted || d.reordered);
  }
  EXPECT_EQ(s.counters().forwarded, 1000u);
}

TEST(LinkSchedule, FixedDelayIsExact) {
  Impairment imp;
  imp.delay = milliseconds(25);
  DirectionSchedule s(imp, 7);
  for (int64_t t = 0; t < 100 * kMillisecond; t += 100 * kMicrosecond)
    EXPECT_EQ(s.on_arrival(frame_at(t)).release_ns, t + 25 * kMillisecond);
}

TEST(LinkSchedule, OrderIsPreservedWithJitter) {
  for (auto dist :
       {Distribution::kNormal, Distribution::kUniform, Distribution::kPareto, Distribution::kParetoNormal}) {
    Impairment imp;
    imp.delay = milliseconds(20);
    imp.jitter = milliseconds(10);
    imp.distribution = dist;
    DirectionSchedule s(imp, 42);
    int64_t prev = INT64_MIN;
    int clamped = 0;
    for (int i = 0; i < 100000; ++i) {
      int64_t t = i * 100 * kMicrosecond;  // 10 K frames/s: far denser than the jitter's spread
      auto d = s.on_arrival(frame_at(t));
      ASSERT_EQ(d.fate, Fate::kForward);
      ASSERT_GE(d.release_ns, prev) << "frame " << i << " overtook its predecessor (" << to_string(dist) << ")";
      ASSERT_GE(d.release_ns, t) << "released before it arrived";
      clamped += d.release_ns == prev;
      prev = d.release_ns;
    }
    // The head-of-line rule did engage (otherwise the test proves nothing).
    EXPECT_GT(clamped, 1000) << to_string(dist);
  }
}

// Frames far apart never wait for each other: the delay is delay + the netem jitter draw.
TEST(LinkSchedule, JitterFollowsTheDistributionWhenFramesAreSparse) {
  const int n = 40000;
  for (auto dist :
       {Distribution::kNormal, Distribution::kUniform, Distribution::kPareto, Distribution::kParetoNormal}) {
    Impairment imp;
    imp.delay = milliseconds(100);
    imp.jitter = milliseconds(5);
    imp.distribution = dist;
    DirectionSchedule s(imp, 1234);
    std::vector<double> delays;
    for (int i = 0; i < n; ++i) {
      int64_t t = static_cast<int64_t>(i) * kSecond;
      delays.push_back((s.on_arrival(frame_at(t)).release_ns - t) / 1e6);
    }
    double mean = 0, sq = 0;
    for (double d : delays) mean += d;
    mean /= n;
    for (double d : delays) sq += (d - mean) * (d - mean);
    double sd = std::sqrt(sq / (n - 1));
    Moments m = distribution_moments(dist);
    double want_sd = m.stddev * 5, want_mean = 100 + m.mean * 5;
    // Standard error of a sample standard deviation: sd * sqrt((kurtosis - 1) / 4n); a loose
    // 5% bound covers the pareto tables' heavy tails at n = 40000.
    EXPECT_NEAR(sd, want_sd, 0.05 * want_sd) << to_string(dist);
    EXPECT_NEAR(mean, want_mean, kZ * want_sd / std::sqrt(n)) << to_string(dist);
    // Shape: the empirical CDF at -1, 0, 1, 2 sigma within the DKW 99.9% band of the table's.
    double eps = std::sqrt(std::log(2 / 0.001) / (2.0 * n));
    for (double x : {-1.0, 0.0, 1.0, 2.0}) {
      double below = 0;
      for (double d : delays) below += d <= 100 + x * 5;
      EXPECT_NEAR(below / n, distribution_cdf(dist, x), eps + 1.0 / 4096) << to_string(dist) << " at " << x << " sigma";
    }
  }
}

TEST(LinkSchedule, NegativeDelayDrawsAreClampedToZero) {
  Impairment imp;
  imp.jitter = milliseconds(5);  // no delay: half the draws are negative
  DirectionSchedule s(imp, 9);
  for (int i = 0; i < 10000; ++i) {
    int64_t t = static_cast<int64_t>(i) * kSecond;
    EXPECT_GE(s.on_arrival(frame_at(t)).release_ns, t);
  }
}

TEST(LinkSchedule, ReorderSendsThatFractionAtOnceAheadOfTheDelayedRest) {
  Impairment imp;
  imp.delay = milliseconds(10);
  imp.reorder = 0.25;
  DirectionSchedule s(imp, 5);
  const int n = 100000;
  uint64_t reordered = 0, overtakes = 0, before_any_delayed = 0;
  int64_t last_delayed = INT64_MIN;
  for (int i = 0; i < n; ++i) {
    int64_t t = i * 100 * kMicrosecond;
    auto d = s.on_arrival(frame_at(t));
    if (d.reordered) {
      ++reordered;
      EXPECT_EQ(d.release_ns, t);  // sent at once
      overtakes += d.release_ns < last_delayed;
      before_any_delayed += last_delayed == INT64_MIN;
    } else {
      EXPECT_EQ(d.release_ns, t + 10 * kMillisecond);
      last_delayed = d.release_ns;
    }
  }
  expect_binomial(reordered, n, 0.25, "reordered");
  EXPECT_EQ(s.counters().reordered, reordered);
  // Each one overtakes the frames still in the delay line (all but those before the first delayed one).
  EXPECT_EQ(overtakes, reordered - before_any_delayed);
}

TEST(LinkSchedule, LossRateIsBinomial) {
  for (double p : {0.001, 0.01, 0.1, 0.5}) {
    Impairment imp;
    imp.loss = p;
    DirectionSchedule s(imp, 77);
    const uint64_t n = 1000000;
    for (uint64_t i = 0; i < n; ++i) s.on_arrival(frame_at(static_cast<int64_t>(i)));
    expect_binomial(s.counters().lost, n, p, "lost");
    EXPECT_EQ(s.counters().lost + s.counters().forwarded, n);
  }
  Impairment all;
  all.loss = 1;
  DirectionSchedule s(all, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(s.on_arrival(frame_at(i)).fate, Fate::kLost);
}

// netem's loss_gilb_ell(): a frame's loss is decided by the state it finds; the transition
// drawn with it applies to the next frame. With p = r = 1, h = 0, k = 1 the states alternate
// good, bad, good ... from the good start: delivered, lost, delivered, lost.
TEST(LinkSchedule, GilbertElliottFollowsNetemsStepOrder) {
  Impairment imp;
  imp.gilbert_elliott = GilbertElliott{1, 1, 0, 1};
  DirectionSchedule s(imp, 3);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(s.on_arrival(frame_at(i)).fate, i % 2 ? Fate::kLost : Fate::kForward) << "frame " << i;
}

std::map<int, uint64_t> loss_runs(DirectionSchedule& s, uint64_t n, uint64_t* lost) {
  std::map<int, uint64_t> runs;
  int run = 0;
  *lost = 0;
  for (uint64_t i = 0; i < n; ++i) {
    bool l = s.on_arrival(frame_at(static_cast<int64_t>(i))).fate == Fate::kLost;
    *lost += l;
    if (l)
      ++run;
    else if (run)
      ++runs[run], run = 0;
  }
  return runs;
}

TEST(LinkSchedule, SimpleGilbertBurstsAreGeometric) {
  // h = 0, k = 1: every frame in the bad state is lost, none in the good one, so a loss burst
  // is a stay in the bad state: P(length = L) = (1 - r)^(L-1) r, mean 1 / r.
  const double p = 0.02, r = 0.25;
  Impairment imp;
  imp.gilbert_elliott = GilbertElliott{p, r, 0, 1};
  DirectionSchedule s(imp, 11);
  const uint64_t n = 2000000;
  uint64_t lost = 0;
  auto runs = loss_runs(s, n, &lost);
  uint64_t bursts = 0, total = 0;
  for (auto [len, count] : runs) bursts += count, total += len * count;
  double pi_bad = p / (p + r);
  // Loss fraction: a Markov chain's variance is inflated by (1 + rho) / (1 - rho), rho = 1 - p - r.
  double rho = 1 - p - r;
  double sd = std::sqrt(pi_bad * (1 - pi_bad) / n * (1 + rho) / (1 - rho));
  EXPECT_NEAR(static_cast<double>(lost) / n, pi_bad, kZ * sd);
  double mean_len = static_cast<double>(total) / bursts;
  double len_sd = std::sqrt(1 - r) / r / std::sqrt(static_cast<double>(bursts));  // geometric sd / sqrt(count)
  EXPECT_NEAR(mean_len, 1 / r, kZ * len_sd);
  for (int len = 1; len <= 5; ++len) {
    double want = std::pow(1 - r, len - 1) * r;
    expect_binomial(runs[len], bursts, want, ("bursts of length " + std::to_string(len)).c_str());
  }
}

TEST(LinkSchedule, GilbertElliottLossRateIsTheStationaryOne) {
  GilbertElliott ge{0.05, 0.3, 0.2, 0.99};
  Impairment imp;
  imp.gilbert_elliott = ge;
  DirectionSchedule s(imp, 21);
  const uint64_t n = 2000000;
  uint64_t lost = 0;
  loss_runs(s, n, &lost);
  double want = ge.stationary_loss();
  double pi = ge.p / (ge.p + ge.r), rho = 1 - ge.p - ge.r;
  EXPECT_NEAR(want, pi * (1 - ge.h) + (1 - pi) * (1 - ge.k), 1e-12);
  // Var of the loss fraction: the per-frame Bernoulli variance plus the state's autocovariance,
  // (a - b)^2 pi (1 - pi) 2 rho / (1 - rho) with a, b the two states' loss probabilities.
  double a = 1 - ge.h, b = 1 - ge.k;
  double var = (want * (1 - want) + (a - b) * (a - b) * pi * (1 - pi) * 2 * rho / (1 - rho)) / n;
  EXPECT_NEAR(static_cast<double>(lost) / n, want, kZ * std::sqrt(var));
}

TEST(LinkSchedule, RateSerializesFramesBackToBack) {
  Impairment imp;
  imp.rate_bps = 8e6;  // one byte per microsecond
  imp.queue_bytes = 1 << 20;
  DirectionSchedule s(imp, 1);
  for (int i = 1; i <= 10; ++i)  // a burst at t = 0: each leaves 1000 us after the previous
    EXPECT_EQ(s.on_arrival(frame_at(0, 1000)).release_ns, i * 1000 * kMicrosecond);
  // An idle link serializes a lone frame from its arrival.
  EXPECT_EQ(s.on_arrival(frame_at(kSecond, 500)).release_ns, kSecond + 500 * kMicrosecond);
  // Delay adds after serialization.
  imp.delay = milliseconds(5);
  s.set(imp);
  EXPECT_EQ(s.on_arrival(frame_at(2 * kSecond, 100)).release_ns, 2 * kSecond + 100 * kMicrosecond + 5 * kMillisecond);
}

TEST(LinkSchedule, RateDoesNotDriftOverManyFrames) {
  Impairment imp;
  imp.rate_bps = 10e6;
  imp.queue_bytes = 1ull << 41;  // the schedule itself does not validate: hold all 1.5 GB
  DirectionSchedule s(imp, 1);
  int64_t last = 0;
  for (int i = 0; i < 1000000; ++i) last = s.on_arrival(frame_at(0, 1514)).release_ns;
  double exact = 1e6 * 1514 * 8 / 10e6 * 1e9;           // ns
  EXPECT_NEAR(static_cast<double>(last), exact, 1000);  // within 1 us after 1.2 GB
}

TEST(LinkSchedule, QueueTailDropsBeyondItsBytes) {
  Impairment imp;
  imp.rate_bps = 8e6;
  imp.queue_bytes = 64 * 1024;
  DirectionSchedule s(imp, 1);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += s.on_arrival(frame_at(0, 1000)).fate == Fate::kForward;
  EXPECT_EQ(accepted, 65);  // 65 * 1000 <= 65536 < 66 * 1000: the frame in service counts
  EXPECT_EQ(s.counters().queue_full, 35u);
  // 10.5 ms later ten frames have left (one per ms) and ten fit again.
  int later = 0;
  for (int i = 0; i < 20; ++i) later += s.on_arrival(frame_at(10500 * kMicrosecond, 1000)).fate == Fate::kForward;
  EXPECT_EQ(later, 10);
}

TEST(LinkSchedule, DefaultQueueIsAThousandFullFrames) {
  Impairment imp;
  imp.rate_bps = 1e6;
  EXPECT_EQ(imp.effective_queue_bytes(), 1000u * 1514);
  DirectionSchedule s(imp, 1);
  int accepted = 0;
  for (int i = 0; i < 1200; ++i) accepted += s.on_arrival(frame_at(0)).fate == Fate::kForward;
  EXPECT_EQ(accepted, 1000);
}

TEST(LinkSchedule, DuplicatesAtTheirRate) {
  Impairment imp;
  imp.duplicate = 0.01;
  DirectionSchedule s(imp, 8);
  const uint64_t n = 500000;
  for (uint64_t i = 0; i < n; ++i) s.on_arrival(frame_at(static_cast<int64_t>(i)));
  expect_binomial(s.counters().duplicated, n, 0.01, "duplicated");
  imp.duplicate = 1;
  s.set(imp);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(s.on_arrival(frame_at(n + i)).duplicated);
}

TEST(LinkSchedule, CorruptionFlipsOneBitInsideTheIpPacket) {
  Impairment imp;
  imp.corrupt = 0.05;
  DirectionSchedule s(imp, 13);
  const uint64_t n = 200000;
  std::vector<uint64_t> per_byte(1500);
  for (uint64_t i = 0; i < n; ++i) {
    auto d = s.on_arrival(frame_at(static_cast<int64_t>(i)));
    if (!d.corrupted) continue;
    ASSERT_GE(d.corrupt_offset, static_cast<uint32_t>(kEthernetHeader));
    ASSERT_LT(d.corrupt_offset, 1514u);
    ASSERT_EQ(__builtin_popcount(d.corrupt_mask), 1);
    ++per_byte[d.corrupt_offset - kEthernetHeader];
  }
  expect_binomial(s.counters().corrupted, n, 0.05, "corrupted");
  // Uniform over the packet: the IP header's 20 bytes get their share.
  uint64_t header = 0;
  for (int b = 0; b < 20; ++b) header += per_byte[b];
  expect_binomial(header, s.counters().corrupted, 20.0 / 1500, "bits flipped in the IP header");
  // A frame that is not IP (ARP) is never corrupted.
  imp.corrupt = 1;
  s.set(imp);
  FrameInfo arp = frame_at(n, 42);
  arp.ip_length = 0;
  EXPECT_FALSE(s.on_arrival(arp).corrupted);
  EXPECT_TRUE(s.on_arrival(frame_at(n + 1)).corrupted);
}

TEST(LinkSchedule, MtuDropsLargerIpPackets) {
  Impairment imp;
  imp.mtu = 1400;
  DirectionSchedule s(imp, 1);
  EXPECT_EQ(s.on_arrival(frame_at(0, 1414)).fate, Fate::kForward);
  EXPECT_EQ(s.on_arrival(frame_at(1, 1415)).fate, Fate::kTooBig);
  FrameInfo tagged = frame_at(2, 1418);  // 802.1Q: 18 bytes of link-layer header
  tagged.l2_bytes = 18;
  EXPECT_EQ(s.on_arrival(tagged).fate, Fate::kForward);
  EXPECT_EQ(s.counters().too_big, 1u);
}

std::vector<Decision> run(const Impairment& imp, uint64_t seed, int64_t gap_ns, int n) {
  DirectionSchedule s(imp, seed);
  std::vector<Decision> out;
  for (int i = 0; i < n; ++i) out.push_back(s.on_arrival(frame_at(i * gap_ns)));
  return out;
}

Impairment everything() {
  Impairment imp;
  imp.delay = milliseconds(30);
  imp.jitter = milliseconds(3);
  imp.loss = 0.05;
  imp.duplicate = 0.02;
  imp.reorder = 0.03;
  imp.corrupt = 0.01;
  return imp;
}

TEST(LinkSchedule, SameSeedReplaysEveryDecision) {
  auto a = run(everything(), 99, 200 * kMicrosecond, 50000);
  auto b = run(everything(), 99, 200 * kMicrosecond, 50000);
  auto c = run(everything(), 100, 200 * kMicrosecond, 50000);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].fate, b[i].fate);
    ASSERT_EQ(a[i].release_ns, b[i].release_ns);
    ASSERT_EQ(a[i].duplicated, b[i].duplicated);
    ASSERT_EQ(a[i].corrupt_offset, b[i].corrupt_offset);
    differ += a[i].fate != c[i].fate || a[i].release_ns != c[i].release_ns;
  }
  EXPECT_GT(differ, 1000);  // another seed is another run
}

// The n-th frame's random fate does not depend on when the frames before it came.
TEST(LinkSchedule, RandomDecisionsDependOnTheFrameIndexNotOnTiming) {
  auto slow = run(everything(), 5, 10 * kMillisecond, 20000);
  auto fast = run(everything(), 5, 10 * kMicrosecond, 20000);
  for (size_t i = 0; i < slow.size(); ++i) {
    ASSERT_EQ(slow[i].fate, fast[i].fate) << i;
    ASSERT_EQ(slow[i].reordered, fast[i].reordered) << i;
    ASSERT_EQ(slow[i].duplicated, fast[i].duplicated) << i;
  }
}

TEST(LinkSchedule, DerivedDirectionSeedsDiffer) {
  EXPECT_NE(direction_seed(1, 0), direction_seed(1, 1));
  EXPECT_NE(direction_seed(1, 0), direction_seed(2, 0));
  EXPECT_EQ(direction_seed(1, 0), direction_seed(1, 0));
}

TEST(LinkSchedule, ChangesMidStreamApplyToLaterFramesAndKeepOrder) {
  Impairment imp;
  imp.delay = milliseconds(50);
  DirectionSchedule s(imp, 1);
  int64_t t = 0, last = 0;
  for (; t < 10 * kMillisecond; t += kMillisecond) last = s.on_arrival(frame_at(t)).release_ns;
  EXPECT_EQ(last, 9 * kMillisecond + 50 * kMillisecond);
  // A latency drop: the next frames wait for the last old one (a wire does not let them pass).
  imp.delay = milliseconds(10);
  s.set(imp);
  auto d = s.on_arrival(frame_at(t));
  EXPECT_EQ(d.release_ns, last);
  // Once the old frames are out, the new delay holds exactly.
  EXPECT_EQ(s.on_arrival(frame_at(100 * kMillisecond)).release_ns, 110 * kMillisecond);
  // A loss burst, then healed.
  imp.loss = 1;
  s.set(imp);
  EXPECT_EQ(s.on_arrival(frame_at(200 * kMillisecond)).fate, Fate::kLost);
  imp.loss = 0;
  s.set(imp);
  EXPECT_EQ(s.on_arrival(frame_at(201 * kMillisecond)).fate, Fate::kForward);
  // A rate drop.
  imp.rate_bps = 8e6;
  s.set(imp);
  EXPECT_EQ(s.on_arrival(frame_at(300 * kMillisecond, 1000)).release_ns, 301 * kMillisecond + 10 * kMillisecond);
}

TEST(LinkSchedule, ArrivalsOutOfTimeOrderAreTakenAsTheLatest) {
  Impairment imp;
  imp.delay = milliseconds(1);
  DirectionSchedule s(imp, 1);
  EXPECT_EQ(s.on_arrival(frame_at(5000)).release_ns, 5000 + kMillisecond);
  EXPECT_EQ(s.on_arrival(frame_at(4000)).release_ns, 5000 + kMillisecond);
}

TEST(LinkFrames, DescribesIpv4Ipv6ArpAndVlanFrames) {
  auto v4 = ipv4_frame(46);
  v4.resize(60);  // Ethernet minimum: 0 padding after the 46-byte packet
  auto f = describe_frame(v4.data(), v4.size(), 1);
  EXPECT_EQ(f.wire_bytes, 60u);
  EXPECT_EQ(f.l2_bytes, 14u);
  EXPECT_EQ(f.ip_offset, 14u);
  EXPECT_EQ(f.ip_length, 46u);

  std::vector<uint8_t> v6(14 + 40 + 8, 0);
  v6[12] = 0x86, v6[13] = 0xDD, v6[14] = 0x60, v6[19] = 8;
  f = describe_frame(v6.data(), v6.size(), 1);
  EXPECT_EQ(f.ip_length, 48u);

  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  f = describe_frame(arp.data(), arp.size(), 1);
  EXPECT_EQ(f.ip_length, 0u);
  EXPECT_EQ(f.l2_bytes, 14u);

  auto tagged = ipv4_frame(100);
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x05});
  f = describe_frame(tagged.data(), tagged.size(), 1);
  EXPECT_EQ(f.l2_bytes, 18u);
  EXPECT_EQ(f.ip_offset, 18u);
  EXPECT_EQ(f.ip_length, 100u);

  // A length field larger than the frame is cut to the frame.
  auto lying = ipv4_frame(100);
  lying[16] = 0xff;
  EXPECT_EQ(describe_frame(lying.data(), lying.size(), 1).ip_length, 100u);
  std::vector<uint8_t> runt(10, 0);
  EXPECT_EQ(describe_frame(runt.data(), runt.size(), 1).ip_length, 0u);
}

std::vector<int> read_dist(const std::string& path) {
  std::ifstream in(path);
  std::vector<int> v;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    int x;
    while (s >> x) v.push_back(x);
  }
  return v;
}

TEST(LinkDistributions, TablesAreIproute2s) {
  // Oracle: the .dist files iproute2 ships (generated by netem/normal.c, pareto.c, paretonormal.c).
  const std::string dir = "/usr/lib/x86_64-linux-gnu/tc/";
  if (!std::ifstream(dir + "normal.dist"))
    GTEST_SKIP() << "iproute2's distribution tables are not installed in " << dir;
  for (auto [d, name] : {std::pair{Distribution::kNormal, "normal"}, std::pair{Distribution::kPareto, "pareto"},
                         std::pair{Distribution::kParetoNormal, "paretonormal"}}) {
    auto ref = read_dist(dir + name + ".dist");
    const auto& ours = netem_table(d);
    ASSERT_EQ(ref.size(), ours.size()) << name;
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(ref[i], ours[i]) << name << " entry " << i;
  }
}

TEST(LinkDistributions, ShapesAndNetemArithmetic) {
  EXPECT_TRUE(netem_table(Distribution::kUniform).empty());
  for (auto d : {Distribution::kNormal, Distribution::kPareto, Distribution::kParetoNormal}) {
    const auto& t = netem_table(d);
    ASSERT_EQ(t.size(), 4096u);
    EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  }
  EXPECT_NEAR(distribution_moments(Distribution::kNormal).stddev, 1.0, 0.001);
  EXPECT_NEAR(distribution_moments(Distribution::kNormal).mean, 0.0, 0.001);
  EXPECT_NEAR(distribution_moments(Distribution::kUniform).stddev, 1 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(distribution_cdf(Distribution::kNormal, 0), 0.5, 0.001);
  EXPECT_NEAR(distribution_cdf(Distribution::kNormal, 1), 0.8413, 0.001);
  // tabledist: sigma 0 is mu; uniform spans [mu - sigma, mu + sigma).
  EXPECT_EQ(netem_tabledist(100, 0, 12345, Distribution::kNormal), 100);
  EXPECT_EQ(netem_tabledist(100, 10, 0, Distribution::kUniform), 90);
  EXPECT_EQ(netem_tabledist(100, 10, 19, Distribution::kUniform), 109);
  // The table's lowest quantile (-32768 / 8192 = -4 sigma) at rnd index 0.
  EXPECT_EQ(netem_tabledist(0, 8192 * 1000, 0, Distribution::kNormal), -32768 * 1000);
}

}  // namespace
}  // namespace sockchaos::linkemu
