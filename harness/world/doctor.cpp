#include "harness/world/doctor.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness/world/faults.hpp"
#include "netns/census.hpp"
#include "netns/link.hpp"
#include "netns/netem.hpp"
#include "netns/netns.hpp"

namespace sockchaos::harness {

namespace {
uint64_t effective_caps() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}
}  // namespace

std::vector<DoctorCheck> run_doctor(const std::string& agent_path) {
  std::vector<DoctorCheck> out;
  uint64_t caps = effective_caps();
  bool net_admin = caps & (1ull << 12), sys_admin = caps & (1ull << 21);
  out.push_back({"privileges (CAP_NET_ADMIN, CAP_SYS_ADMIN)", net_admin && sys_admin, true,
                 geteuid() == 0 ? "running as root" : "running as uid " + std::to_string(geteuid()),
                 "run as root (sudo sockchaos ...), or in a user namespace: unshare -Urn sockchaos ..."});

  auto a = netns::NetNs::create();
  out.push_back({"network namespaces", a.ok(), true, a.ok() ? "created one (held by fd, no name)" : a.error().str(),
                 "the kernel needs CONFIG_NET_NS=y, and the caller CAP_SYS_ADMIN"});
  if (!a.ok()) return out;
  auto b = netns::NetNs::create();
  if (!b.ok()) return out;

  auto sock = netns::RouteSocket::open(*a);
  Status veth = sock.ok() ? sock->create_veth("doc0", b->fd(), "doc1") : Status(sock.error());
  out.push_back({"veth pairs", veth.ok(), true, veth.ok() ? "created a pair between two namespaces" : veth.error().str(),
                 "load the veth module (modprobe veth) or enable CONFIG_VETH"});

  auto nft = netns::NftContext::open(*a);
  Status nft_ok = nft.ok() ? nft->run("add table inet sockchaos\nadd chain inet sockchaos doc { type filter hook prerouting priority -150; policy accept; }\nadd rule inet sockchaos doc tcp flags & syn == syn drop\n")
                           : Status(nft.error());
  out.push_back({"nftables (libnftables)", nft_ok.ok(), true, nft_ok.ok() ? "installed a drop rule inside a namespace" : nft_ok.error().str(),
                 "enable nf_tables (modprobe nf_tables) and install libnftables1"});
  if (nft.ok()) {
    Status ct = nft->run("add rule inet sockchaos doc ct state established drop\nadd rule inet sockchaos doc meta l4proto tcp numgen random mod 1000 < 500 drop\n");
    out.push_back({"conntrack and numgen matches", ct.ok(), false, ct.ok() ? "ct state and numgen rules accepted" : ct.error().str(),
                   "needed only by faults with match.state or kind drop: modprobe nf_conntrack"});
    Status rej = nft->run("add chain inet sockchaos docin { type filter hook input priority 0; policy accept; }\nadd rule inet sockchaos docin meta l4proto tcp reject with tcp reset\n");
    out.push_back({"reject with tcp reset", rej.ok(), false, rej.ok() ? "reject rules accepted" : rej.error().str(),
                   "needed only by reject faults: modprobe nft_reject_inet"});
  }

  // IPv6 (scenarios with "family": "ipv6" or "dual").
  Status v6 = sock.ok() ? sock->add_address("doc0", "2001:2:0:ffff::1/64") : Status(sock.error());
  out.push_back({"IPv6 addresses", v6.ok(), false, v6.ok() ? "added 2001:2:0:ffff::1/64 inside a namespace" : v6.error().str(),
                 "needed only by scenarios with family ipv6 or dual: boot without ipv6.disable=1"});

  // Links with delay, loss, rate ...: the built-in emulator needs packet sockets; netem is used
  // where the kernel has it.
  int packet = -1;
  Status packet_ok = netns::within(a->fd(), [&]() -> Status {
    packet = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    return packet >= 0 ? Status{} : Status(Error::system("socket(AF_PACKET)"));
  });
  if (packet >= 0) ::close(packet);
  out.push_back({"link emulator (AF_PACKET)", packet_ok.ok(), false,
                 packet_ok.ok() ? "opened a packet socket inside a namespace" : packet_ok.error().str(),
                 "needed only by scenarios whose links have delay, loss, rate ...: enable CONFIG_PACKET"});
  const netns::NetemProbe netem = netns::probe_netem();
  out.push_back({"netem (sch_netem)", netem.available, false, netem.detail,
                 "optional: links use the built-in emulator without it (link_backend \"netem\" needs it)"});

  auto census = netns::Census::open(*a);
  auto counts = census.ok() ? census->count() : Result<StateCounts>(census.error());
  out.push_back({"socket census (inet_diag)", counts.ok(), true, counts.ok() ? "dumped TCP sockets of a namespace" : counts.error().str(),
                 "load inet_diag and tcp_diag (modprobe tcp_diag)"});

  Status sysctl = netns::set_sysctl(*a, "net.ipv4.tcp_retries2", "5");
  out.push_back({"per-namespace sysctls", sysctl.ok(), true, sysctl.ok() ? "set net.ipv4.tcp_retries2 inside a namespace" : sysctl.error().str(),
                 "mount /proc read-write; run with CAP_NET_ADMIN over the namespace"});

  // Not essential: without it veths may reorder a flow whose packets leave from two CPUs.
  auto mask = netns::get_sysctl(*a, "net.core.rps_default_mask");
  bool steering = mask.ok() && mask.value().find_first_not_of("0,") != std::string::npos;
  out.push_back({"per-flow packet order (receive flow steering)", steering, false,
                 steering ? "net.core.rps_default_mask " + mask.value() + " in every namespace"
                          : (mask.ok() ? "net.core.rps_default_mask stays 0" : "no per-namespace net.core.rps_default_mask"),
                 "use a kernel with a per-namespace net.core.rps_default_mask (Linux 6.x); without it, a flow's "
                 "packets sent from two CPUs may arrive reordered and a flat-out probe loop can lose a few "
                 "TIME_WAIT entries to RSTs"});

  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  if (pfd >= 0) ::close(pfd);
  out.push_back({"pidfd_open", pfd >= 0, true, pfd >= 0 ? "available" : "not available",
                 "use Linux 5.3 or newer"});

  bool agent_ok = ::access(agent_path.c_str(), X_OK) == 0;
  out.push_back({"sockchaos-agent", agent_ok, true, agent_path,
                 "build it (cmake --build build) or set SOCKCHAOS_AGENT to its path"});
  return out;
}

std::string doctor_advice(const std::vector<DoctorCheck>& checks) {
  for (const auto& c : checks)
    if (!c.ok && c.essential) return c.name + ": " + c.detail + " — " + c.fix;
  return "";
}

}  // namespace sockchaos::harness
