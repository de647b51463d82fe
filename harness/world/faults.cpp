#include "harness/world/faults.hpp"

#include <cmath>
#include <sstream>

namespace sockchaos::harness {

namespace {

const TopologyPlan::HostPlan* find_host(const TopologyPlan& topo, const std::string& name) {
  for (const auto& h : topo.hosts)
    if (h.name == name) return &h;
  return nullptr;
}

// Match expressions for one rule; a port match yields two variants (either end's port).
std::vector<std::string> match_variants(const FaultMatch& m) {
  std::string common;
  if (m.tcp_flags == TcpFlag::syn) common += " tcp flags & syn == syn";
  if (m.state) common += " ct state " + name_string(*m.state);
  if (m.port) {
    return {common + " tcp dport " + std::to_string(*m.port),
            common + " tcp sport " + std::to_string(*m.port)};
  }
  return {common};
}

std::string verdict(const Fault& f) {
  switch (f.kind) {
    case FaultKind::drop: {
      int per_mille = static_cast<int>(std::lround(f.probability * 1000.0));
      if (per_mille >= 1000) return " drop";
      return " numgen random mod 1000 < " + std::to_string(per_mille) + " drop";
    }
    case FaultKind::reject: {
      // Only TCP segments are refused, and never a RST: the answers a reject sends (RSTs,
      // ICMP errors) must pass the neighbour's rule on their way back, or nobody learns.
      const std::string tcp_not_rst = " meta l4proto tcp tcp flags & rst == 0";
      if (f.with == RejectWith::tcp_reset) return tcp_not_rst + " reject with tcp reset";
      std::string type = name_string(f.with).substr(std::string("icmp-").size());  // port-unreachable ...
      return tcp_not_rst + " reject with icmpx type " + type;
    }
    default:
      return " drop";  // blackhole, crash
  }
}

struct ChainSpec {
  std::string suffix, hook;
  int priority;
};

}  // namespace

Result<std::vector<NamespaceRules>> plan_packet_fault(const Fault& fault, int index,
                                                      const TopologyPlan& topology) {
  if (!fault.is_packet_fault()) return Error::plain("fault kind " + name_string(fault.kind) + " is not a packet fault");
  const auto* target = find_host(topology, fault.on);
  if (!target) return Error::plain("fault on unknown host " + fault.on);
  const bool crash = fault.kind == FaultKind::crash;
  bool inbound = fault.direction != Direction::out || crash;
  bool outbound = fault.direction != Direction::in || crash;

  // Rejects must answer from a hook that can send (input, forward); drops go in prerouting
  // at priority -150, after conntrack (-200) so `ct state` matches work.
  std::vector<ChainSpec> chains;
  if (fault.kind == FaultKind::reject)
    chains = {{"in", "input", 0}, {"fwd", "forward", 0}};
  else
    chains = {{"pre", "prerouting", -150}};

  // host -> interfaces on which to filter arriving packets
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  if (inbound) {
    std::vector<std::string> ifs;
    for (const auto& itf : target->interfaces) ifs.push_back(itf.name);
    where.emplace_back(target->name, ifs);
  }
  if (outbound) {
    for (const auto& itf : target->interfaces) {
      bool merged = false;
      for (auto& [h, ifs] : where)
        if (h == itf.peer_host) { ifs.push_back(itf.peer_ifname); merged = true; }
      if (!merged) where.emplace_back(itf.peer_host, std::vector<std::string>{itf.peer_ifname});
    }
  }

  std::vector<NamespaceRules> out;
  const std::string tag = "f" + std::to_string(index);
  for (const auto& [host, ifs] : where) {
    std::ostringstream install, remove;
    install << "add table inet " << kNftTable << "\n";
    for (const auto& c : chains) {
      std::string chain = tag + "_" + c.suffix;
      install << "add chain inet " << kNftTable << " " << chain << " { type filter hook " << c.hook
              << " priority " << c.priority << "; policy accept; }\n";
      for (const auto& ifname : ifs)
        for (const auto& m : match_variants(fault.match))
          install << "add rule inet " << kNftTable << " " << chain << " iifname \"" << ifname
                  << "\"" << m << verdict(fault) << " comment \"" << fault.label() << "\"\n";
      remove << "flush chain inet " << kNftTable << " " << chain << "\n"
             << "delete chain inet " << kNftTable << " " << chain << "\n";
    }
    out.push_back({host, install.str(), remove.str(), ifs});
  }
  return out;
}

}  // namespace sockchaos::harness
