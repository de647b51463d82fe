// The netem backend: the same impairments as sch_netem qdiscs, for kernels that have it. Each
// direction of a link is the egress of one host's interface (a -> b: the root qdisc of a's
// end). Parameters come from linkemu::netem_params(); the request is libnl-route's netem
// message (rtnl_netem_set_*) with the attributes libnl 3.7 cannot set (64-bit latency and
// jitter, Gilbert–Elliott, rate, PRNG seed) appended inside TCA_OPTIONS, as sch_netem parses it.
//
// Untested against a kernel here: the machine this was written on has no sch_netem. The probe's
// negative path and the request's bytes are tested; apply/remove are not.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/linkemu/netem_params.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

struct NetemProbe {
  bool available = false;
  std::string detail;  // what happened, for `doctor`
};
// Tries to add a netem qdisc to lo in a scratch namespace (made and dropped here).
NetemProbe probe_netem();
bool netem_available();

// Replaces ifname's root qdisc in ns with netem configured for `impairment`, and sets the
// interface's MTU when the impairment names one.
Status apply_netem(const NetNs& ns, const std::string& ifname, const linkemu::Impairment& impairment, uint64_t seed);
// Deletes ifname's root qdisc (back to the veth's default, noqueue).
Status remove_netem(const NetNs& ns, const std::string& ifname);

// The RTM_NEWQDISC request apply_netem() sends for an interface index (no kernel involved).
Result<std::vector<uint8_t>> netem_request(int ifindex, const linkemu::NetemParams& params);

}  // namespace sockchaos::netns
