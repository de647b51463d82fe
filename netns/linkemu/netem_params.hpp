// An impairment in sch_netem's terms, for kernels that have it: the values of the netlink
// attributes netns/netem.cpp sends (include/uapi/linux/pkt_sched.h: tc_netem_qopt,
// TCA_NETEM_*), computed the way iproute2's tc computes them (probabilities scaled to
// UINT32_MAX with rint, gap 1 when reordering, "1-h" stored as h). Pure, so the translation is
// unit-tested on kernels without netem.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/linkemu/impairment.hpp"

namespace sockchaos::linkemu {

// rint(p * UINT32_MAX): iproute2's set_percent(); netem loses when its u32 draw <= the value.
uint32_t netem_probability(double p);

struct NetemGeModel {  // struct tc_netem_gemodel
  uint32_t p = 0, r = 0, h = 0, k1 = 0;
  bool operator==(const NetemGeModel&) const = default;
};

struct NetemParams {
  uint32_t limit = 0;                           // tc_netem_qopt.limit: packets held, delay line included
  uint64_t latency_ns = 0;                      // TCA_NETEM_LATENCY64 (qopt.latency carries it in ticks too)
  uint64_t jitter_ns = 0;                       // TCA_NETEM_JITTER64
  uint32_t loss = 0;                            // qopt.loss (random loss; 0 with a Gilbert–Elliott model)
  uint32_t duplicate = 0;                       // qopt.duplicate
  uint32_t gap = 0;                             // qopt.gap: 1 with reordering, as tc sets it
  uint32_t reorder = 0;                         // TCA_NETEM_REORDER.probability
  uint32_t corrupt = 0;                         // TCA_NETEM_CORRUPT.probability
  std::optional<NetemGeModel> gilbert_elliott;  // TCA_NETEM_LOSS / NETEM_LOSS_GE
  uint64_t rate_bytes = 0;                      // TCA_NETEM_RATE(64), bytes per second; 0 = none
  bool rate_only_for_order = false;             // a rate far above any veth's, set to keep jittered packets in order
  std::vector<int16_t> delay_dist;              // TCA_NETEM_DELAY_DIST; empty = netem's built-in uniform
  uint64_t seed = 0;                            // TCA_NETEM_PRNG_SEED (Linux 6.6+; older kernels ignore it)
  int mtu = 0;                                  // the interface's MTU (not a netem option)
  // Where netem's behaviour differs from the built-in emulator's for this impairment.
  std::vector<std::string> differences;
};

// Packets per second of limit a queue-less netem gets: its limit counts every packet in the
// delay line, and tc's default of 1000 silently drops beyond 1000 in flight (80 ms at 12.5 K
// packets/s).
inline constexpr uint32_t kNetemUnboundedLimit = 100000;
// The order-keeping rate: 2^40 bytes/s (8.8 Tbit/s) serializes a 1514-byte frame in 1.4 ns.
inline constexpr uint64_t kNetemOrderRate = 1ull << 40;

Result<NetemParams> netem_params(const Impairment& impairment, uint64_t seed);

}  // namespace sockchaos::linkemu
