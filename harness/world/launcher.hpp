// Starting a cell's (or the Lab's) programs inside a host: the one implementation of "start a
// server and wait until it listens", shared by scenario cells, crash recovery and the Lab.
//
// Agents say when they listen ("listening" event); the user's own programs say nothing, so one
// is ready when its port listens in the host's census. Both waits are bounded; an early exit
// names the exit status and the last lines of stderr.
#pragma once
#include "common/phases.hpp"
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/model/types.hpp"
#include "harness/protocol/events.hpp"
#include "harness/world/process.hpp"
#include "harness/world/topology.hpp"
#include "harness/world/user_command.hpp"
#include "netns/census.hpp"

namespace sockchaos::harness {

inline constexpr int64_t kAgentListenTimeout = 5 * kSecond;
inline constexpr int64_t kCommandListenTimeout = 30 * kSecond;  // initdb, a JVM: real servers start slowly

// What every start needs: the agent binary, the user commands' placeholders ({tmp} is also
// their working directory and holds each host's hosts file) and the topology ({addr:HOST}).
struct LaunchEnv {
  std::string agent_path;
  Placeholders placeholders;  // server, port, dir, tmp; the addresses are filled per host
  const Topology* topology = nullptr;
  PhaseLog* phases = nullptr;  // benchmarks only (see RunOptions::phases)
};

// The last `lines` lines of a command's stderr, for messages.
std::string tail_lines(const std::string& text, size_t lines = 5);

// A started server: its process, and for the user's own programs their captured output.
struct StartedServer {
  ChildProcess process;
  bool command = false;
  int64_t listening_at = 0;              // CLOCK_MONOTONIC
  std::vector<AgentEvent> early_events;  // agent events read while waiting (listening included)
  std::string out, err;                  // a command's output so far
};

// `role` names the server in messages ("server", "upstream server"). `upstream_address`: where
// a proxy forwards to. `census` is the host's, for commands.
Result<StartedServer> start_server(const Host& host, const ServerSpec& spec, const std::string& upstream_address,
                                   const LaunchEnv& env, netns::Census& census, const std::string& role);

// The client: an agent (its spec addressed to `server_address`) or the user's command.
Result<ChildProcess> start_client(const Host& host, const ClientSpec& client, const std::string& server_address,
                                  const LaunchEnv& env);

// The command as the user wrote it, placeholders expanded for `host` (what results show).
std::vector<std::string> shown_command(const std::string& host, const std::vector<std::string>& command,
                                       const LaunchEnv& env);

// A command's argv through the exec wrapper, ready to spawn on `host`: its placeholders expanded,
// its host's hosts file written into {tmp}, its templates rendered into {tmp}.
Result<std::vector<std::string>> prepare_command(const Host& host, const std::vector<std::string>& command,
                                                 const std::vector<std::pair<std::string, std::string>>& files,
                                                 const LaunchEnv& env);

}  // namespace sockchaos::harness
