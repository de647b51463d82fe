// Socket option mapping (through a recording fake of the setsockopt seam) and the agent spec
// round trip. No sockets, no root.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include <gtest/gtest.h>

#include "harness/protocol/agent_spec.hpp"
#include "harness/protocol/socket_options.hpp"

namespace sockchaos::harness {
namespace {

using namespace std::chrono_literals;

struct RecordedCall {
  int fd, level, name;
  std::vector<unsigned char> value;

  int as_int() const {
    EXPECT_EQ(value.size(), sizeof(int));
    int v = 0;
    std::memcpy(&v, value.data(), sizeof(v));
    return v;
  }
  template <class T>
  T as() const {
    EXPECT_EQ(value.size(), sizeof(T));
    T v{};
    std::memcpy(&v, value.data(), sizeof(T));
    return v;
  }
};

class RecordingSyscalls : public SocketSyscalls {
 public:
  SysResult setsockopt(int fd, int level, int name, const void* value, socklen_t len) override {
    const auto* bytes = static_cast<const unsigned char*>(value);
    calls.push_back({fd, level, name, std::vector<unsigned char>(bytes, bytes + len)});
    if (reject && reject_level == level && reject_name == name) return {-1, reject_errno};
    return {0, 0};
  }

  std::vector<RecordedCall> calls;
  bool reject = false;
  int reject_level = 0, reject_name = 0, reject_errno = EINVAL;
};

std::vector<RecordedCall> apply(const SocketOptions& options) {
  RecordingSyscalls sys;
  const Status status = apply_socket_options(sys, 42, plan_socket_options(options));
  EXPECT_TRUE(status.ok()) << status.error().str();
  for (const auto& call : sys.calls) EXPECT_EQ(call.fd, 42);
  return sys.calls;
}

std::vector<std::pair<int, int>> level_names(const std::vector<RecordedCall>& calls) {
  std::vector<std::pair<int, int>> out;
  for (const auto& call : calls) out.emplace_back(call.level, call.name);
  return out;
}

TEST(SocketOptions, NothingSetMeansNoCalls) { EXPECT_TRUE(apply(SocketOptions{}).empty()); }

TEST(SocketOptions, KeepaliveIdleOnly) {
  SocketOptions options;
  options.keepalive = Keepalive{true, 7s, 0s, 0};
  const auto calls = apply(options);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(level_names(calls),
            (std::vector<std::pair<int, int>>{{SOL_SOCKET, SO_KEEPALIVE}, {IPPROTO_TCP, TCP_KEEPIDLE}}));
  EXPECT_EQ(calls[0].as_int(), 1);
  EXPECT_EQ(calls[1].as_int(), 7);
}

TEST(SocketOptions, KeepaliveFullInOrder) {
  SocketOptions options;
  options.keepalive = Keepalive{true, 1s, 2s, 3};
  const auto calls = apply(options);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(level_names(calls), (std::vector<std::pair<int, int>>{{SOL_SOCKET, SO_KEEPALIVE},
                                                                  {IPPROTO_TCP, TCP_KEEPIDLE},
                                                                  {IPPROTO_TCP, TCP_KEEPINTVL},
                                                                  {IPPROTO_TCP, TCP_KEEPCNT}}));
  EXPECT_EQ(calls[1].as_int(), 1);
  EXPECT_EQ(calls[2].as_int(), 2);
  EXPECT_EQ(calls[3].as_int(), 3);
}

TEST(SocketOptions, KeepaliveOff) {
  SocketOptions options;
  options.keepalive = Keepalive{};
  const auto calls = apply(options);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].level, SOL_SOCKET);
  EXPECT_EQ(calls[0].name, SO_KEEPALIVE);
  EXPECT_EQ(calls[0].as_int(), 0);
}

TEST(SocketOptions, TcpUserTimeoutInMilliseconds) {
  SocketOptions options;
  options.tcp_user_timeout = 1500ms;
  auto calls = apply(options);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].level, IPPROTO_TCP);
  EXPECT_EQ(calls[0].name, TCP_USER_TIMEOUT);
  EXPECT_EQ(calls[0].as_int(), 1500);

  options.tcp_user_timeout = Nanos(0);  // "off"
  calls = apply(options);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].as_int(), 0);

  options.tcp_user_timeout = 250us;  // never rounds down to "off"
  EXPECT_EQ(apply(options)[0].as_int(), 1);
}

TEST(SocketOptions, Linger) {
  SocketOptions options;
  options.linger = std::optional<Nanos>(Nanos(0));  // "0s": RST on close
  auto calls = apply(options);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].level, SOL_SOCKET);
  EXPECT_EQ(calls[0].name, SO_LINGER);
  auto value = calls[0].as<linger>();
  EXPECT_EQ(value.l_onoff, 1);
  EXPECT_EQ(value.l_linger, 0);

  options.linger = std::optional<Nanos>(5s);
  value = apply(options)[0].as<linger>();
  EXPECT_EQ(value.l_onoff, 1);
  EXPECT_EQ(value.l_linger, 5);

  options.linger = std::optional<Nanos>();  // "off"
  value = apply(options)[0].as<linger>();
  EXPECT_EQ(value.l_onoff, 0);
  EXPECT_EQ(value.l_linger, 0);
}

TEST(SocketOptions, Timeouts) {
  SocketOptions options;
  options.rcvtimeo = 1500ms;
  options.sndtimeo = 2s;
  const auto calls = apply(options);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(level_names(calls), (std::vector<std::pair<int, int>>{{SOL_SOCKET, SO_RCVTIMEO},
                                                                  {SOL_SOCKET, SO_SNDTIMEO}}));
  const auto rcv = calls[0].as<timeval>();
  EXPECT_EQ(rcv.tv_sec, 1);
  EXPECT_EQ(rcv.tv_usec, 500000);
  const auto snd = calls[1].as<timeval>();
  EXPECT_EQ(snd.tv_sec, 2);
  EXPECT_EQ(snd.tv_usec, 0);
}

TEST(SocketOptions, FlagsAndNumbers) {
  SocketOptions options;
  options.nodelay = true;
  options.syn_count = 2;
  options.quickack = false;
  options.rcvbuf = 65536;
  options.sndbuf = 4096;
  options.reuseaddr = true;
  options.reuseport = true;
  options.bind_address_no_port = true;
  const auto calls = apply(options);
  const std::vector<std::tuple<int, int, int>> expected = {
      {IPPROTO_TCP, TCP_NODELAY, 1},    {IPPROTO_TCP, TCP_SYNCNT, 2},
      {IPPROTO_TCP, TCP_QUICKACK, 0},   {SOL_SOCKET, SO_RCVBUF, 65536},
      {SOL_SOCKET, SO_SNDBUF, 4096},    {SOL_SOCKET, SO_REUSEADDR, 1},
      {SOL_SOCKET, SO_REUSEPORT, 1},    {IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1},
  };
  ASSERT_EQ(calls.size(), expected.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].level, std::get<0>(expected[i])) << i;
    EXPECT_EQ(calls[i].name, std::get<1>(expected[i])) << i;
    EXPECT_EQ(calls[i].as_int(), std::get<2>(expected[i])) << i;
  }
}

TEST(SocketOptions, RawOptionsComeLastWithReadableLabel) {
  SocketOptions options;
  options.raw.push_back({6, 18, 10000});
  options.raw.push_back({6, 250, 1});
  options.nodelay = true;
  const auto plan = plan_socket_options(options);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].label, "IPPROTO_TCP/TCP_NODELAY=1");
  EXPECT_EQ(plan[1].level, 6);
  EXPECT_EQ(plan[1].name, 18);
  EXPECT_EQ(plan[1].label, "raw 6/18 (IPPROTO_TCP/TCP_USER_TIMEOUT)=10000");
  EXPECT_EQ(plan[2].label, "raw 6/250=1");
  const auto calls = apply(options);
  EXPECT_EQ(calls[1].as_int(), 10000);
}

TEST(SocketOptions, LabelsNameTheOption) {
  SocketOptions options;
  options.keepalive = Keepalive{true, 7s, 0s, 0};
  options.linger = std::optional<Nanos>(Nanos(0));
  const auto plan = plan_socket_options(options);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].label, "SOL_SOCKET/SO_KEEPALIVE=1");
  EXPECT_EQ(plan[1].label, "IPPROTO_TCP/TCP_KEEPIDLE=7");
  EXPECT_EQ(plan[2].label, "SOL_SOCKET/SO_LINGER={1,0}");
}

TEST(SocketOptions, FirstRejectedOptionIsNamedWithErrno) {
  SocketOptions options;
  options.nodelay = true;
  options.raw.push_back({6, 18, -1});
  options.raw.push_back({6, 1, 1});
  RecordingSyscalls sys;
  sys.reject = true;
  sys.reject_level = 6;
  sys.reject_name = 18;
  const Status status = apply_socket_options(sys, 3, plan_socket_options(options));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().err, EINVAL);
  EXPECT_EQ(status.error().message, "setsockopt raw 6/18 (IPPROTO_TCP/TCP_USER_TIMEOUT)=-1");
  EXPECT_NE(status.error().str().find("Invalid argument"), std::string::npos);
  EXPECT_EQ(sys.calls.size(), 2u);  // stops at the first failure
}

TEST(SocketOptions, KernelSyscallsReportErrno) {
  int one = 1;
  const SysResult result =
      KernelSocketSyscalls::instance().setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  EXPECT_EQ(result.rc, -1);
  EXPECT_EQ(result.err, EBADF);
}

// ---- agent spec round trip -----------------------------------------------------------------

SocketOptions every_option() {
  SocketOptions o;
  o.keepalive = Keepalive{true, 1s, 2s, 3};
  o.tcp_user_timeout = 1500ms;
  o.linger = std::optional<Nanos>(Nanos(0));
  o.rcvtimeo = 250ms;
  o.sndtimeo = Nanos(123456789);
  o.nodelay = true;
  o.quickack = false;
  o.reuseaddr = true;
  o.reuseport = false;
  o.bind_address_no_port = true;
  o.syn_count = 2;
  o.rcvbuf = 65536;
  o.sndbuf = 8192;
  o.raw = {{6, 18, 10000}, {1, 9, 1}};
  return o;
}

void expect_same(const SocketOptions& a, const SocketOptions& b) {
  ASSERT_EQ(a.keepalive.has_value(), b.keepalive.has_value());
  if (a.keepalive) {
    EXPECT_EQ(a.keepalive->enabled, b.keepalive->enabled);
    EXPECT_EQ(a.keepalive->idle, b.keepalive->idle);
    EXPECT_EQ(a.keepalive->interval, b.keepalive->interval);
    EXPECT_EQ(a.keepalive->count, b.keepalive->count);
  }
  EXPECT_EQ(a.tcp_user_timeout, b.tcp_user_timeout);
  EXPECT_EQ(a.linger, b.linger);
  EXPECT_EQ(a.rcvtimeo, b.rcvtimeo);
  EXPECT_EQ(a.sndtimeo, b.sndtimeo);
  EXPECT_EQ(a.nodelay, b.nodelay);
  EXPECT_EQ(a.quickack, b.quickack);
  EXPECT_EQ(a.reuseaddr, b.reuseaddr);
  EXPECT_EQ(a.reuseport, b.reuseport);
  EXPECT_EQ(a.bind_address_no_port, b.bind_address_no_port);
  EXPECT_EQ(a.syn_count, b.syn_count);
  EXPECT_EQ(a.rcvbuf, b.rcvbuf);
  EXPECT_EQ(a.sndbuf, b.sndbuf);
  ASSERT_EQ(a.raw.size(), b.raw.size());
  for (size_t i = 0; i < a.raw.size(); ++i) {
    EXPECT_EQ(a.raw[i].level, b.raw[i].level);
    EXPECT_EQ(a.raw[i].name, b.raw[i].name);
    EXPECT_EQ(a.raw[i].int_value, b.raw[i].int_value);
  }
  // Same options, same setsockopt calls.
  const auto pa = plan_socket_options(a), pb = plan_socket_options(b);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].label, pb[i].label);
    EXPECT_EQ(pa[i].value, pb[i].value);
  }
}

TEST(AgentSpec, ClientRoundTripThroughText) {
  ClientSpec client;
  client.on = "edge";
  client.connect_host = "proxy";
  client.connect_port = 8080;
  client.workload.kind = WorkloadKind::request;
  client.workload.bytes_per_second = 102400.5;
  client.workload.per_second = 0.1;  // not exactly representable: must survive the text form
  client.workload.count = 10000;
  client.workload.connections = 16;
  client.workload.request = "GET / HTTP/1.0\r\n\"quoted\"\n";
  client.workload.duration = 2500ms;
  client.workload.command = {"curl", "-sS", "http://{server}:{port}/"};
  client.socket = every_option();
  client.app_timeout = 6s;
  client.connect_timeout = Nanos(1);

  const json spec = make_client_agent_spec(client, "198.18.0.2", 90s);
  EXPECT_EQ(spec["client"]["socket"]["tcp_user_timeout_ns"], 1500000000);
  const AgentSpec back = parse_agent_spec(json::parse(spec.dump()));
  EXPECT_EQ(back.role, AgentRole::client);
  EXPECT_EQ(back.address, "198.18.0.2");
  EXPECT_EQ(back.max_lifetime, Nanos(90s));
  EXPECT_EQ(back.client.on, client.on);
  EXPECT_EQ(back.client.connect_host, client.connect_host);
  EXPECT_EQ(back.client.connect_port, client.connect_port);
  EXPECT_EQ(back.client.workload.kind, client.workload.kind);
  EXPECT_EQ(back.client.workload.bytes_per_second, client.workload.bytes_per_second);
  EXPECT_EQ(back.client.workload.per_second, client.workload.per_second);
  EXPECT_EQ(back.client.workload.count, client.workload.count);
  EXPECT_EQ(back.client.workload.connections, client.workload.connections);
  EXPECT_EQ(back.client.workload.request, client.workload.request);
  EXPECT_EQ(back.client.workload.duration, client.workload.duration);
  EXPECT_EQ(back.client.workload.command, client.workload.command);
  EXPECT_EQ(back.client.app_timeout, client.app_timeout);
  EXPECT_EQ(back.client.connect_timeout, client.connect_timeout);
  expect_same(back.client.socket, client.socket);
  // Serialising the decoded spec again gives the same document.
  EXPECT_EQ(make_client_agent_spec(back.client, back.address, back.max_lifetime), spec);
}

TEST(AgentSpec, ClientDefaultsRoundTrip) {
  const ClientSpec client;
  const json spec = make_client_agent_spec(client, "198.18.0.2");
  const AgentSpec back = parse_agent_spec(spec);
  EXPECT_FALSE(back.client.app_timeout.has_value());
  EXPECT_FALSE(back.client.connect_timeout.has_value());
  EXPECT_FALSE(back.client.workload.duration.has_value());
  EXPECT_EQ(back.max_lifetime, kDefaultAgentLifetime);
  expect_same(back.client.socket, client.socket);
  EXPECT_EQ(make_client_agent_spec(back.client, back.address), spec);
}

TEST(AgentSpec, LingerOffAndUnsetDiffer) {
  SocketOptions off;
  off.linger = std::optional<Nanos>();
  const SocketOptions back_off = socket_options_from_json(socket_options_to_json(off));
  ASSERT_TRUE(back_off.linger.has_value());
  EXPECT_FALSE(back_off.linger->has_value());
  const SocketOptions back_unset = socket_options_from_json(socket_options_to_json(SocketOptions{}));
  EXPECT_FALSE(back_unset.linger.has_value());
}

TEST(AgentSpec, ServerRoundTrip) {
  ServerSpec server;
  server.on = "proxy";
  server.port = 8443;
  server.behavior = ServerBehavior::proxy;
  server.socket = every_option();
  server.close = CloseMode::after_response;
  server.response = "HTTP/1.0 200 OK\r\n\r\n\xe4\xbd\xa0";
  server.command = {"nginx", "-c", "{dir}/nginx.conf"};
  server.upstream = "server:7000";
  const json spec = make_server_agent_spec(server, "198.18.0.5", "198.18.0.2");
  const AgentSpec back = parse_agent_spec(json::parse(spec.dump()));
  EXPECT_EQ(back.role, AgentRole::server);
  EXPECT_EQ(back.address, "198.18.0.5");
  EXPECT_EQ(back.upstream_address, "198.18.0.2");
  EXPECT_EQ(back.server.on, server.on);
  EXPECT_EQ(back.server.port, server.port);
  EXPECT_EQ(back.server.behavior, server.behavior);
  EXPECT_EQ(back.server.close, server.close);
  EXPECT_EQ(back.server.response, server.response);
  EXPECT_EQ(back.server.command, server.command);
  EXPECT_EQ(back.server.upstream, server.upstream);
  expect_same(back.server.socket, server.socket);
  EXPECT_EQ(make_server_agent_spec(back.server, back.address, back.upstream_address), spec);
}

TEST(AgentSpec, ErrorsNameTheKey) {
  json spec = make_client_agent_spec(ClientSpec{}, "198.18.0.2");
  spec["client"]["socket"]["rcvtimeo_ns"] = "1s";
  try {
    (void)parse_agent_spec(spec);
    FAIL() << "expected AgentSpecError";
  } catch (const AgentSpecError& e) {
    EXPECT_NE(std::string(e.what()).find("client/socket/rcvtimeo_ns"), std::string::npos) << e.what();
  }
  spec = make_client_agent_spec(ClientSpec{}, "198.18.0.2");
  spec["client"]["workload"].erase("kind");
  EXPECT_THROW((void)parse_agent_spec(spec), AgentSpecError);
  spec = make_client_agent_spec(ClientSpec{}, "198.18.0.2");
  spec["role"] = "observer";
  EXPECT_THROW((void)parse_agent_spec(spec), AgentSpecError);
}

}  // namespace
}  // namespace sockchaos::harness
