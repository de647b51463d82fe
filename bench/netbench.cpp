// netbench: the parts of the benchmark that call sockchaos_core directly.
//
//   netbench setup N         N × (build the default two-host topology through libnl, one
//                            nftables rule through libnftables in the server's namespace,
//                            tear it all down); one JSON line per iteration:
//                            {"i":..,"topology_ms":..,"nft_ms":..,"teardown_ms":..}
//   netbench phases AGENT N   N × (one trivial cell — one probe, no fault, capture on as by
//                            default — through the runner exactly as `sockchaos run` does,
//                            with phase marks; then the raw floor: two bare namespaces, one
//                            veth pair, an address and link-up on each end through libnl,
//                            torn down). Alternating, one JSON line each:
//                            {"kind":"cell","total_ms":..,"phases":[[name,ms],..]}
//                            {"kind":"floor","ms":..}
//   netbench order AGENT BARE_PROBE VARIANT COUNT
//                            flow order and rate of the bare C loop under one receive-path
//                            variant: plain (rps_default_mask 0), rps (sockchaos's default
//                            mask), rps-one (steering to CPU 0 only), gro (plain + GRO on
//                            both veth ends), gro-notso (GRO
//                            on, TSO off: veth's NAPI path for TCP),
//                            pin (plain, the loop and the server agent on CPU 0). Two loops
//                            in fresh topologies: COUNT probes with linger 0 (rate), then
//                            COUNT orderly closes (TIME_WAIT kept on the client; RSTs the
//                            server sent, Tcp.OutRsts). One JSON line.
//   netbench probe-baseline AGENT BARE_PROBE PORT COUNT
//                            builds the same two-host topology, starts the sockchaos server
//                            agent (echo) in "server", runs the bare C loop (bare_probe) in
//                            "client" against it, relays bare_probe's JSON line.
//
// Teardown is closing the namespace fds: the kernel dismantles the namespaces afterwards on
// its own workqueue (as it does after `ip netns del`), so both sides time the same thing.
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "harness/protocol/agent_spec.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/process.hpp"
#include "harness/model/load.hpp"
#include "harness/world/topology.hpp"
#include "harness/metrics/metrics.hpp"
#include "harness/run/runner.hpp"
#include "harness/verdict/results.hpp"
#include "netns/census.hpp"
#include "netns/link.hpp"

using namespace sockchaos;
using harness::json;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

harness::Scenario two_host_scenario(int port) {
  json doc = {{"name", "bench"},
              {"server", {{"on", "server"}, {"port", port}, {"behavior", "echo"}}},
              {"client",
               {{"on", "client"},
                {"connect", "server:" + std::to_string(port)},
                {"workload", {{"kind", "probe"}, {"count", 1}, {"rate", "max"}}}}}};
  return harness::load_scenario_json(doc, "<bench>");
}

// The rule a user's script would add: one table, one base chain, one rule.
const char* kOneRule =
    "add table inet scbench\n"
    "add chain inet scbench input { type filter hook input priority 0; policy accept; }\n"
    "add rule inet scbench input tcp dport 7000 drop\n";

int cmd_setup(int n) {
  auto scenario = two_host_scenario(7000);
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto topo = harness::Topology::build(scenario);
    if (!topo.ok()) {
      std::fprintf(stderr, "netbench: topology: %s\n", topo.error().str().c_str());
      return 3;
    }
    double topology_ms = ms_since(t0);
    auto t1 = std::chrono::steady_clock::now();
    {
      auto nft = netns::NftContext::open(topo->host("server").ns);
      if (!nft.ok()) {
        std::fprintf(stderr, "netbench: nftables: %s\n", nft.error().str().c_str());
        return 3;
      }
      if (auto st = nft->run(kOneRule); !st.ok()) {
        std::fprintf(stderr, "netbench: nft rule: %s\n", st.error().str().c_str());
        return 3;
      }
    }
    double nft_ms = ms_since(t1);
    auto t2 = std::chrono::steady_clock::now();
    { auto gone = std::move(topo.value()); }
    double teardown_ms = ms_since(t2);
    std::printf("{\"i\":%d,\"topology_ms\":%.3f,\"nft_ms\":%.3f,\"teardown_ms\":%.3f}\n", i, topology_ms,
                nft_ms, teardown_ms);
  }
  return 0;
}

// The kernel's floor for a cell's network: what no harness can avoid.
Status raw_floor() {
  auto a = netns::NetNs::create_bare({});
  if (!a.ok()) return a.error();
  auto b = netns::NetNs::create_bare({});
  if (!b.ok()) return b.error();
  auto sa = netns::RouteSocket::open(*a);
  if (!sa.ok()) return sa.error();
  auto sb = netns::RouteSocket::open(*b);
  if (!sb.ok()) return sb.error();
  if (auto st = sa->create_veth("sc0", b->fd(), "sc0"); !st.ok()) return st;
  if (auto st = sa->add_address("sc0", "198.18.0.1/30"); !st.ok()) return st;
  if (auto st = sb->add_address("sc0", "198.18.0.2/30"); !st.ok()) return st;
  if (auto st = sa->set_up("sc0", true); !st.ok()) return st;
  if (auto st = sb->set_up("sc0", true); !st.ok()) return st;
  return {};
}

int cmd_phases(const std::string& agent, int n) {
  harness::Scenario scenario = two_host_scenario(47000);
  harness::Cell cell;
  cell.scenario_name = scenario.name;
  cell.scenario = scenario;
  PhaseLog log;
  harness::RunOptions options;
  options.agent_path = agent;
  options.phases = &log;
  for (int i = 0; i < n; ++i) {
    log.begin();
    auto record = harness::record_run(cell, options);
    auto result = harness::judge_cell(cell, {harness::measure_run(record, scenario)});
    mark(&log, "measure + judge");
    const int64_t end = monotonic_ns();
    if (!result.passed() && record.failure) {
      std::fprintf(stderr, "netbench: cell failed: %s\n", record.failure->c_str());
      return 3;
    }
    std::string phases;
    int64_t prev = log.start;
    for (const auto& [name, t] : log.marks) {
      phases += (phases.empty() ? "" : ",") + std::string("[\"") + name + "\"," + std::to_string((t - prev) / 1e6) + "]";
      prev = t;
    }
    std::printf("{\"kind\":\"cell\",\"total_ms\":%.3f,\"phases\":[%s]}\n", (end - log.start) / 1e6, phases.c_str());
    auto t0 = std::chrono::steady_clock::now();
    if (auto st = raw_floor(); !st.ok()) {
      std::fprintf(stderr, "netbench: floor: %s\n", st.error().str().c_str());
      return 3;
    }
    std::printf("{\"kind\":\"floor\",\"ms\":%.3f}\n", ms_since(t0));
    std::fflush(stdout);
  }
  return 0;
}

bool wait_for_line(harness::ChildProcess& p, const std::string& needle, int timeout_ms, std::string& line_out) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> lines;
  for (;;) {
    lines.clear();
    bool open = p.read_lines(lines);
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) {
        line_out = l;
        return true;
      }
    if (!open) return false;
    int left = timeout_ms - static_cast<int>(ms_since(t0));
    if (left <= 0) return false;
    pollfd pfd{p.stdout_fd(), POLLIN, 0};
    ::poll(&pfd, 1, left);
  }
}

int cmd_probe_baseline(const std::string& agent, const std::string& bare_probe, int port, int count) {
  auto scenario = two_host_scenario(port);
  auto topo = harness::Topology::build(scenario);
  if (!topo.ok()) {
    std::fprintf(stderr, "netbench: topology: %s\n", topo.error().str().c_str());
    return 3;
  }
  json spec = harness::make_server_agent_spec(scenario.server, "0.0.0.0", "");
  auto server = harness::ChildProcess::spawn(topo->host("server").ns, {agent, spec.dump()});
  if (!server.ok()) {
    std::fprintf(stderr, "netbench: server agent: %s\n", server.error().str().c_str());
    return 3;
  }
  std::string line;
  if (!wait_for_line(*server, "listening", 5000, line)) {
    std::fprintf(stderr, "netbench: server agent did not listen: %s\n", server->drain_stderr().c_str());
    return 3;
  }
  std::string address = topo->address_for("server", "client");
  auto client = harness::ChildProcess::spawn(topo->host("client").ns,
                                             {bare_probe, address, std::to_string(port), std::to_string(count)});
  if (!client.ok()) {
    std::fprintf(stderr, "netbench: bare_probe: %s\n", client.error().str().c_str());
    return 3;
  }
  bool got = wait_for_line(*client, "per_second", 120000, line);
  client->kill_and_reap();
  server->kill_and_reap();
  if (!got) {
    std::fprintf(stderr, "netbench: bare_probe gave no result: %s\n", client->drain_stderr().c_str());
    return 1;
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

// GRO on an interface of a namespace (ETHTOOL_SGRO): for a veth, GRO switches its receive
// path from the per-CPU backlog (netif_rx) to the peer's NAPI ring (drivers/net/veth.c,
// veth_set_features -> veth_napi_enable; veth_xmit -> veth_forward_skb with rcv_xdp / NAPI).
// But veth_xmit takes the NAPI path only for an skb veth_skb_is_eligible_for_gro() accepts:
// any skb when the sending device has no TSO, else only locally generated UDP; so for TCP
// GRO alone changes nothing and "gro-notso" also turns TSO off (ETHTOOL_STSO) on both ends.
Status set_feature(const netns::NetNs& ns, const char* ifname, uint32_t cmd, bool on) {
  return netns::within(ns.fd(), [&]() -> Status {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return Error::system("socket");
    ethtool_value v{cmd, on ? 1u : 0u};
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    if (::ioctl(fd.get(), SIOCETHTOOL, &ifr) != 0) return Error::system("SIOCETHTOOL");
    return {};
  });
}

struct LoopResult {
  double per_second = 0;
  long failed = 0;
  int64_t time_wait = -1, server_rsts = -1, client_rsts = -1;
};

Result<LoopResult> order_loop(const std::string& agent, const std::string& bare_probe, const std::string& variant,
                              int count, bool orderly) {
  const int port = 49500;
  auto scenario = two_host_scenario(port);
  if (variant == "rps-one")
    for (auto& h : scenario.hosts) h.sysctl.emplace_back("net.core.rps_default_mask", "1");
  else if (variant != "rps")
    for (auto& h : scenario.hosts) h.sysctl.emplace_back("net.core.rps_default_mask", "0");
  auto topo = harness::Topology::build(scenario);
  if (!topo.ok()) return topo.error();
  if (variant == "gro" || variant == "gro-notso")
    for (const char* host : {"client", "server"}) {
      if (auto st = set_feature(topo->host(host).ns, "sc0", ETHTOOL_SGRO, true); !st.ok()) return st.error();
      if (variant == "gro-notso")
        if (auto st = set_feature(topo->host(host).ns, "sc0", ETHTOOL_STSO, false); !st.ok()) return st.error();
    }
  cpu_set_t saved;
  CPU_ZERO(&saved);
  ::sched_getaffinity(0, sizeof saved, &saved);
  if (variant == "pin") {  // children inherit the affinity of the thread that forks them
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ::sched_setaffinity(0, sizeof one, &one);
  }
  json spec = harness::make_server_agent_spec(scenario.server, "0.0.0.0", "");
  auto server = harness::ChildProcess::spawn(topo->host("server").ns, {agent, spec.dump()});
  if (!server.ok()) return server.error();
  std::string line;
  if (!wait_for_line(*server, "listening", 5000, line)) return Error::plain("server agent did not listen");
  std::vector<std::string> argv{bare_probe, topo->address_for("server", "client"), std::to_string(port),
                                std::to_string(count)};
  if (orderly) argv.push_back("close");
  auto client = harness::ChildProcess::spawn(topo->host("client").ns, argv);
  ::sched_setaffinity(0, sizeof saved, &saved);
  if (!client.ok()) return client.error();
  const bool got = wait_for_line(*client, "per_second", 120000, line);
  client->kill_and_reap();
  if (!got) return Error::plain("bare_probe gave no result: " + client->drain_stderr());
  LoopResult r;
  const json j = json::parse(line);
  r.per_second = j.at("per_second").get<double>();
  r.failed = j.at("failed").get<long>();
  if (orderly) {
    // The server closes each connection on EOF; its FINs may still be in flight: count until
    // the client's TIME_WAIT holds still for 50 ms (bounded: 3 s).
    auto census = netns::Census::open(topo->host("client").ns);
    if (!census.ok()) return census.error();
    int64_t last = -1;
    int64_t still_since = monotonic_ns();
    const int64_t until = monotonic_ns() + 3000 * kMillisecond;
    while (monotonic_ns() < until) {
      auto c = census->count();
      if (!c.ok()) return c.error();
      const int64_t tw = c->get("TIME_WAIT");
      if (tw != last) {
        last = tw;
        still_since = monotonic_ns();
      } else if (monotonic_ns() - still_since >= 50 * kMillisecond) {
        break;
      }
      const timespec ts = to_timespec(10 * kMillisecond);
      ::ppoll(nullptr, 0, &ts, nullptr);
    }
    r.time_wait = last;
  }
  auto sc = netns::tcp_counters(topo->host("server").ns);
  auto cc = netns::tcp_counters(topo->host("client").ns);
  if (sc.ok() && sc->count("Tcp.OutRsts")) r.server_rsts = sc->at("Tcp.OutRsts");
  if (cc.ok() && cc->count("Tcp.OutRsts")) r.client_rsts = cc->at("Tcp.OutRsts");
  server->kill_and_reap();
  return r;
}

int cmd_order(const std::string& agent, const std::string& bare_probe, const std::string& variant, int count) {
  auto rate = order_loop(agent, bare_probe, variant, count, false);
  if (!rate.ok()) {
    std::fprintf(stderr, "netbench: order %s (rate): %s\n", variant.c_str(), rate.error().str().c_str());
    return 3;
  }
  auto order = order_loop(agent, bare_probe, variant, count, true);
  if (!order.ok()) {
    std::fprintf(stderr, "netbench: order %s (close): %s\n", variant.c_str(), order.error().str().c_str());
    return 3;
  }
  std::printf("{\"variant\":\"%s\",\"count\":%d,\"rst_per_second\":%.1f,\"close_per_second\":%.1f,"
              "\"failed\":%ld,\"time_wait\":%lld,\"server_rsts\":%lld,\"client_rsts_close\":%lld}\n",
              variant.c_str(), count, rate->per_second, order->per_second, rate->failed + order->failed,
              static_cast<long long>(order->time_wait), static_cast<long long>(order->server_rsts),
              static_cast<long long>(order->client_rsts));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 2 && args[0] == "setup") return cmd_setup(std::atoi(args[1].c_str()));
    if (args.size() == 5 && args[0] == "order")
      return cmd_order(args[1], args[2], args[3], std::atoi(args[4].c_str()));
    if (args.size() == 3 && args[0] == "phases") return cmd_phases(args[1], std::atoi(args[2].c_str()));
    if (args.size() == 5 && args[0] == "probe-baseline")
      return cmd_probe_baseline(args[1], args[2], std::atoi(args[3].c_str()), std::atoi(args[4].c_str()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netbench: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr,
               "usage: netbench setup N\n"
               "       netbench phases AGENT N\n"
               "       netbench order AGENT BARE_PROBE plain|rps|rps-one|gro|gro-notso|pin COUNT\n"
               "       netbench probe-baseline AGENT BARE_PROBE PORT COUNT\n");
  return 2;
}
