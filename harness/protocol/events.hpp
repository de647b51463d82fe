// The contract between the orchestrator and sockchaos-agent: what the agent prints.
//
// Invocation:  sockchaos-agent '<spec json>'   (spec: harness/protocol/agent_spec.hpp)
//   The agent is started inside the host's network namespace; it does not enter one itself.
//   Or forked by the agent zygote with the same spec (harness/protocol/zygote.hpp): it then
//   enters the namespace itself; what it prints and its exit codes are the same.
//
// Output: one JSON object per line on stdout, flushed per line (batched for probes and
// requests). "t" is CLOCK_MONOTONIC in nanoseconds, taken right after the syscall that produced
// the event.
//   {"ev":"listening","t":N,"port":P}                          server bound and listening
//   {"ev":"start","t":N}                                       client about to connect first
//   {"ev":"ready","t":N}                                       client connected (idle/stream/request)
//   {"ev":"error","t":N,"syscall":"recv","errno":"ETIMEDOUT","tcp_info":{...}}  client's first
//        failure; errno is an errno name, "EOF" (peer closed: read returned 0), "app_timeout"
//        (poll timed out) or "connect_timeout" (the scenario's connect_timeout expired, syscall
//        "poll"); tcp_info: the socket's TCP_INFO right after the failing call (common/tcp_info.hpp)
//   {"ev":"probes","t":N,"items":[[t_ns, connect_ns, null | "ECONNREFUSED", t_end_ns], ...]}
//        probe results, batched at most every 50 ms and at the end; t_ns is the probe's start,
//        t_end_ns the return of its last (or failing) call; connect_ns is -1 when the connect
//        did not complete
//   {"ev":"requests","t":N,"items":[[t_ns, latency_ns, null | "ETIMEDOUT"], ...]}
//        request workload; t_ns is when the outcome was seen
//   {"ev":"accept","t":N,"count":C}                            server accepted C connections
//        since the previous line (lines at most every 10 ms; t = the first of them)
//   {"ev":"conn-error","t":N,"syscall":"recv","errno":"ETIMEDOUT"}   an accepted (or proxy
//        upstream) connection failed on the server's side (the first 100 per agent)
//   {"ev":"fatal","t":N,"message":"...","option":"...","errno":"..."}   configuration error
//        (bad option); the agent exits 2 after it
//   {"ev":"done","t":N}                                        workload finished by itself
// The client exits after its first error (idle/stream) or when its workload completes.
//
// A line that is not such an event (garbled, truncated, an unknown "ev") is a protocol error:
// parse_agent_event says what is wrong and the cell records it as an error.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/json.hpp"
#include "common/result.hpp"
#include "common/tcp_info.hpp"
#include "harness/model/enums.hpp"

namespace sockchaos::harness {

enum class AgentEventKind { listening, start, ready, error, probes, requests, accept, conn_error, fatal, done };
template <>
struct NameTable<AgentEventKind> {
  static constexpr Names<AgentEventKind, 10> entries{{{AgentEventKind::listening, "listening"},
                                                      {AgentEventKind::start, "start"},
                                                      {AgentEventKind::ready, "ready"},
                                                      {AgentEventKind::error, "error"},
                                                      {AgentEventKind::probes, "probes"},
                                                      {AgentEventKind::requests, "requests"},
                                                      {AgentEventKind::accept, "accept"},
                                                      {AgentEventKind::conn_error, "conn-error"},
                                                      {AgentEventKind::fatal, "fatal"},
                                                      {AgentEventKind::done, "done"}}};
};

// One probe or request outcome.
struct WorkItem {
  int64_t t = 0;        // probe: its start; request: when the outcome was seen
  int64_t value = -1;   // probe: connect duration; request: latency; -1 = none
  std::string error;    // "" = success, else an errno name, "EOF", "app_timeout", ...
  int64_t t_end = 0;    // when the probe's last (or failing) call returned; = t for requests
};

struct AgentEvent {
  AgentEventKind kind = AgentEventKind::done;
  int64_t t = 0;
  int port = 0;                  // listening
  std::string syscall, error;    // error, conn-error: errno name or a label as above
  std::vector<WorkItem> items;   // probes, requests
  int64_t count = 0;             // accept
  std::string message, option;   // fatal (error holds its errno name, if any)
  std::optional<TcpInfo> tcp_info;  // error: the socket right after the failing call
};

json to_json(const AgentEvent& event);
std::string format_agent_event(const AgentEvent& event);  // one line, with its '\n'
Result<AgentEvent> parse_agent_event(std::string_view line);

}  // namespace sockchaos::harness
