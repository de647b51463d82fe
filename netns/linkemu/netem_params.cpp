#include "netns/linkemu/netem_params.hpp"

#include <climits>
#include <cmath>

#include "netns/linkemu/distribution.hpp"

namespace sockchaos::linkemu {

uint32_t netem_probability(double p) {
  if (!(p > 0)) return 0;
  if (p >= 1) return UINT32_MAX;
  return static_cast<uint32_t>(std::rint(p * UINT32_MAX));
}

Result<NetemParams> netem_params(const Impairment& imp, uint64_t seed) {
  if (auto problems = validate(imp); !problems.empty())
    return Error::plain("invalid impairment: " + problems.front().pointer + " " + problems.front().message);
  NetemParams n;
  n.latency_ns = static_cast<uint64_t>(imp.delay.count());
  n.jitter_ns = static_cast<uint64_t>(imp.jitter.count());
  // netem_change() caps jitter at INT_MAX ns: tabledist() takes a 32-bit sigma.
  if (n.jitter_ns > static_cast<uint64_t>(INT32_MAX))
    return Error::plain("jitter " + std::to_string(n.jitter_ns / 1000000) +
                        " ms is beyond what netem takes (2147 ms, a 32-bit sigma in tabledist())");
  if (n.jitter_ns > 0) n.delay_dist = netem_table(imp.distribution);
  if (imp.gilbert_elliott) {
    const auto& ge = *imp.gilbert_elliott;
    // sch_netem.c loss_gilb_ell(): bad state loses when its draw > a3, so a3 is h (the
    // delivery probability, what tc stores for its "1-h" argument); a4 = k1 is 1 - k.
    n.gilbert_elliott = NetemGeModel{netem_probability(ge.p), netem_probability(ge.r), netem_probability(ge.h),
                                     netem_probability(1 - ge.k)};
  } else {
    n.loss = netem_probability(imp.loss);
  }
  n.duplicate = netem_probability(imp.duplicate);
  n.corrupt = netem_probability(imp.corrupt);
  if (imp.reorder > 0) {
    n.reorder = netem_probability(imp.reorder);
    n.gap = 1;  // tc: "if (opt.gap == 0) opt.gap = 1" — every packet may be the reordered one
  }
  n.mtu = imp.effective_mtu();
  n.seed = seed;
  const uint64_t frame = static_cast<uint64_t>(n.mtu + kEthernetHeader);
  if (imp.rate_bps > 0) {
    n.rate_bytes = static_cast<uint64_t>(std::llround(imp.rate_bps / 8));
    // netem's limit counts packets, the delay line's included: the queue's frames plus what a
    // full-rate link holds in flight for delay + 4 sigma of jitter.
    uint64_t queue = (imp.effective_queue_bytes() + frame - 1) / frame;
    double in_flight_s = (imp.delay.count() + 4.0 * imp.jitter.count()) / 1e9;
    uint64_t flight = static_cast<uint64_t>(std::ceil(in_flight_s * n.rate_bytes / frame));
    n.limit = static_cast<uint32_t>(std::min<uint64_t>(queue + flight, UINT32_MAX));
    n.differences.push_back("netem's queue limit is " + std::to_string(n.limit) +
                            " packets including those in the delay line (full-size frames assumed), not " +
                            std::to_string(imp.effective_queue_bytes()) + " bytes waiting for the serializer");
  } else {
    n.limit = kNetemUnboundedLimit;
    if (n.jitter_ns > 0) {
      // With a rate, netem_enqueue() sends a packet no earlier than the last one queued
      // (time_to_send = max(last, now + delay) + length / rate): jittered packets stay in order.
      n.rate_bytes = kNetemOrderRate;
      n.rate_only_for_order = true;
    }
  }
  if (imp.duplicate > 0)
    n.differences.push_back("netem re-enqueues a duplicate at the root: it gets its own delay, loss and corruption");
  if (imp.reorder > 0 && imp.rate_bps > 0)
    n.differences.push_back("netem's reordered packets skip the rate limiter too");
  if (imp.corrupt > 0)
    n.differences.push_back(
        "netem may flip a bit of the Ethernet header as well (the receiver then drops the frame "
        "without a checksum error)");
  return n;
}

}  // namespace sockchaos::linkemu
