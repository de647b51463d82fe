// The scenario model's types: what a scenario file says, validated and typed. Pure data; the
// parser (harness/model/load.hpp) builds them, every later stage reads them. The agent links
// these types (through the protocol) and never the parser.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.hpp"
#include "common/json.hpp"
#include "harness/model/enums.hpp"

namespace sockchaos::harness {

using sockchaos::json;
using sockchaos::Nanos;

struct Keepalive {
  bool enabled = false;  // false: "off" (SO_KEEPALIVE 0)
  // 0: not set on the socket, the host's sysctl applies (tcp_keepalive_time, _intvl,
  // _probes). Kernel granularity is whole seconds.
  std::chrono::seconds idle{0}, interval{0};
  int count = 0;
};

// Envoy/Istio form: { "level": 6, "name": 18, "int": 10000 }.
struct RawSocketOption {
  int level = 0;
  int name = 0;
  int int_value = 0;
};

// Every field is optional: unset means "leave the kernel default".
struct SocketOptions {
  std::optional<Keepalive> keepalive;
  std::optional<Nanos> tcp_user_timeout;       // Nanos(0) = "off"
  std::optional<std::optional<Nanos>> linger;  // inner nullopt = "off"; 0s = RST on close
  std::optional<Nanos> rcvtimeo, sndtimeo;     // Nanos(0) = "off"
  std::optional<bool> nodelay, quickack, reuseaddr, reuseport, bind_address_no_port;
  std::optional<int> syn_count, rcvbuf, sndbuf;
  std::vector<RawSocketOption> raw;
};

// ---- scenario parts ----------------------------------------------------------------------

struct HostSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> sysctl;  // "net.ipv4.tcp_retries2" -> "8"
};

struct ServerSpec {
  std::string on = "server";
  int port = 7000;
  ServerBehavior behavior = ServerBehavior::echo;
  SocketOptions socket;
  CloseMode close = CloseMode::never;
  std::string response = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";  // respond
  std::vector<std::string> command;  // behavior "command"
  std::string upstream;              // behavior "proxy": "host:port"
};

struct Workload {
  WorkloadKind kind = WorkloadKind::idle;
  double bytes_per_second = 0;  // stream (0 = as fast as the socket takes)
  double per_second = 0;        // probe / request rate (0 = as fast as possible)
  int count = 0;                // probe: number of probes
  int connections = 1;          // request
  std::string request;          // probe/request: bytes sent per request ("" = none for probe)
  std::optional<Nanos> duration;  // request/stream: stop after this long (bounded loops)
  std::vector<std::string> command;  // kind "command"
};

struct ClientSpec {
  std::string on = "client";
  std::string connect_host = "server";
  int connect_port = 7000;
  Workload workload;
  SocketOptions socket;
  std::optional<Nanos> app_timeout;
  std::optional<Nanos> connect_timeout;
};

struct FaultMatch {
  std::optional<TcpFlag> tcp_flags;
  std::optional<ConnState> state;
  std::optional<int> port;
};

struct Fault {
  FaultKind kind = FaultKind::blackhole;
  std::string on = "server";
  Nanos at{0};
  std::optional<Nanos> until;
  Direction direction = Direction::both;
  FaultMatch match;
  double probability = 1.0;        // drop
  RejectWith with = RejectWith::tcp_reset;  // reject
  std::string label() const;       // "blackhole on server (both)"
  bool is_packet_fault() const { return harness::is_packet_fault(kind); }
};

struct Expectation {
  json where = json::object();  // pointer -> value; all must equal the cell's params
  std::optional<Nanos> detected_within, detected_after;
  std::optional<bool> undetected;
  std::optional<std::string> error;  // errno name or "app_timeout"
  std::optional<Mechanism> mechanism;
  std::optional<int64_t> time_wait_max, time_wait_min;
  std::map<std::string, int64_t> states_max, states_min;  // state -> peak at most / at least
  std::optional<int64_t> probe_failures_max, probe_failures_min;
  // TIME_WAIT lifetime: results' sockets.<host>.time_wait_cleared_ms (when the TIME_WAIT count
  // first returned to 0 after its peak, ms after the workload ended) at least / at most this.
  std::optional<Nanos> time_wait_cleared_after, time_wait_cleared_within;
  std::string host = "client";
  std::string pointer;  // where this expectation sits in the file, e.g. "/expect/0"
};

// Packet capture of every host of a cell (libpcap files next to the results; the packets
// classified into the timeline). On unless the scenario says "capture": false.
struct CaptureSpec {
  bool enabled = true;
  int snaplen = 128;               // bytes kept per packet: Ethernet + IP + TCP headers and options
  int64_t max_bytes = 4 << 20;     // per host; beyond it the first and the last part are kept
};

struct MatrixAxis {
  std::string pointer;       // "/client/socket/tcp_user_timeout"
  std::vector<json> values;
};

struct Scenario {
  std::string name, description;
  std::string file;  // path as given, "<dict>" for in-memory
  std::vector<HostSpec> hosts;  // in file order; default client, server
  std::vector<std::pair<std::string, std::string>> links;  // default {client, server}
  ServerSpec server;
  // A second server started before `server` (e.g. the origin behind a proxy chain):
  // behaviors echo|sink|stall|hold|respond only.
  std::optional<ServerSpec> upstream_server;
  ClientSpec client;
  std::vector<Fault> faults;
  Nanos deadline = std::chrono::seconds(60);
  Nanos observe{0};
  Nanos sample_every = std::chrono::milliseconds(100);
  CaptureSpec capture;
  int repeat = 1;
  std::vector<MatrixAxis> matrix;
  std::vector<Expectation> expect;
  json document;  // the validated document (after matrix values were set, for a cell)
  std::map<std::string, int> lines;  // JSON Pointer -> line in `file` (empty for in-memory)

  const HostSpec* host(const std::string& name) const;
};

struct Cell {
  std::string scenario_name;
  std::string id;       // "tcp_user_timeout=2s keepalive=off", "" when there is no matrix
  json params = json::object();  // pointer -> value, in matrix order
  Scenario scenario;    // the full scenario of this cell
  std::string full_id() const;  // "scenario/cell-id" (what --filter matches)
};

}  // namespace sockchaos::harness
