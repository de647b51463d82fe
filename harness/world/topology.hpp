// A cell's network: one namespace per host, a veth pair per link, a /30 from 198.18.0.0/15
// per link (and/or a /64 from 2001:2::/48: 2001:2:0:<link>::1 and ::2, by the scenario's family), routes so every host reaches every other, forwarding on hosts with two or more
// links, then the scenario's sysctls. Everything lives in namespaces this object holds by fd;
// destroying it (or the process dying) removes all of it.
#pragma once
#include "common/phases.hpp"
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/model/load.hpp"
#include "netns/link_emulator.hpp"
#include "netns/netns.hpp"

namespace sockchaos::harness {

struct Interface {
  std::string name;          // "sc0": interface name inside the host
  std::string address;       // "198.18.0.1" (empty in an "ipv6" scenario)
  std::string cidr;          // "198.18.0.1/30"
  std::string peer_host;     // the host at the other end
  std::string peer_ifname;   // its interface name
  std::string peer_address;
  std::string address6, cidr6, peer_address6;  // "2001:2:0:3::1", "/64" (empty in an "ipv4" scenario)
};

struct Host {
  std::string name;
  netns::NetNs ns;
  std::vector<Interface> interfaces;
  const std::string& address() const;   // IPv4 address of the first interface
  const std::string& address6() const;  // IPv6 address of the first interface
};

// Pure description of the addressing and routing (unit-testable, no kernel).
struct TopologyPlan {
  struct HostPlan {
    std::string name;
    std::vector<Interface> interfaces;
    std::vector<std::pair<std::string, std::string>> routes;  // dst cidr -> gateway (IPv4 and IPv6)
    bool forwarding = false;
  };
  std::vector<HostPlan> hosts;
  struct LinkPlan { std::string a, b, a_if, b_if; };
  std::vector<LinkPlan> links;
};
Result<TopologyPlan> plan_topology(const Scenario& scenario);

// The buckets of each host's private TCP established hash (netns::kTcpHashLarge/Small): the
// small table only when every program in the cell is one of our agents and the client opens
// a known number of sockets over the whole cell, at most half the small table's buckets (idle
// and stream: one; probe: `count`, each leaving a TIME_WAIT); the large one for user
// programs, request workloads (a connection the server closes is opened again, without
// bound) and bigger probe runs. The size changes how much a census dump costs, not what the
// kernel does: the limits it would derive from it are set from the host's (netns::NetNs::create).
unsigned tcp_hash_buckets(const Scenario& scenario);

class Topology {
 public:
  // `phases` (benchmarks only) gets a mark at the end of each step of the build.
  static Result<Topology> build(const Scenario& scenario, PhaseLog* phases = nullptr);
  Topology(Topology&&) noexcept = default;
  Topology& operator=(Topology&&) noexcept = default;

  Host& host(const std::string& name);
  const Host& host(const std::string& name) const;
  bool has_host(const std::string& name) const;
  std::vector<Host>& hosts() { return hosts_; }
  const TopologyPlan& plan() const { return plan_; }
  // The address `from` uses to reach `to` (to's address on the path from `from`).
  std::string address_for(const std::string& to, const std::string& from, bool ipv6 = false) const;
  IpFamily family() const { return family_; }

  // Emulated links (Scenario::links[i] with impairments, or one an impair fault changes).
  struct LinkState {
    std::string backend;  // "veth" (plain), "builtin" (the link emulator) or "netem"
    uint64_t seed = 0;
    linkemu::Impairment base_a_to_b, base_b_to_a;  // what the scenario gave it
    linkemu::Impairment now_a_to_b, now_b_to_a;    // what it does now
  };
  const std::vector<LinkState>& links() const { return links_; }
  // Changes link `index` (an impair fault), or puts its scenario impairments back.
  Status impair(size_t index, const linkemu::Impairment& a_to_b, const linkemu::Impairment& b_to_a);
  Status restore(size_t index);
  // The link emulator's counters of link `index`, if it has one.
  std::optional<netns::LinkStats> link_stats(size_t index) const;

 private:
  Topology() = default;
  std::vector<Host> hosts_;
  TopologyPlan plan_;
  IpFamily family_ = IpFamily::ipv4;
  std::vector<LinkState> links_;
  std::vector<std::optional<netns::LinkEmulator>> emulators_;  // parallel to links_
};

// A kernel feature a scenario asks for is missing (e.g. link_backend "netem" without
// sch_netem): the error's errno is ENOTSUP and its message says what to do.
inline constexpr int kMissingFeatureErrno = ENOTSUP;

}  // namespace sockchaos::harness
