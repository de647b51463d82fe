// Packet faults as nftables rules, installed through libnftables (never the nft program)
// with one context per namespace, created while the thread is inside that namespace: a
// context binds its netlink socket at creation, so one made elsewhere would write to the
// wrong ruleset (the host's).
//
// Where packets are dropped: at the receiving side's ingress, like a real network. A fault
// "on" host H with direction "in" filters what arrives at H (in H's namespace); "out"
// filters what H sends, at the ingress of each neighbour, on the interface facing H. Nothing
// is ever dropped in a sender's own output path: a local drop makes the kernel retry every
// 500 ms without backoff, which would falsify every timing this tool measures.
//
// Each fault gets its own base chains (named f<index>_<hook>), so healing is deleting them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/model/load.hpp"
#include "harness/world/topology.hpp"
#include "netns/nft.hpp"

namespace sockchaos::harness {

inline constexpr const char* kNftTable = "sockchaos";

struct NamespaceRules {
  std::string host;
  std::string install;  // nft commands, one transaction
  std::string remove;
  std::vector<std::string> ifnames;  // the host's interfaces whose arriving packets the rules filter
};

// Dry run: the exact commands a packet fault (blackhole, drop, reject, crash's blackhole)
// installs in each namespace. Rules for the faulty host come first.
Result<std::vector<NamespaceRules>> plan_packet_fault(const Fault& fault, int index,
                                                      const TopologyPlan& topology);


}  // namespace sockchaos::harness
