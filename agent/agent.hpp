// sockchaos-agent internals: event output, the stop flag, socket helpers, the two roles.
//
// Details of the protocol in harness/agent_protocol.hpp that the orchestrator relies on:
//   - every client workload emits "start" right before its first connect; idle/stream emit
//     "ready" when connected, request when every connection's first attempt concluded;
//   - "error" errno values: an errno name, "EOF", "app_timeout" (syscall "poll"; for stream
//     also when no send progressed for app_timeout), or "connect_timeout" (connect_timeout
//     expired, syscall "poll"). SO_RCVTIMEO/SO_SNDTIMEO expiry is "EAGAIN" (recv/send);
//     a connection the kernel killed while the client waited in poll is syscall "poll" with
//     SO_ERROR's name;
//   - probes items: [t at probe start, connect_ns or -1, null | error]; an error after a
//     successful connect (request phase) keeps the measured connect_ns;
//   - requests items: [t when the outcome was seen, latency_ns or -1, null | error];
//   - "accept" carries "count" (accepts since the previous line, lines at most every 10 ms,
//     "t" = the first of them); "listening" carries "port";
//   - "fatal" carries "message" and, for a rejected option, "option" (its label, e.g.
//     "raw 6/18 (IPPROTO_TCP/TCP_USER_TIMEOUT)=-1") and "errno"; options are checked on a
//     scratch socket before any other event;
//   - "done" is also emitted when the workload's duration or the agent's max_lifetime ends
//     a blocking wait (SIGALRM).
//
// Exit codes (the orchestrator relies on them):
//   0  the workload finished by itself ("done"), or a server reached its lifetime
//   1  a client stopped after its first failure ("error" event)
//   2  configuration error ("fatal" event): bad spec, an option the kernel rejects,
//      an address that cannot be bound or parsed
//   3  the orchestrator is gone (parent changed, stdout closed)
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "harness/protocol/events.hpp"
#include "harness/protocol/agent_spec.hpp"
#include "harness/protocol/socket_options.hpp"

namespace sockchaos::agent {

using sockchaos::monotonic_ns;

inline constexpr int kExitDone = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitFatal = 2;
inline constexpr int kExitOrphaned = 3;

// `sockchaos-agent '<spec json>'`: parses the spec and runs the client or server it names. A
// forked agent passes the zygote's argv[1] as title, which then reads "client" or "server".
int run_spec(const char* spec_json, char* title = nullptr);
// `sockchaos-agent zygote`: the fork server (harness/protocol/zygote.hpp); stdin is its socket,
// title its argv[1].
int run_zygote(char* title);

// `sockchaos-agent reap ROOT` (harness/world/scratch.hpp): waits for EOF on stdin, removes ROOT.
int run_reap(const std::string& root);

// "ETIMEDOUT" for ETIMEDOUT, "E123" when glibc has no name.
std::string errno_name(int err);

// One event per line on stdout (harness/protocol/events.hpp), written with write(2) as a whole
// line. Every event carries its kind and "t" (CLOCK_MONOTONIC ns, taken by the caller right
// after the syscall that produced the event).
void emit(const harness::AgentEvent& event);
void emit_simple(harness::AgentEventKind kind, int64_t t);
void emit_error(int64_t t, const char* syscall, const std::string& errno_text);
[[noreturn]] void fatal(const std::string& message, int err = 0, const std::string& option = "");

// Set by SIGALRM when the workload's duration or the agent's lifetime has elapsed. Handlers
// are installed without SA_RESTART, so a blocking syscall returns EINTR and the loop sees it.
bool stop_requested();
void arm_stop_timer(int64_t after_ns);  // replaces any earlier timer
[[noreturn]] void finish_done();        // emits "done", exits 0

// ---- sockets -------------------------------------------------------------------------------

// An IPv4 or IPv6 socket address ("198.18.0.2" or "2001:2:0:0::2"; "::" listens on both).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string str() const;  // "198.18.0.2:8080", "[2001:2::2]:8080"
};
SocketAddress make_address(const std::string& literal, int port);  // fatal on a bad literal
std::string port_of_host_port(const std::string& host_port);   // "host:7000" -> "7000"

// socket(family, SOCK_STREAM | SOCK_CLOEXEC [| SOCK_NONBLOCK]) with the plan applied; fatal
// (exit 2) when the kernel rejects an option.
int make_tcp_socket(int family, const std::vector<harness::PlannedOption>& plan, bool nonblocking);
void set_nonblocking(int fd, bool on);
int socket_error(int fd);  // SO_ERROR

struct ConnectResult {
  int err = 0;                   // 0 on success
  std::string err_text;          // errno name or "connect_timeout"
  const char* syscall = "connect";
  int64_t t_start = 0;           // right before connect()
  int64_t t_end = 0;             // right after it completed (or failed)
};

// connect(); when timeout_ns >= 0 non-blocking connect + poll(POLLOUT, timeout) (the fd's
// blocking mode is restored afterwards); else a blocking connect. EINTR is absorbed unless a
// stop was requested (then err = EINTR).
ConnectResult connect_socket(int fd, const SocketAddress& address, int64_t timeout_ns);

// poll() / ppoll() on one fd with a timeout in ns (< 0: forever), absorbing EINTR unless a stop
// was requested. Returns revents, 0 on timeout, -1 with errno EINTR on stop.
int poll_one(int fd, short events, int64_t timeout_ns);

int run_client(const harness::AgentSpec& spec);
int run_server(const harness::AgentSpec& spec);
int run_exec(int argc, char** argv);  // exec -- ARGV: user command as PID 1 of a new PID namespace

}  // namespace sockchaos::agent
