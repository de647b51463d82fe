// The agent's fork server: `sockchaos-agent zygote`, started once per orchestrator process with a
// SOCK_SEQPACKET socket as its stdin. It pays for the agent's start-up once (exec, the C
// library's initialisation, mapping the binary) and then forks one initialised agent per request
// instead of an exec per agent.
//
// Request: one message; its bytes are the agent spec JSON (what an exec'd agent takes as argv[1]),
// its SCM_RIGHTS exactly kZygoteRequestFds descriptors: the host's network namespace, the write
// ends of the agent's stdout and stderr pipes.
// Reply: one ZygoteReply: the new agent's pid, or pid -1 and an errno value.
//
// The zygote creates each agent with clone(CLONE_PARENT): the agent is the orchestrator's child,
// not the zygote's, so the orchestrator waits for it, opens its pidfd and reads its exit status
// exactly as for an exec'd agent. The agent then does what ChildProcess does between fork and exec
// (enter the namespace, PR_SET_PDEATHSIG, check its parent, become a process-group leader, the
// pipes on 1 and 2, /dev/null on 0) and runs the spec as `sockchaos-agent '<spec>'` would.
// The zygote itself never enters a namespace and opens no network socket.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockchaos::harness {

inline constexpr size_t kZygoteRequestFds = 3;          // netns, stdout, stderr
inline constexpr size_t kZygoteMaxSpec = 64 * 1024;    // bytes of spec JSON per request

struct ZygoteReply {
  int32_t pid = -1;
  int32_t err = 0;  // errno when pid is -1
};

}  // namespace sockchaos::harness
