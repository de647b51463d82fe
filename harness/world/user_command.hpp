// The user's own programs (scenario `command` servers, upstream servers and clients, Lab
// command servers): placeholders, config templates, host names, the exec wrapper, and "ready
// when its port listens".
//
// Host names: every command runs with a hosts file of its own bind-mounted over /etc/hosts (in
// a private mount namespace made by the exec wrapper; the machine's /etc/hosts is never
// touched), so `server`, `proxy`, ... resolve to the scenario's addresses as seen from the
// command's host, and its hostname (UTS namespace) is its host's name.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "harness/world/process.hpp"
#include "harness/world/topology.hpp"
#include "netns/census.hpp"

namespace sockchaos::harness {

// The placeholders' values for one command (see placeholder_problem in model/types.hpp).
struct Placeholders {
  std::string server, port, dir, tmp;
  std::map<std::string, std::string> addresses;   // {addr:HOST}: HOST -> its address from the command's host
  std::map<std::string, std::string> addresses6;  // {addr6:HOST}: its IPv6 address ("family" ipv6 or dual)
};

// `arg` with every placeholder replaced; an unknown placeholder or host is an Error naming it.
Result<std::string> expand_placeholders(const std::string& arg, const Placeholders& values);

// argv through the agent's exec wrapper: the command runs as PID 1 of its own PID namespace
// (nothing it forks outlives the run), with `hosts_file` over /etc/hosts and `hostname` as its
// host name when given.
Result<std::vector<std::string>> exec_argv(const std::string& agent_path, const std::vector<std::string>& command,
                                           const Placeholders& values, const std::string& hosts_file = "",
                                           const std::string& hostname = "");

// /etc/hosts as `host` sees the topology: localhost, then every host's name at the address
// `host` reaches it by (its own name at its first address).
std::string hosts_file_text(const Topology& topology, const std::string& host);
// `values.addresses` for a command on `host`.
std::map<std::string, std::string> addresses_from(const Topology& topology, const std::string& host);
std::map<std::string, std::string> addresses6_from(const Topology& topology, const std::string& host);

// Renders each template (name in {tmp} -> template path, {dir} expanded; relative to `dir`)
// into values.tmp/name. A template's problem names the template file and its line.
Status render_templates(const std::vector<std::pair<std::string, std::string>>& files, const Placeholders& values);

// True when `program` (a name looked up on PATH, or a path) exists and is executable.
bool program_available(const std::string& program);
// The first of `required` (program -> Debian package) this machine lacks, as the reason a cell
// is skipped: "needs nginx (not found on PATH): apt-get install nginx-light"; "" when all are there.
std::string missing_requirement(const std::vector<std::pair<std::string, std::string>>& required);

// Waits, bounded by timeout_ns, until `port` listens in the census's namespace. A user's
// server says nothing to us: that is when it is ready. `poll_output` runs between samples
// (keeping the process's pipes drained) and returns the stderr to quote if it exits first.
Status wait_until_listening(ChildProcess& proc, netns::Census& census, int port, int64_t timeout_ns,
                            const std::function<std::string()>& poll_output);

}  // namespace sockchaos::harness
