// The JSON handed to sockchaos-agent on its command line (see agent_protocol.hpp).
//
// It is the typed ClientSpec / ServerSpec written out field by field, so the agent never
// depends on the scenario file parser. Conventions:
//   - every duration is an integer number of nanoseconds, in a key ending in "_ns";
//   - an unset optional is an absent key; "linger" is "off", or an integer of nanoseconds;
//   - addresses are IPv4 literals already resolved by the orchestrator.
//
//   {"role":"client","address":"198.18.0.2","max_lifetime_ns":N,"client":{...}}
//   {"role":"server","address":"198.18.0.2","upstream_address":"198.18.0.6",
//    "max_lifetime_ns":N,"server":{...}}
//
// parse_agent_spec(make_*_agent_spec(x)) gives back exactly x (unit tested).
#pragma once
#include <stdexcept>
#include <string>

#include "harness/model/types.hpp"

namespace sockchaos::harness {

// The agent exits by itself ("done") after this long whatever the workload does, so no
// agent outlives a forgotten run. The orchestrator may pass a tighter bound.
inline constexpr Nanos kDefaultAgentLifetime = std::chrono::hours(6);

enum class AgentRole { client, server };
template <>
struct NameTable<AgentRole> {
  static constexpr Names<AgentRole, 2> entries{{{AgentRole::client, "client"}, {AgentRole::server, "server"}}};
};

struct AgentSpec {
  AgentRole role = AgentRole::client;
  ClientSpec client;
  ServerSpec server;
  std::string address;           // client: server address to connect to; server: listen address
  std::string upstream_address;  // server behavior "proxy": resolved host of ServerSpec.upstream
  Nanos max_lifetime = kDefaultAgentLifetime;
};

class AgentSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

json make_client_agent_spec(const ClientSpec& client, const std::string& server_address,
                            Nanos max_lifetime = kDefaultAgentLifetime);
json make_server_agent_spec(const ServerSpec& server, const std::string& listen_address,
                            const std::string& upstream_address,
                            Nanos max_lifetime = kDefaultAgentLifetime);

json socket_options_to_json(const SocketOptions& options);
SocketOptions socket_options_from_json(const json& v);  // throws AgentSpecError

// Throws AgentSpecError naming the offending key.
AgentSpec parse_agent_spec(const json& spec);

}  // namespace sockchaos::harness
