// The contract between the orchestrator and sockchaos-agent.
//
// Invocation:  sockchaos-agent '<spec json>'
//   spec = the JSON made by harness/agent_spec.hpp from the typed ClientSpec / ServerSpec
//          (durations as integer nanoseconds, addresses resolved to IPv4 literals).
//   The agent is started inside the host's network namespace; it does not enter one itself.
//
// Output: one JSON object per line on stdout, flushed per line (batched for probes).
// "t" is CLOCK_MONOTONIC in nanoseconds, taken right after the syscall that produced the event.
//   {"ev":"listening","t":N}                                   server bound and listening
//   {"ev":"start","t":N}                                       client about to connect first
//   {"ev":"ready","t":N}                                       client connected (idle/stream/request)
//   {"ev":"error","t":N,"syscall":"recv","errno":"ETIMEDOUT"}  client's first failure; errno is
//        an errno name, "EOF" (peer closed: read returned 0), "app_timeout" (poll timed out)
//        or "connect_timeout" (the scenario's connect_timeout expired, syscall "poll")
//   {"ev":"probes","t":N,"items":[[t_ns, connect_ns, null | "ECONNREFUSED"], ...]}
//        probe results, batched at most every 50 ms and at the end; connect_ns is -1 when
//        the connect did not complete
//   {"ev":"requests","t":N,"items":[[t_ns, latency_ns, null | "ETIMEDOUT"], ...]}  request workload
//   {"ev":"accept","t":N}                                      server accepted a connection
//   {"ev":"fatal","t":N,"message":"..."}                       configuration error (bad option);
//        the agent exits 2 after it
//   {"ev":"done","t":N}                                        workload finished by itself
// The client exits after its first error (idle/stream) or when its workload completes.
#pragma once
#include <cstdint>

#include "common/clock.hpp"

