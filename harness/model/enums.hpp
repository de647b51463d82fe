// Every closed vocabulary of the scenario model and of results, as an enum with one name table.
//
// A name is parsed once, where the file is read (validate.cpp), and printed once, where results
// are written; everything in between compares enums. names<E>() lists a table's names in order
// (for "expected one of ..." messages and the schema test), name(e) gives the file's spelling
// ("link-down", "after-response"), parse_name<E>(text) the reverse.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockchaos::harness {

template <class E>
struct NameTable;  // specialised below: static constexpr std::array<std::pair<E, std::string_view>, N> entries

template <class E>
constexpr std::string_view name(E value) {
  for (const auto& [v, n] : NameTable<E>::entries)
    if (v == value) return n;
  return "?";
}

template <class E>
std::string name_string(E value) {
  return std::string(name(value));
}

template <class E>
constexpr std::optional<E> parse_name(std::string_view text) {
  for (const auto& [v, n] : NameTable<E>::entries)
    if (n == text) return v;
  return std::nullopt;
}

template <class E>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [v, n] : NameTable<E>::entries) out.emplace_back(n);
  return out;
}

template <class E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

// ---- scenario ----------------------------------------------------------------------------------

enum class WorkloadKind { idle, stream, request, probe, command };
template <>
struct NameTable<WorkloadKind> {
  static constexpr Names<WorkloadKind, 5> entries{{{WorkloadKind::idle, "idle"},
                                                   {WorkloadKind::stream, "stream"},
                                                   {WorkloadKind::request, "request"},
                                                   {WorkloadKind::probe, "probe"},
                                                   {WorkloadKind::command, "command"}}};
};

enum class ServerBehavior { echo, sink, stall, hold, respond, command, proxy };
template <>
struct NameTable<ServerBehavior> {
  static constexpr Names<ServerBehavior, 7> entries{{{ServerBehavior::echo, "echo"},
                                                     {ServerBehavior::sink, "sink"},
                                                     {ServerBehavior::stall, "stall"},
                                                     {ServerBehavior::hold, "hold"},
                                                     {ServerBehavior::respond, "respond"},
                                                     {ServerBehavior::command, "command"},
                                                     {ServerBehavior::proxy, "proxy"}}};
};
// The behaviors the agent runs (command servers are the user's own programs).
constexpr bool is_agent_behavior(ServerBehavior b) { return b != ServerBehavior::command; }

enum class CloseMode { never, after_response };
template <>
struct NameTable<CloseMode> {
  static constexpr Names<CloseMode, 2> entries{{{CloseMode::never, "never"}, {CloseMode::after_response, "after-response"}}};
};

enum class FaultKind { blackhole, drop, reject, kill, pause, crash, link_down };
template <>
struct NameTable<FaultKind> {
  static constexpr Names<FaultKind, 7> entries{{{FaultKind::blackhole, "blackhole"},
                                                {FaultKind::drop, "drop"},
                                                {FaultKind::reject, "reject"},
                                                {FaultKind::kill, "kill"},
                                                {FaultKind::pause, "pause"},
                                                {FaultKind::crash, "crash"},
                                                {FaultKind::link_down, "link-down"}}};
};
// Faults made of nftables rules (crash's blackhole part included).
constexpr bool is_packet_fault(FaultKind k) {
  return k == FaultKind::blackhole || k == FaultKind::drop || k == FaultKind::reject || k == FaultKind::crash;
}
// Faults that act on the host's processes.
constexpr bool is_process_fault(FaultKind k) {
  return k == FaultKind::kill || k == FaultKind::pause || k == FaultKind::crash;
}

enum class Direction { both, in, out };
template <>
struct NameTable<Direction> {
  static constexpr Names<Direction, 3> entries{{{Direction::both, "both"}, {Direction::in, "in"}, {Direction::out, "out"}}};
};

enum class RejectWith { tcp_reset, icmp_port_unreachable, icmp_host_unreachable, icmp_admin_prohibited };
template <>
struct NameTable<RejectWith> {
  static constexpr Names<RejectWith, 4> entries{{{RejectWith::tcp_reset, "tcp-reset"},
                                                 {RejectWith::icmp_port_unreachable, "icmp-port-unreachable"},
                                                 {RejectWith::icmp_host_unreachable, "icmp-host-unreachable"},
                                                 {RejectWith::icmp_admin_prohibited, "icmp-admin-prohibited"}}};
};

enum class ConnState { new_, established };
template <>
struct NameTable<ConnState> {
  static constexpr Names<ConnState, 2> entries{{{ConnState::new_, "new"}, {ConnState::established, "established"}}};
};

enum class TcpFlag { syn };
template <>
struct NameTable<TcpFlag> {
  static constexpr Names<TcpFlag, 1> entries{{{TcpFlag::syn, "syn"}}};
};

// ---- results -----------------------------------------------------------------------------------

enum class Outcome { detected, undetected, error, skipped };
template <>
struct NameTable<Outcome> {
  static constexpr Names<Outcome, 4> entries{{{Outcome::detected, "detected"},
                                              {Outcome::undetected, "undetected"},
                                              {Outcome::error, "error"},
                                              {Outcome::skipped, "skipped"}}};
};

// Which kernel limit (or application timer) ended the connection.
enum class Mechanism {
  tcp_user_timeout,
  keepalive,
  tcp_retries2,
  syn_retries,
  rst,
  fin,
  icmp,
  rcvtimeo,
  sndtimeo,
  app_timeout,
  connect_timeout,
  refused,
  port_exhaustion,
  exit,
  other
};
template <>
struct NameTable<Mechanism> {
  static constexpr Names<Mechanism, 15> entries{{{Mechanism::tcp_user_timeout, "tcp_user_timeout"},
                                                 {Mechanism::keepalive, "keepalive"},
                                                 {Mechanism::tcp_retries2, "tcp_retries2"},
                                                 {Mechanism::syn_retries, "syn_retries"},
                                                 {Mechanism::rst, "rst"},
                                                 {Mechanism::fin, "fin"},
                                                 {Mechanism::icmp, "icmp"},
                                                 {Mechanism::rcvtimeo, "rcvtimeo"},
                                                 {Mechanism::sndtimeo, "sndtimeo"},
                                                 {Mechanism::app_timeout, "app_timeout"},
                                                 {Mechanism::connect_timeout, "connect_timeout"},
                                                 {Mechanism::refused, "refused"},
                                                 {Mechanism::port_exhaustion, "port_exhaustion"},
                                                 {Mechanism::exit, "exit"},
                                                 {Mechanism::other, "other"}}};
};

}  // namespace sockchaos::harness
