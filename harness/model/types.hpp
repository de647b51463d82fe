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
#include "common/placeholders.hpp"
#include "harness/model/enums.hpp"
#include "netns/linkemu/impairment.hpp"

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
  std::optional<Nanos> defer_accept;  // TCP_DEFER_ACCEPT, whole seconds; Nanos(0) = "off"
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
  std::string upstream;              // behavior "proxy": "host:port" ("[host]:port": over IPv6)
  std::string upstream_host() const;  // "server" of "server:7000" or "[server]:7000"
  bool upstream_ipv6(IpFamily family) const;  // the proxy reaches its upstream over IPv6
  // Config templates of a command: file name in {tmp} -> template path ({dir} expanded),
  // rendered with the placeholders before the command starts.
  std::vector<std::pair<std::string, std::string>> files;
  // Agent behaviors: shutdown(SHUT_WR) this long after the accept, then never read again;
  // close a connection after this long without receiving anything.
  std::optional<Nanos> half_close_after, idle_timeout;
  bool http_framing = false;  // respond: one response per HTTP request (ends at "\r\n\r\n"), not per line
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
  std::optional<Nanos> start_after;  // stream/request: the first send this long after "ready"
  // command: "ready" (faults' `at` counts from it) is the first moment the client's host holds
  // an ESTABLISHED connection instead of the command's start (a JVM or `go build` first).
  bool ready_when_connected = false;
};

struct ClientSpec {
  std::string on = "client";
  std::string connect_host = "server";
  int connect_port = 7000;
  bool connect_ipv6 = false;  // connects over IPv6 (family "ipv6", or "[server]:8080" in "dual")
  Workload workload;
  SocketOptions socket;
  std::optional<Nanos> app_timeout;
  std::optional<Nanos> connect_timeout;
  std::vector<std::pair<std::string, std::string>> files;  // as ServerSpec::files (command workload)
};

// TCP flag bits as in the header (and nftables): fin 0x01, syn 0x02, rst 0x04, psh 0x08,
// ack 0x10, urg 0x20, ece 0x40, cwr 0x80. A packet matches when (flags & mask) == value.
struct TcpFlagMatch {
  uint8_t mask = 0, value = 0;
  bool operator==(const TcpFlagMatch&) const = default;
};

// A link between two hosts: a veth pair, or (with impairments) the pair through the link
// emulator (netns/link_emulator.hpp) or netem. a_to_b is from `a` (the first host of
// "between") to `b`. `keys_a_to_b` / `keys_b_to_a` are the impairment keys as given (profile and
// the link's own merged), the base an `impair` fault overrides.
struct LinkSpec {
  std::string a, b;
  std::optional<linkemu::Impairment> a_to_b, b_to_a;
  json keys_a_to_b = json::object(), keys_b_to_a = json::object();
  std::string profile;
  bool emulated() const { return a_to_b.has_value() || b_to_a.has_value(); }
};

// Which implementation impairs emulated links: netem where the kernel has it (auto), or the
// built-in forwarder; netem is refused (exit 3) on a kernel without sch_netem.
enum class LinkBackend { auto_, builtin, netem };
template <>
struct NameTable<LinkBackend> {
  static constexpr Names<LinkBackend, 3> entries{
      {{LinkBackend::auto_, "auto"}, {LinkBackend::builtin, "builtin"}, {LinkBackend::netem, "netem"}}};
};

// What an `impair` fault does to one link while it lasts.
struct LinkImpairment {
  size_t link = 0;  // index in Scenario::links
  linkemu::Impairment a_to_b, b_to_a;
};

struct FaultMatch {
  std::optional<TcpFlag> tcp_flags;  // "syn" (the string form; also set for {mask:[syn], value:[syn]})
  std::optional<TcpFlagMatch> tcp_flag_mask;  // the object form {"mask": [...], "value": [...]}
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
  std::vector<LinkImpairment> impair;       // impair: the links it changes (resolved when parsed)
  std::string impair_summary;               // impair: the keys it sets, for the label
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
  // The same for any state (sockets.<host>.cleared_ms.<STATE>), e.g. a server's ESTABLISHED
  // socket dropped after its keepalive found the client dead: state -> duration.
  std::map<std::string, Nanos> cleared_after, cleared_within;
  // The measured detection (or its absence) lies inside the kernel model's window
  // (results' model.holds). Fails closed: a run the model does not cover fails it.
  bool model_holds = false;
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
  std::string dir;   // {dir}: the absolute folder of `file` (the current directory for in-memory)
  // Programs the scenario's commands need -> the Debian package that brings each: a cell
  // whose program is missing is skipped, naming the package (the program name as on PATH,
  // or an absolute path).
  std::vector<std::pair<std::string, std::string>> required_programs;
  std::vector<HostSpec> hosts;  // in file order; default client, server
  std::vector<LinkSpec> links;  // default one plain client - server link
  LinkBackend link_backend = LinkBackend::auto_;
  IpFamily family = IpFamily::ipv4;
  std::optional<uint64_t> seed;  // the emulated links' random seed (a run reports its own; give it to replay)
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

// The placeholders of commands and config templates, the one list: {server} (where the client
// connects), {port} (the role's port), {dir} (the scenario's folder), {tmp} (the run's scratch
// folder), {addr:HOST} (HOST's address as the command's host reaches it: IPv4, or IPv6 in an
// "ipv6" scenario), {addr6:HOST} (its IPv6 address: `ipv6` says the scenario has them). Returns
// "" when `ref` is one of them naming a declared host, else why not.
std::string placeholder_problem(const PlaceholderRef& ref, const std::vector<std::string>& hosts, bool ipv6 = false);
inline constexpr const char* kPlaceholderList = "{server}, {port}, {dir}, {tmp}, {addr:HOST} or {addr6:HOST}";

}  // namespace sockchaos::harness
