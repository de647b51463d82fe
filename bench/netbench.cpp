// netbench: the parts of the benchmark that call sockchaos_core directly.
//
//   netbench setup N         N × (build the default two-host topology through libnl, one
//                            nftables rule through libnftables in the server's namespace,
//                            tear it all down); one JSON line per iteration:
//                            {"i":..,"topology_ms":..,"nft_ms":..,"teardown_ms":..}
//   netbench probe-baseline AGENT BARE_PROBE PORT COUNT
//                            builds the same two-host topology, starts the sockchaos server
//                            agent (echo) in "server", runs the bare C loop (bare_probe) in
//                            "client" against it, relays bare_probe's JSON line.
//
// Teardown is closing the namespace fds: the kernel dismantles the namespaces afterwards on
// its own workqueue (as it does after `ip netns del`), so both sides time the same thing.
#include <poll.h>
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 2 && args[0] == "setup") return cmd_setup(std::atoi(args[1].c_str()));
    if (args.size() == 5 && args[0] == "probe-baseline")
      return cmd_probe_baseline(args[1], args[2], std::atoi(args[3].c_str()), std::atoi(args[4].c_str()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netbench: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr,
               "usage: netbench setup N\n"
               "       netbench probe-baseline AGENT BARE_PROBE PORT COUNT\n");
  return 2;
}
