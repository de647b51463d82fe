// Kernel plumbing against independent oracles (ip, ss, nft, /proc).
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "harness/world/faults.hpp"
#include "harness/world/topology.hpp"
#include "netns/census.hpp"
#include "netns/link.hpp"
#include "netns/netns.hpp"
#include "netns/nft.hpp"
#include "support.hpp"

using namespace sockchaos;
using sockchaos::testing::sh;

namespace {

harness::Scenario two_hosts() {
  harness::Scenario s;
  s.name = "t";
  s.hosts = {{"client", {}}, {"server", {}}};
  s.links = {{"client", "server"}};
  return s;
}

std::string in_ns(const netns::NetNs& ns, const std::string& cmd) {
  return "nsenter --net=/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(ns.fd()) + " " + cmd;
}

}  // namespace

TEST(NetNs, CreatedNamespaceIsSeparateAndHeldOnlyByFd) {
  SKIP_UNLESS_ABLE();
  auto before = sockchaos::testing::HostNetworkSnapshot::take();
  auto self = netns::NetNs::current();
  ASSERT_TRUE(self.ok());
  unsigned long created_inode = 0;
  {
    auto ns = netns::NetNs::create();
    ASSERT_TRUE(ns.ok()) << ns.error().str();
    created_inode = ns->inode();
    EXPECT_NE(created_inode, self->inode());
    // The calling thread did not move.
    auto still = netns::NetNs::current();
    EXPECT_EQ(still->inode(), self->inode());
    // lo is up inside, per `ip` run in that namespace.
    std::string lo = sh(in_ns(*ns, "ip -o link show lo"));
    EXPECT_NE(lo.find("UP"), std::string::npos) << lo;
  }
  // No name was ever bound; the initial namespace is unchanged.
  auto after = sockchaos::testing::HostNetworkSnapshot::take();
  EXPECT_EQ(before.links, after.links);
  EXPECT_EQ(before.netns_names, after.netns_names);
  // Nobody refers to the namespace any more: lsns does not list it.
  std::string lsns = sh("lsns -t net -n -o NS 2>/dev/null");
  EXPECT_EQ(lsns.find(std::to_string(created_inode)), std::string::npos);
}

TEST(Topology, VethAddressesAndRoutesLiveOnlyInsideTheNamespaces) {
  SKIP_UNLESS_ABLE();
  auto before = sockchaos::testing::HostNetworkSnapshot::take();
  harness::Scenario s = two_hosts();
  s.hosts.push_back({"proxy", {}});
  s.links = {{"client", "proxy"}, {"proxy", "server"}};
  {
    auto topo = harness::Topology::build(s);
    ASSERT_TRUE(topo.ok()) << topo.error().str();
    auto& client = topo->host("client");
    auto& server = topo->host("server");
    std::string addrs = sh(in_ns(client.ns, "ip -o -4 addr show dev sc0"));
    EXPECT_NE(addrs.find("198.18.0.1/30"), std::string::npos) << addrs;
    // client reaches the server across the proxy (routes + forwarding).
    std::string route = sh(in_ns(client.ns, "ip route get " + server.address()));
    EXPECT_NE(route.find("via 198.18.0.2"), std::string::npos) << route;
    int status = -1;
    sh(in_ns(client.ns, "ping -c1 -W2 " + server.address() + " >/dev/null 2>&1"), &status);
    if (status == 127) GTEST_SKIP() << "ping not installed";
    EXPECT_EQ(status, 0) << "client cannot reach server through proxy";
    EXPECT_EQ(sh(in_ns(topo->host("proxy").ns, "cat /proc/sys/net/ipv4/ip_forward")), "1\n");
    // Nothing of it shows in the initial namespace.
    auto during = sockchaos::testing::HostNetworkSnapshot::take();
    EXPECT_EQ(before.links, during.links);
  }
  EXPECT_EQ(before.links, sockchaos::testing::HostNetworkSnapshot::take().links);
}

TEST(Sysctl, SetInsideNamespaceNeverTouchesTheHost) {
  SKIP_UNLESS_ABLE();
  std::string host_before = sh("cat /proc/sys/net/ipv4/tcp_retries2");
  auto ns = netns::NetNs::create();
  ASSERT_TRUE(ns.ok());
  std::string value = host_before == "4\n" ? "5" : "4";
  ASSERT_TRUE(netns::set_sysctl(*ns, "net.ipv4.tcp_retries2", value).ok());
  EXPECT_EQ(sh(in_ns(*ns, "cat /proc/sys/net/ipv4/tcp_retries2")), value + "\n");
  EXPECT_EQ(netns::get_sysctl(*ns, "net.ipv4.tcp_retries2").value(), value);
  EXPECT_EQ(sh("cat /proc/sys/net/ipv4/tcp_retries2"), host_before);
  // Not per namespace (only exists in the initial one): refused with a clear message.
  auto st = netns::set_sysctl(*ns, "net.ipv4.tcp_mem", "1 2 3");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not a per-network-namespace"), std::string::npos) << st.error().message;
  // Not net.*: refused before touching anything.
  EXPECT_FALSE(netns::set_sysctl(*ns, "kernel.pid_max", "1000").ok());
  EXPECT_FALSE(netns::set_sysctl(*ns, "net.ipv4.../../kernel/pid_max", "1000").ok());
}

TEST(Census, TimeWaitCountMatchesSs) {
  SKIP_UNLESS_ABLE();
  auto topo = harness::Topology::build(two_hosts());
  ASSERT_TRUE(topo.ok()) << topo.error().str();
  auto& client = topo->host("client");
  auto& server = topo->host("server");
  const int kConnections = 150;
  // Server: a listener in the server namespace that accepts and closes after the client.
  int lfd;
  {
    auto in = netns::ScopedNetns::enter(server.ns.fd());
    ASSERT_TRUE(in.ok());
    lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(9000);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(lfd, 1024), 0);
  }
  {
    auto in = netns::ScopedNetns::enter(client.ns.fd());
    ASSERT_TRUE(in.ok());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(9000);
    ::inet_pton(AF_INET, server.address().c_str(), &a.sin_addr);
    for (int i = 0; i < kConnections; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
      int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      ASSERT_GE(c, 0);
      ::close(fd);  // client closes first: TIME_WAIT on the client
      char b;
      while (::read(c, &b, 1) > 0) {
      }
      ::close(c);
    }
  }
  ::usleep(100000);
  auto census = netns::Census::open(client.ns);
  ASSERT_TRUE(census.ok());
  auto counts = census->count();
  ASSERT_TRUE(counts.ok()) << counts.error().str();
  int64_t ss_count = std::stoll(sh(in_ns(client.ns, "ss -H -tan state time-wait | wc -l")));
  EXPECT_EQ(counts->get("TIME_WAIT"), kConnections);
  EXPECT_EQ(counts->get("TIME_WAIT"), ss_count);
  auto server_census = netns::Census::open(server.ns);
  auto sc = server_census->count();
  EXPECT_EQ(sc->get("LISTEN"), 1);
  EXPECT_EQ(sc->get("TIME_WAIT"), 0);
  ::close(lfd);

  // The namespace's TCP counters as tcp_counters reads them, against nstat's (iproute2, the
  // same /proc files read by another parser): every Tcp and TcpExt counter, with the traffic
  // above in them. Read twice around nstat so a counter a timer moves is not compared.
  auto before = netns::tcp_counters(client.ns);
  ASSERT_TRUE(before.ok()) << before.error().str();
  const std::string nstat = sh(in_ns(client.ns, "env NSTAT_HISTORY=/dev/null nstat -asz"));
  auto after = netns::tcp_counters(client.ns);
  ASSERT_TRUE(after.ok()) << after.error().str();
  std::map<std::string, int64_t> theirs;
  {
    std::istringstream in(nstat);
    std::string name;
    int64_t value = 0;
    std::string rest;
    while (in >> name) {
      if (name[0] == '#') {
        std::getline(in, rest);
        continue;
      }
      if (in >> value) theirs[name] = value;
      std::getline(in, rest);
    }
  }
  EXPECT_EQ(before->at("Tcp.ActiveOpens"), kConnections);
  EXPECT_GT(std::count_if(before->begin(), before->end(), [](const auto& kv) { return kv.first.rfind("TcpExt.", 0) == 0; }),
            50);
  // nstat leaves out the settings and gauges among them (iproute2 misc/nstat.c, useless_number).
  const std::set<std::string> not_in_nstat{"Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn",
                                           "Tcp.CurrEstab"};
  int compared = 0;
  for (const auto& [key, value] : *before) {
    const std::string prefix = key.substr(0, key.find('.'));
    ASSERT_TRUE(prefix == "Tcp" || prefix == "TcpExt") << key;
    if (not_in_nstat.count(key)) continue;
    const auto it = theirs.find(prefix + key.substr(key.find('.') + 1));
    ASSERT_NE(it, theirs.end()) << key << " is not in nstat's output:\n" << nstat;
    if (after->at(key) != value) continue;
    EXPECT_EQ(it->second, value) << key;
    ++compared;
  }
  EXPECT_GT(compared, 100);
  EXPECT_EQ(before->at("Tcp.MaxConn"), -1);
  EXPECT_EQ(static_cast<std::ptrdiff_t>(before->size() - not_in_nstat.size()),
            std::count_if(theirs.begin(), theirs.end(), [](const auto& kv) { return kv.first.rfind("Tcp", 0) == 0; }))
      << "every Tcp/TcpExt counter nstat shows, no more";
}

TEST(Faults, RulesGoIntoTheScenarioNamespacesAndNeverIntoTheHostRuleset) {
  SKIP_UNLESS_ABLE();
  std::string host_rules_before = sh("nft list ruleset");
  auto topo = harness::Topology::build(two_hosts());
  ASSERT_TRUE(topo.ok());
  harness::Fault f;
  f.kind = harness::FaultKind::blackhole;
  f.on = "server";
  f.direction = harness::Direction::both;
  auto plan = harness::plan_packet_fault(f, 0, topo->plan());
  ASSERT_TRUE(plan.ok()) << plan.error().str();
  ASSERT_EQ(plan->size(), 2u);  // server's ingress, and the client's ingress facing the server
  EXPECT_EQ((*plan)[0].host, "server");
  EXPECT_EQ((*plan)[1].host, "client");
  for (const auto& r : *plan) {
    // The context is created inside the namespace, then used from this (initial-ns) thread.
    auto ctx = netns::NftContext::open(topo->host(r.host).ns);
    ASSERT_TRUE(ctx.ok()) << ctx.error().str();
    auto st = ctx->run(r.install);
    ASSERT_TRUE(st.ok()) << st.error().str();
  }
  // Oracle: nft inside each namespace sees the rules; the host's ruleset is unchanged.
  std::string server_rules = sh(in_ns(topo->host("server").ns, "nft list ruleset"));
  std::string client_rules = sh(in_ns(topo->host("client").ns, "nft list ruleset"));
  EXPECT_NE(server_rules.find("hook prerouting"), std::string::npos) << server_rules;
  EXPECT_NE(server_rules.find("iifname \"sc0\" drop"), std::string::npos) << server_rules;
  EXPECT_NE(client_rules.find("iifname \"sc0\" drop"), std::string::npos) << client_rules;
  EXPECT_EQ(server_rules.find("hook output"), std::string::npos) << "never drop in a sender's output path";
  EXPECT_EQ(sh("nft list ruleset"), host_rules_before);
  // Healing deletes the fault's chains.
  for (const auto& r : *plan) {
    auto ctx = netns::NftContext::open(topo->host(r.host).ns);
    ASSERT_TRUE(ctx->run(r.remove).ok());
  }
  EXPECT_EQ(sh(in_ns(topo->host("server").ns, "nft list ruleset")).find("drop"), std::string::npos);
}

// libnftables select()s on its socket; glibc aborts on an fd at or above FD_SETSIZE. With
// every fd below 1024 taken, a context made under a LowFdReservation still gets a low fd and
// works; without one, open() refuses with a clear error instead of the abort.
TEST(NetNs, NftContextsGetAnFdBelowFdSetSizeHoweverManyTheProcessHolds) {
  SKIP_UNLESS_ABLE();
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 4096) GTEST_SKIP() << "hard open-file limit below 4096";
  const rlimit saved = lim;
  lim.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  auto ns = netns::NetNs::create();
  ASSERT_TRUE(ns.ok()) << ns.error().str();
  std::vector<int> held;
  {
    netns::LowFdReservation reserve(3);
    ASSERT_EQ(reserve.slots(), 3);
    // Fill every other fd up to 1100, as 40 cells' sockets and pipes would.
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      held.push_back(fd);
      if (fd >= 1100) break;
    }
    std::vector<netns::NftContext> contexts;
    for (int i = 0; i < 3; ++i) {
      auto ctx = netns::NftContext::open(*ns);
      ASSERT_TRUE(ctx.ok()) << ctx.error().str();
      // select() on it would abort here if its fd were >= 1024.
      ASSERT_TRUE(ctx->run("add table inet t" + std::to_string(i)).ok());
      contexts.push_back(std::move(ctx.value()));
    }
    auto listed = contexts[0].list_ruleset();
    ASSERT_TRUE(listed.ok());
    EXPECT_NE(listed->find("table inet t2"), std::string::npos) << *listed;
    // A fourth: the reserve is spent and no fd below 1024 is free.
    auto fourth = netns::NftContext::open(*ns);
    ASSERT_FALSE(fourth.ok());
    EXPECT_NE(fourth.error().str().find("below 1024"), std::string::npos) << fourth.error().str();
    // A freed context gives its fd back to the reserve.
    contexts.pop_back();
    auto again = netns::NftContext::open(*ns);
    ASSERT_TRUE(again.ok()) << again.error().str();
    EXPECT_TRUE(again->run("delete table inet t2").ok());
  }
  for (int fd : held) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TEST(NetNs, CellNamespacesOwnASmallTcpHashSoCensusDumpsStayCheap) {
  SKIP_UNLESS_ABLE();
  auto large = netns::NetNs::create();
  ASSERT_TRUE(large.ok());
  auto entries = netns::get_sysctl(*large, "net.ipv4.tcp_ehash_entries");
  if (!entries.ok()) GTEST_SKIP() << "kernel without net.ipv4.tcp_ehash_entries (< 6.1)";
  // Positive: the namespace owns its buckets (negative would mean the host's shared table).
  EXPECT_EQ(entries.value(), std::to_string(netns::kTcpHashLarge));
  // The size asked for, from its own parent namespace; a size between powers of two is
  // rounded up, as the kernel does.
  auto small = netns::NetNs::create(netns::flow_steering_mask(), netns::kTcpHashSmall);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(netns::get_sysctl(*small, "net.ipv4.tcp_ehash_entries").value(), std::to_string(netns::kTcpHashSmall));
  auto odd = netns::NetNs::create(netns::flow_steering_mask(), 3000);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(netns::get_sysctl(*odd, "net.ipv4.tcp_ehash_entries").value(), "4096");
  // A large one again after the others: each size keeps its own parent.
  auto again = netns::NetNs::create(netns::flow_steering_mask(), netns::kTcpHashLarge);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(netns::get_sysctl(*again, "net.ipv4.tcp_ehash_entries").value(), std::to_string(netns::kTcpHashLarge));
  // And the host's own setting is untouched.
  EXPECT_EQ(sh("cat /proc/sys/net/ipv4/tcp_child_ehash_entries"), "0\n");
}

TEST(NetNs, CellNamespacesInheritTheHostsTimeWaitAndSynBacklogLimits) {
  SKIP_UNLESS_ABLE();
  // Whatever the size of its hash (the kernel would derive both from it).
  for (unsigned buckets : {netns::kTcpHashLarge, netns::kTcpHashSmall}) {
    auto ns = netns::NetNs::create(netns::flow_steering_mask(), buckets);
    ASSERT_TRUE(ns.ok());
    for (const char* key : {"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_syn_backlog"}) {
      std::string path = std::string("/proc/sys/") + key;
      for (auto& c : path)
        if (c == '.') c = '/';
      std::string host = sh("cat " + path);
      host = host.substr(0, host.find('\n'));
      EXPECT_EQ(netns::get_sysctl(*ns, key).value(), host) << key << " with " << buckets << " buckets";
    }
  }
}

namespace {
// rps_cpus of a device, read through a sysfs mounted inside the namespace (sysfs shows the
// devices of the namespace that mounts it), with leading zeros and commas dropped.
std::string rps_cpus(const netns::NetNs& ns, const std::string& dev) {
  std::string text = sh(in_ns(ns, "unshare -m sh -c 'mount -t sysfs sysfs /sys && cat /sys/class/net/" +
                                   dev + "/queues/rx-0/rps_cpus'"));
  std::string digits;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  const auto first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}
}  // namespace

TEST(Topology, VethsSteerEachFlowToOneCpuSoItsPacketsStayInOrder) {
  SKIP_UNLESS_ABLE();
  const std::string host_mask = sh("cat /proc/sys/net/core/rps_default_mask");
  harness::Scenario s = two_hosts();
  s.hosts[1].sysctl = {{"net.core.rps_default_mask", "0"}};  // a scenario may turn it off
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(::sched_getaffinity(0, sizeof allowed, &allowed), 0);
  // Each cell's namespaces steer to one CPU it may run on, the next cell to the next one.
  std::vector<unsigned long> cpus;
  for (int i = 0; i < 2; ++i) {
    auto topo = harness::Topology::build(s);
    ASSERT_TRUE(topo.ok()) << topo.error().str();
    const unsigned long bits = std::stoul(rps_cpus(topo->host("client").ns, "sc0"), nullptr, 16);
    ASSERT_NE(bits, 0UL);
    EXPECT_EQ(bits & (bits - 1), 0UL) << "exactly one CPU: " << std::hex << bits;
    const int cpu = __builtin_ctzl(bits);
    EXPECT_TRUE(CPU_ISSET(cpu, &allowed)) << cpu;
    cpus.push_back(bits);
    EXPECT_EQ(rps_cpus(topo->host("server").ns, "sc0"), "0");
  }
  if (CPU_COUNT(&allowed) >= 2) EXPECT_NE(cpus[0], cpus[1]) << "round robin over the CPUs";
  EXPECT_EQ(sh("cat /proc/sys/net/core/rps_default_mask"), host_mask);
}

TEST(Topology, EachVethEndHasOneTxAndOneRxQueueAllocatedNotShrunk) {
  SKIP_UNLESS_ABLE();
  // The request asks for one queue each way on both ends (netns/link.cpp): `ip -d link` shows what
  // was allocated (numtxqueues / numrxqueues), sysfs the real queues. Both must be 1: a veth created
  // without the attributes gets one queue per possible CPU, shrunk to one real queue under RTNL.
  auto topo = harness::Topology::build(two_hosts());
  ASSERT_TRUE(topo.ok()) << topo.error().str();
  for (const char* host : {"client", "server"}) {
    const auto& ns = topo->host(host).ns;
    const std::string detail = sh(in_ns(ns, "ip -d link show sc0"));
    EXPECT_NE(detail.find("numtxqueues 1 "), std::string::npos) << host << ": " << detail;
    EXPECT_NE(detail.find("numrxqueues 1 "), std::string::npos) << host << ": " << detail;
    const std::string queues =
        sh(in_ns(ns, "unshare -m sh -c 'mount -t sysfs sysfs /sys && ls /sys/class/net/sc0/queues'"));
    EXPECT_EQ(queues, "rx-0\ntx-0\n") << host;
  }
}
