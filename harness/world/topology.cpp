#include "harness/world/topology.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <future>
#include <set>
#include <stdexcept>

#include "common/clock.hpp"

#include "netns/link.hpp"
#include "netns/netem.hpp"

namespace sockchaos::harness {

const std::string& Host::address() const {
  static const std::string none;
  return interfaces.empty() ? none : interfaces.front().address;
}
const std::string& Host::address6() const {
  static const std::string none;
  return interfaces.empty() ? none : interfaces.front().address6;
}

namespace {
// Link i gets 198.18.0.0/15 + 4*i as a /30: .1 for side a, .2 for side b.
std::string link_address(size_t link_index, int host_part) {
  uint32_t base = (198u << 24) | (18u << 16);
  uint32_t addr = base + static_cast<uint32_t>(link_index) * 4u + static_cast<uint32_t>(host_part);
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 255) + "." +
         std::to_string((addr >> 8) & 255) + "." + std::to_string(addr & 255);
}
std::string link_network(size_t link_index) { return link_address(link_index, 0) + "/30"; }
// Link i gets 2001:2:0:i::/64 (RFC 5180's benchmarking range): ::1 for side a, ::2 for side b.
std::string link_address6(size_t link_index, int host_part) {
  char text[48];
  std::snprintf(text, sizeof text, "2001:2:0:%zx::%d", link_index, host_part);
  return text;
}
std::string link_network6(size_t link_index) {
  char text[48];
  std::snprintf(text, sizeof text, "2001:2:0:%zx::/64", link_index);
  return text;
}
}  // namespace

Result<TopologyPlan> plan_topology(const Scenario& scenario) {
  TopologyPlan plan;
  std::map<std::string, size_t> index;
  for (const auto& h : scenario.hosts) {
    index[h.name] = plan.hosts.size();
    plan.hosts.push_back({h.name, {}, {}, false});
  }
  if (scenario.links.size() > 32768) return Error::plain("too many links for 198.18.0.0/15");
  for (size_t i = 0; i < scenario.links.size(); ++i) {
    const std::string& a = scenario.links[i].a;
    const std::string& b = scenario.links[i].b;
    if (!index.count(a) || !index.count(b) || a == b)
      return Error::plain("link " + a + " - " + b + " names an unknown host");
    auto& ha = plan.hosts[index[a]];
    auto& hb = plan.hosts[index[b]];
    std::string a_if = "sc" + std::to_string(ha.interfaces.size());
    std::string b_if = "sc" + std::to_string(hb.interfaces.size());
    const bool v4 = scenario.family != IpFamily::ipv6, v6 = scenario.family != IpFamily::ipv4;
    std::string a_addr = v4 ? link_address(i, 1) : "", b_addr = v4 ? link_address(i, 2) : "";
    std::string a6 = v6 ? link_address6(i, 1) : "", b6 = v6 ? link_address6(i, 2) : "";
    ha.interfaces.push_back({a_if, a_addr, v4 ? a_addr + "/30" : "", b, b_if, b_addr, a6, v6 ? a6 + "/64" : "", b6});
    hb.interfaces.push_back({b_if, b_addr, v4 ? b_addr + "/30" : "", a, a_if, a_addr, b6, v6 ? b6 + "/64" : "", a6});
    plan.links.push_back({a, b, a_if, b_if});
  }
  // Routes: for every link not attached to a host, go via the first hop of a shortest path.
  for (auto& h : plan.hosts) {
    h.forwarding = h.interfaces.size() >= 2;
    // BFS from h: first-hop gateway address for each reachable host.
    std::map<std::string, std::string> gateway, gateway6;  // host -> gateway address from h
    std::deque<std::string> queue{h.name};
    std::set<std::string> seen{h.name};
    while (!queue.empty()) {
      std::string cur = queue.front();
      queue.pop_front();
      for (const auto& itf : plan.hosts[index[cur]].interfaces) {
        if (seen.count(itf.peer_host)) continue;
        seen.insert(itf.peer_host);
        gateway[itf.peer_host] = (cur == h.name) ? itf.peer_address : gateway[cur];
        gateway6[itf.peer_host] = (cur == h.name) ? itf.peer_address6 : gateway6[cur];
        queue.push_back(itf.peer_host);
      }
    }
    for (size_t i = 0; i < scenario.links.size(); ++i) {
      const std::string& a = scenario.links[i].a;
      const std::string& b = scenario.links[i].b;
      if (a == h.name || b == h.name) continue;
      // Reach the nearer end of the link; both ends lead onto it.
      auto ga = gateway.find(a);
      auto gb = gateway.find(b);
      if (ga == gateway.end() && gb == gateway.end()) continue;  // unreachable island
      const bool near_a = ga != gateway.end();
      if (scenario.family != IpFamily::ipv6) h.routes.emplace_back(link_network(i), near_a ? ga->second : gb->second);
      if (scenario.family != IpFamily::ipv4) h.routes.emplace_back(link_network6(i), gateway6[near_a ? a : b]);
    }
  }
  return plan;
}

unsigned tcp_hash_buckets(const Scenario& scenario) {
  const auto user_program = [](const ServerSpec& s) { return s.behavior == ServerBehavior::command; };
  if (user_program(scenario.server) || (scenario.upstream_server && user_program(*scenario.upstream_server)))
    return netns::kTcpHashLarge;
  const Workload& w = scenario.client.workload;
  switch (w.kind) {
    case WorkloadKind::idle:
    case WorkloadKind::stream:
      return netns::kTcpHashSmall;
    case WorkloadKind::probe:
      return w.count <= static_cast<int>(netns::kTcpHashSmall / 2) ? netns::kTcpHashSmall : netns::kTcpHashLarge;
    case WorkloadKind::request:
    case WorkloadKind::command:
      break;
  }
  return netns::kTcpHashLarge;
}

Result<Topology> Topology::build(const Scenario& scenario, PhaseLog* phases) {
  auto plan = plan_topology(scenario);
  if (!plan.ok()) return plan.error();
  Topology topo;
  topo.plan_ = std::move(plan.value());
  topo.family_ = scenario.family;
  // Each link's backend: a plain veth pair, or through the emulator / netem when the scenario
  // impairs it (or an impair fault will).
  enum class Backend { veth, netem, builtin };
  std::vector<Backend> backends;
  for (size_t i = 0; i < topo.plan_.links.size(); ++i) {
    const auto& l = topo.plan_.links[i];
    bool impaired_later = false;
    for (const auto& f : scenario.faults)
      for (const auto& li : f.impair) impaired_later |= li.link == i;
    if (!scenario.links[i].emulated() && !impaired_later) {
      backends.push_back(Backend::veth);
      continue;
    }
    bool netem = scenario.link_backend == LinkBackend::netem;
    if (scenario.link_backend == LinkBackend::auto_) netem = netns::netem_available();
    if (netem && !netns::netem_available())
      return Error{"link " + l.a + " - " + l.b + ": link_backend \"netem\" needs sch_netem, which this kernel lacks "
                   "(CONFIG_NET_SCH_NETEM); use \"builtin\" or \"auto\" (the built-in emulator)",
                   kMissingFeatureErrno};
    backends.push_back(netem ? Backend::netem : Backend::builtin);
  }
  // The namespaces are made side by side (the kernel runs each one's pernet set-up under a
  // shared lock, net/core/net_namespace.c copy_net_ns: down_read(pernet_ops_rwsem)), the
  // first on this thread; so are the wire namespaces of the emulated links.
  // One receive-steering CPU for all of the cell's namespaces (netns::next_cell_steering_mask).
  const std::string steering = netns::next_cell_steering_mask();
  const unsigned buckets = tcp_hash_buckets(scenario);
  std::vector<std::future<Result<netns::NetNs>>> others, wires;
  for (size_t i = 1; i < topo.plan_.hosts.size(); ++i)
    others.push_back(std::async(std::launch::async, [&steering, buckets] { return netns::NetNs::create(steering, buckets); }));
  for (Backend b : backends)
    if (b == Backend::builtin) wires.push_back(std::async(std::launch::async, [] { return netns::LinkEmulator::wire_namespace(); }));
  std::vector<Result<netns::NetNs>> made;
  made.push_back(netns::NetNs::create(steering, buckets));
  for (auto& f : others) made.push_back(f.get());
  std::vector<Result<netns::NetNs>> made_wires;
  for (auto& f : wires) made_wires.push_back(f.get());
  for (auto& w : made_wires)
    if (!w.ok()) return w.error();
  for (size_t i = 0; i < made.size(); ++i) {
    const auto& hp = topo.plan_.hosts[i];
    if (!made[i].ok())
      return Error{"create namespace for host " + hp.name + ": " + made[i].error().message, made[i].error().err};
    topo.hosts_.push_back(Host{hp.name, std::move(made[i].value()), hp.interfaces});
  }
  mark(phases, "namespaces");
  // The steering mask is read when a device is made: a scenario's own value must be in place
  // before the veths (every other sysctl is written once the links are up).
  for (const auto& hs : scenario.hosts) {
    for (const auto& [key, value] : hs.sysctl) {
      if (key != "net.core.rps_default_mask") continue;
      if (auto st = netns::set_sysctl(topo.host(hs.name).ns, key, value); !st.ok())
        return Error{"host " + hs.name + ": " + st.error().message, st.error().err};
    }
  }
  std::vector<netns::RouteSocket> socks;
  for (auto& h : topo.hosts_) {
    auto s = netns::RouteSocket::open(h.ns);
    if (!s.ok()) return s.error();
    socks.push_back(std::move(s.value()));
  }
  mark(phases, "route sockets");
  auto idx = [&](const std::string& name) {
    for (size_t i = 0; i < topo.hosts_.size(); ++i)
      if (topo.hosts_[i].name == name) return i;
    throw std::logic_error("unknown host " + name);
  };
  size_t next_wire = 0;
  // getrandom(2), not std::random_device: libstdc++'s checks the CPU with CPUID at each
  // construction, a trap to the hypervisor on a VM, once per cell.
  uint64_t fresh = 0;
  if (!scenario.seed && ::getrandom(&fresh, sizeof fresh, 0) != static_cast<ssize_t>(sizeof fresh))
    fresh = static_cast<uint64_t>(monotonic_ns()) ^ (static_cast<uint64_t>(::getpid()) << 32);
  const uint64_t seed = scenario.seed ? *scenario.seed : fresh;
  for (size_t i = 0; i < topo.plan_.links.size(); ++i) {
    const auto& l = topo.plan_.links[i];
    const LinkSpec& spec = scenario.links[i];
    size_t a = idx(l.a), b = idx(l.b);
    LinkState state;
    state.seed = seed + i;
    state.base_a_to_b = state.now_a_to_b = spec.a_to_b.value_or(linkemu::Impairment{});
    state.base_b_to_a = state.now_b_to_a = spec.b_to_a.value_or(linkemu::Impairment{});
    if (backends[i] == Backend::veth) {
      state.backend = "veth";
      if (auto st = socks[a].create_veth(l.a_if, topo.hosts_[b].ns.fd(), l.b_if); !st.ok()) return st.error();
      topo.emulators_.emplace_back();
    } else {
      if (backends[i] == Backend::netem) {
        state.backend = "netem";
        const int mtu = std::max(state.base_a_to_b.effective_mtu(), state.base_b_to_a.effective_mtu());
        if (auto st = socks[a].create_veth(l.a_if, topo.hosts_[b].ns.fd(), l.b_if, mtu, mtu, false); !st.ok())
          return st.error();
        if (auto st = netns::apply_netem(topo.hosts_[a].ns, l.a_if, state.base_a_to_b, state.seed); !st.ok()) return st.error();
        if (auto st = netns::apply_netem(topo.hosts_[b].ns, l.b_if, state.base_b_to_a, state.seed + 1); !st.ok())
          return st.error();
        topo.emulators_.emplace_back();
      } else {
        state.backend = "builtin";
        auto emu = netns::LinkEmulator::create(topo.hosts_[a].ns, l.a_if, topo.hosts_[b].ns, l.b_if, state.base_a_to_b,
                                               state.base_b_to_a, state.seed, std::move(made_wires.at(next_wire++).value()));
        if (!emu.ok()) return Error{"link " + l.a + " - " + l.b + ": " + emu.error().message, emu.error().err};
        topo.emulators_.emplace_back(std::move(emu.value()));
      }
    }
    topo.links_.push_back(std::move(state));
  }
  mark(phases, "veth pairs");
  for (size_t i = 0; i < topo.hosts_.size(); ++i) {
    auto& h = topo.hosts_[i];
    const auto& hp = topo.plan_.hosts[i];
    for (const auto& itf : h.interfaces) {
      if (!itf.cidr.empty())
        if (auto st = socks[i].add_address(itf.name, itf.cidr); !st.ok()) return st.error();
      // IPv6 addresses skip duplicate address detection (IFA_F_NODAD): nothing else is on a
      // scenario's link, and a tentative address would refuse the first connect for ~1 s.
      if (!itf.cidr6.empty())
        if (auto st = socks[i].add_address(itf.name, itf.cidr6); !st.ok()) return st.error();
      if (auto st = socks[i].set_up(itf.name, true); !st.ok()) return st.error();
    }
    if (hp.forwarding) {
      if (scenario.family != IpFamily::ipv6)
        if (auto st = netns::set_sysctl(h.ns, "net.ipv4.ip_forward", "1"); !st.ok()) return st.error();
      if (scenario.family != IpFamily::ipv4)
        if (auto st = netns::set_sysctl(h.ns, "net.ipv6.conf.all.forwarding", "1"); !st.ok()) return st.error();
    }
  }
  mark(phases, "addresses + up");
  for (size_t i = 0; i < topo.hosts_.size(); ++i)
    for (const auto& itf : topo.hosts_[i].interfaces)
      if (auto st = socks[i].wait_operational(itf.name, 3000); !st.ok()) return st.error();
  mark(phases, "operational wait");
  for (size_t i = 0; i < topo.hosts_.size(); ++i) {
    for (const auto& [dst, gw] : topo.plan_.hosts[i].routes)
      if (auto st = socks[i].add_route(dst, gw); !st.ok()) return st.error();
  }
  for (const auto& hs : scenario.hosts) {
    auto& h = topo.host(hs.name);
    for (const auto& [key, value] : hs.sysctl) {
      auto st = netns::set_sysctl(h.ns, key, value);
      if (!st.ok()) return Error{"host " + hs.name + ": " + st.error().message, st.error().err};
    }
  }
  mark(phases, "routes + sysctls");
  return topo;
}

Host& Topology::host(const std::string& name) {
  for (auto& h : hosts_)
    if (h.name == name) return h;
  throw std::out_of_range("no host " + name);
}

const Host& Topology::host(const std::string& name) const {
  for (const auto& h : hosts_)
    if (h.name == name) return h;
  throw std::out_of_range("no host " + name);
}

bool Topology::has_host(const std::string& name) const {
  for (const auto& h : hosts_)
    if (h.name == name) return true;
  return false;
}

Status Topology::impair(size_t index, const linkemu::Impairment& a_to_b, const linkemu::Impairment& b_to_a) {
  if (index >= links_.size()) return Error::plain("no link " + std::to_string(index));
  LinkState& state = links_[index];
  const auto& l = plan_.links[index];
  if (state.backend == "builtin") {
    if (auto st = emulators_[index]->set(netns::Direction::kAToB, a_to_b); !st.ok()) return st;
    if (auto st = emulators_[index]->set(netns::Direction::kBToA, b_to_a); !st.ok()) return st;
  } else if (state.backend == "netem") {
    if (auto st = netns::apply_netem(host(l.a).ns, l.a_if, a_to_b, state.seed); !st.ok()) return st;
    if (auto st = netns::apply_netem(host(l.b).ns, l.b_if, b_to_a, state.seed + 1); !st.ok()) return st;
  } else {
    return Error::plain("link " + l.a + " - " + l.b + " is a plain veth pair and cannot be impaired");
  }
  state.now_a_to_b = a_to_b;
  state.now_b_to_a = b_to_a;
  return {};
}

Status Topology::restore(size_t index) {
  if (index >= links_.size()) return Error::plain("no link " + std::to_string(index));
  return impair(index, links_[index].base_a_to_b, links_[index].base_b_to_a);
}

std::optional<netns::LinkStats> Topology::link_stats(size_t index) const {
  if (index >= emulators_.size() || !emulators_[index]) return std::nullopt;
  return emulators_[index]->stats();
}

std::string Topology::address_for(const std::string& to, const std::string& from, bool ipv6) const {
  const Host& target = host(to);
  // Prefer the interface facing `from` directly; else the first one (routes reach all).
  for (const auto& itf : target.interfaces)
    if (itf.peer_host == from) return ipv6 ? itf.address6 : itf.address;
  return ipv6 ? target.address6() : target.address();
}

}  // namespace sockchaos::harness
