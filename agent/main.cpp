// sockchaos-agent '<spec json>': the client or server of one scenario run, started by the
// orchestrator inside a host's network namespace. Protocol: harness/agent_protocol.hpp.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
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
  // The zygote forks initialised agents (harness/protocol/zygote.hpp); each enters its namespace
  // and runs run_spec itself.
  if (argc == 2 && std::string(argv[1]) == "zygote") return agent::run_zygote(argv[1]);
  if (argc >= 2 && std::string(argv[1]) == "exec") return agent::run_exec(argc - 2, argv + 2);
  if (argc != 2)
    agent::fatal("usage: sockchaos-agent '<spec json>' | sockchaos-agent exec [--hosts FILE] [--hostname NAME] -- ARGV... | "
                 "sockchaos-agent reap ROOT | sockchaos-agent zygote");
  return agent::run_spec(argv[1]);
}

namespace sockchaos::agent {

int run_spec(const char* spec_json, char* title) {
  // Keep every page of the binary this agent touches resident from its first touch on, so no
  // later page fault waits for a disk (MCL_ONFAULT: without it, mlockall maps and locks all 2 MB
  // of text up front, 0.13 ms per agent, most of it never used). A first touch is a minor fault:
  // the zygote holds the whole binary locked in the page cache (run_zygote). Not MCL_FUTURE: a
  // server's socket buffers must not count against RLIMIT_MEMLOCK. Best effort (rootless, the
  // limit is often below the binary's size).
  mlockall(MCL_CURRENT | MCL_ONFAULT);
  harness::AgentSpec spec;
  try {
    spec = harness::parse_agent_spec(harness::json::parse(spec_json));
  } catch (const harness::AgentSpecError& e) {
    fatal(e.what());
  } catch (const std::exception& e) {
    fatal(std::string("agent spec: ") + e.what());
  }
  if (title) {
    // A forked agent's command line reads `sockchaos-agent client` or `... server` in ps and
    // pgrep, not `... zygote`: the zygote's argv[1], "zygote", has room for exactly six letters.
    const char* role = spec.role == harness::AgentRole::client ? "client" : "server";
    if (std::strlen(title) == std::strlen(role)) std::memcpy(title, role, std::strlen(role));
  }
  arm_stop_timer(spec.max_lifetime.count());
  return spec.role == harness::AgentRole::client ? run_client(spec) : run_server(spec);
}

}  // namespace sockchaos::agent
