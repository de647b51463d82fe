// sockchaos-agent '<spec json>': the client or server of one scenario run, started by the
// orchestrator inside a host's network namespace. Protocol: harness/agent_protocol.hpp.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <string>

#include "agent/agent.hpp"
#include "common/limits.hpp"

int main(int argc, char** argv) {
  using namespace sockchaos;
  // The scratch reaper outlives the orchestrator on purpose: no PDEATHSIG, no parent check.
  if (argc == 3 && std::string(argv[1]) == "reap") return agent::run_reap(argv[2]);
  // Die with the orchestrator; if it already died before prctl, our parent changed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (const char* parent = std::getenv("SOCKCHAOS_PARENT_PID")) {
    if (std::to_string(getppid()) != parent) _exit(agent::kExitOrphaned);
  }
  signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  // Fault in the whole binary and its libraries now, so the first accept or connect is not
  // delayed by page faults on a slow disk (timings start at once). Best effort.
  if (!(argc >= 2 && std::string(argv[1]) == "exec")) mlockall(MCL_CURRENT);

  if (argc >= 2 && std::string(argv[1]) == "exec") return agent::run_exec(argc - 2, argv + 2);
  if (argc != 2)
    agent::fatal("usage: sockchaos-agent '<spec json>' | sockchaos-agent exec [--hosts FILE] [--hostname NAME] -- ARGV... | "
                 "sockchaos-agent reap ROOT");
  harness::AgentSpec spec;
  try {
    spec = harness::parse_agent_spec(harness::json::parse(argv[1]));
  } catch (const harness::AgentSpecError& e) {
    agent::fatal(e.what());
  } catch (const std::exception& e) {
    agent::fatal(std::string("agent spec: ") + e.what());
  }
  agent::arm_stop_timer(spec.max_lifetime.count());
  return spec.role == harness::AgentRole::client ? agent::run_client(spec) : agent::run_server(spec);
}
