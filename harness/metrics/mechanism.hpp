// Which kernel mechanism (or application timer) ended the connection, as far as the errno, the
// failing syscall and the cell's configuration tell. Evidence (packets, tcp_info, counters)
// refines it where present: harness/metrics/mechanism_evidence.hpp.
#pragma once
#include <string>

#include "harness/model/types.hpp"

namespace sockchaos::harness {

// error: errno name, "EOF", "app_timeout", "connect_timeout", "exit:N"; syscall as the agent
// reported it.
Mechanism infer_mechanism(const std::string& error, const std::string& syscall, const Scenario& scenario);

// The client host's value of a sysctl as the scenario sets it, else `fallback` (the kernel's
// default in a fresh namespace).
int64_t client_sysctl_or(const Scenario& scenario, const std::string& key, int64_t fallback);

// TCP_USER_TIMEOUT the client socket gets, in ns (0 = none): the named option or a raw
// {level 6, name 18} one (raw options are applied last, so they win).
int64_t client_user_timeout_ns(const Scenario& scenario);

}  // namespace sockchaos::harness
