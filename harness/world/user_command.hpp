// The user's own programs (scenario `command` servers and clients, Lab command servers):
// placeholder expansion, the exec wrapper, and "ready when its port listens".
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/world/process.hpp"
#include "netns/census.hpp"

namespace sockchaos::harness {

// {server} {port}: where the client connects; {dir}: the scenario file's folder (or the
// current directory); {tmp}: a scratch folder of the run, removed afterwards.
struct Placeholders {
  std::string server, port, dir, tmp;
};

std::string expand_placeholders(const std::string& arg, const Placeholders& values);

// argv through the agent's exec wrapper: the command runs as PID 1 of its own PID namespace,
// so nothing it forks can outlive the run.
std::vector<std::string> exec_argv(const std::string& agent_path, const std::vector<std::string>& command,
                                   const Placeholders& values);

// Waits, bounded by timeout_ns, until `port` listens in the census's namespace. A user's
// server says nothing to us: that is when it is ready. `poll_output` runs between samples
// (keeping the process's pipes drained) and returns the stderr to quote if it exits first.
Status wait_until_listening(ChildProcess& proc, netns::Census& census, int port, int64_t timeout_ns,
                            const std::function<std::string()>& poll_output);

}  // namespace sockchaos::harness
