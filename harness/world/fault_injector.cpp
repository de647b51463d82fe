#include "harness/world/fault_injector.hpp"

#include <signal.h>

#include "harness/protocol/events.hpp"
#include "netns/census.hpp"
#include "netns/link.hpp"

namespace sockchaos::harness {

FaultInjector::FaultInjector(Topology& topology,
                             std::function<std::vector<ChildProcess*>(const std::string&)> processes_on)
    : topology_(topology), processes_on_(std::move(processes_on)) {}

Result<netns::NftContext*> FaultInjector::nft(const std::string& host) {
  auto it = nft_.find(host);
  if (it != nft_.end()) return &it->second;
  auto ctx = netns::NftContext::open(topology_.host(host).ns);
  if (!ctx.ok()) return Error{"cannot open nftables in host " + host + ": " + ctx.error().message, ctx.error().err};
  return &nft_.emplace(host, std::move(ctx.value())).first->second;
}

Status FaultInjector::prepare(const std::vector<Fault>& faults) {
  for (size_t i = 0; i < faults.size(); ++i) {
    if (!faults[i].is_packet_fault()) continue;
    auto plan = plan_packet_fault(faults[i], static_cast<int>(i), topology_.plan());
    if (!plan.ok()) return plan.error();
    for (const auto& r : plan.value())
      if (auto ctx = nft(r.host); !ctx.ok()) return ctx.error();
  }
  return {};
}

Status FaultInjector::set_links(const std::string& host, bool up) {
  auto sock = netns::RouteSocket::open(topology_.host(host).ns);
  if (!sock.ok()) return sock.error();
  for (const auto& itf : topology_.host(host).interfaces)
    if (auto st = sock->set_up(itf.name, up); !st.ok()) return st;
  if (up)  // taking a link down flushed the host's gateway routes; put them back
    for (const auto& hp : topology_.plan().hosts)
      if (hp.name == host)
        for (const auto& [dst, gw] : hp.routes) (void)sock->add_route(dst, gw);
  return {};
}

Result<FaultInjector::Installed> FaultInjector::install(const Fault& fault, int index) {
  Installed out;
  if (fault.is_packet_fault()) {
    auto plan = plan_packet_fault(fault, index, topology_.plan());
    if (!plan.ok()) return plan.error();
    out.rules = std::move(plan.value());
    for (const auto& r : out.rules) {
      auto ctx = nft(r.host);
      if (!ctx.ok()) return ctx.error();
      if (out.begin_ns < 0) out.begin_ns = monotonic_ns();
      if (auto st = (*ctx)->run(r.install); !st.ok()) return st.error();
      if (out.at_ns < 0) out.at_ns = monotonic_ns();
    }
  }
  if (out.at_ns < 0) out.at_ns = monotonic_ns();
  if (out.begin_ns < 0) out.begin_ns = out.at_ns;
  if (fault.kind == FaultKind::kill || fault.kind == FaultKind::crash) {
    for (ChildProcess* p : processes_on_(fault.on)) (void)p->signal_group(SIGKILL);
    if (fault.kind == FaultKind::crash) {
      // Power lost: the host's kernel state goes too. Reap the processes, then drop every
      // TCP socket left (orphans would otherwise answer the peer after the host returns).
      for (ChildProcess* p : processes_on_(fault.on)) p->kill_and_reap();
      auto gone = netns::destroy_all_tcp_sockets(topology_.host(fault.on).ns);
      if (!gone.ok()) return gone.error();
    }
  } else if (fault.kind == FaultKind::pause) {
    for (ChildProcess* p : processes_on_(fault.on)) (void)p->signal_group(SIGSTOP);
  } else if (fault.kind == FaultKind::link_down) {
    if (auto st = set_links(fault.on, false); !st.ok()) return st.error();
  } else if (fault.kind == FaultKind::impair) {
    for (const auto& li : fault.impair)
      if (auto st = topology_.impair(li.link, li.a_to_b, li.b_to_a); !st.ok()) return st.error();
  }
  return out;
}

Result<int64_t> FaultInjector::heal(const Fault& fault, const Installed& installed) {
  for (const auto& r : installed.rules) {
    auto ctx = nft(r.host);
    if (!ctx.ok()) return ctx.error();
    if (auto st = (*ctx)->run(r.remove); !st.ok()) return st.error();
  }
  if (fault.kind == FaultKind::pause) {
    for (ChildProcess* p : processes_on_(fault.on)) (void)p->signal_group(SIGCONT);
  } else if (fault.kind == FaultKind::link_down) {
    if (auto st = set_links(fault.on, true); !st.ok()) return st.error();
  } else if (fault.kind == FaultKind::impair) {
    for (const auto& li : fault.impair)
      if (auto st = topology_.restore(li.link); !st.ok()) return st.error();
  }
  return monotonic_ns();
}

}  // namespace sockchaos::harness
