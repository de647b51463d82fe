// The chosen options as code to paste. Numbers from include/uapi/linux/tcp.h (TCP_KEEPIDLE 4,
// TCP_KEEPINTVL 5, TCP_KEEPCNT 6, TCP_SYNCNT 7, TCP_USER_TIMEOUT 18) and
// include/uapi/asm-generic/socket.h (SOL_SOCKET 1, SO_KEEPALIVE 9); IPPROTO_TCP is 6.
// Every snippet defines one thing (a function, a Dialer, a list) that the tests embed verbatim
// into a client program (tests/integration/test_advise.cpp).
#include <cmath>
#include <sstream>

#include "harness/advise/advise.hpp"

namespace sockchaos::harness {

namespace {

std::string header_comment(const Advice& a, const std::string& lead) {
  std::string modes;
  for (const auto& m : a.request.modes) modes += (modes.empty() ? "" : ",") + m;
  std::ostringstream o;
  o << lead << " sockchaos advise --within " << format_duration(Nanos(static_cast<int64_t>(a.request.within_ms * 1e6)))
    << " --modes " << modes;
  if (a.request.link.label() != "veth") o << " (link " << a.request.link.label() << ")";
  return o.str();
}

long ut_ms(const OptionSet& o) { return std::lround(o.user_timeout_ms); }

}  // namespace

Snippets make_snippets(const Advice& a) {
  const OptionSet& o = a.options;
  Snippets s;
  {
    std::ostringstream c;
    c << header_comment(a, "/*") << " */\n"
      << "#include <netinet/in.h>\n#include <netinet/tcp.h>\n#include <sys/socket.h>\n\n"
      << "/* Call on the socket before connect(); returns 0, or -1 with errno set. */\n"
      << "static int sockchaos_apply(int fd) {\n";
    if (o.keepalive) {
      c << "  int on = 1, idle = " << o.idle_s << ", intvl = " << o.interval_s << ", cnt = " << o.count << ";\n"
        << "  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) return -1;\n"
        << "  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0) return -1;\n"
        << "  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0) return -1;\n"
        << "  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0) return -1;\n";
    }
    if (o.user_timeout_ms > 0)
      c << "  unsigned int user_timeout_ms = " << ut_ms(o) << ";\n"
        << "  if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms) != 0) return -1;\n";
    if (o.syn_count)
      c << "  int syncnt = " << *o.syn_count << ";\n"
        << "  if (setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt) != 0) return -1;\n";
    c << "  (void)fd;\n  return 0;\n}\n";
    s.c = c.str();
  }
  {
    std::ostringstream p;
    p << header_comment(a, "#") << "\nimport socket\n\n\n"
      << "def sockchaos_apply(sock):\n"
      << "    \"\"\"Call on the socket before connect().\"\"\"\n";
    if (o.keepalive)
      p << "    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)\n"
        << "    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, " << o.idle_s << ")\n"
        << "    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, " << o.interval_s << ")\n"
        << "    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, " << o.count << ")\n";
    if (o.user_timeout_ms > 0)
      p << "    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, \"TCP_USER_TIMEOUT\", 18), " << ut_ms(o) << ")\n";
    if (o.syn_count) p << "    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, " << *o.syn_count << ")\n";
    if (a.options.app_timeout_ms)
      p << "    sock.settimeout(" << (*a.options.app_timeout_ms / 1000.0) << ")  # the application timeout\n";
    p << "    return sock\n";
    s.python = p.str();
  }
  {
    // Go 1.11+: Dialer.Control runs before connect. (Go 1.23's KeepAliveConfig sets the same
    // three keepalive options; Control works on every version.) KeepAlive: -1 stops Go from
    // overwriting TCP_KEEPIDLE/TCP_KEEPINTVL with its 15 s default.
    std::ostringstream g;
    g << header_comment(a, "//") << "\n"
      << "// import (\"net\"; \"syscall\")\n"
      << "var sockchaosDialer = net.Dialer{\n"
      << "\tKeepAlive: -1, // the Control function below sets keepalive itself\n"
      << "\tControl: func(network, address string, c syscall.RawConn) error {\n"
      << "\t\tvar serr error\n"
      << "\t\tset := func(fd, level, name, value int) {\n"
      << "\t\t\tif serr == nil {\n\t\t\t\tserr = syscall.SetsockoptInt(fd, level, name, value)\n\t\t\t}\n\t\t}\n"
      << "\t\terr := c.Control(func(fd uintptr) {\n";
    if (o.keepalive)
      g << "\t\t\tset(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)\n"
        << "\t\t\tset(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, " << o.idle_s << ")\n"
        << "\t\t\tset(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, " << o.interval_s << ")\n"
        << "\t\t\tset(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, " << o.count << ")\n";
    if (o.user_timeout_ms > 0)
      g << "\t\t\tset(int(fd), syscall.IPPROTO_TCP, 0x12 /* TCP_USER_TIMEOUT */, " << ut_ms(o) << ")\n";
    if (o.syn_count) g << "\t\t\tset(int(fd), syscall.IPPROTO_TCP, syscall.TCP_SYNCNT, " << *o.syn_count << ")\n";
    g << "\t\t})\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\treturn serr\n\t},\n}\n";
    s.go = g.str();
  }
  {
    std::ostringstream j;
    j << header_comment(a, "//") << "\n"
      << "// import java.net.*; import jdk.net.ExtendedSocketOptions;  (JDK 11+ on Linux)\n"
      << "static Socket sockchaosSocket() throws java.io.IOException {\n"
      << "    Socket socket = new Socket();\n";
    if (o.keepalive)
      j << "    socket.setOption(StandardSocketOptions.SO_KEEPALIVE, true);\n"
        << "    socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, " << o.idle_s << ");\n"
        << "    socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, " << o.interval_s << ");\n"
        << "    socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, " << o.count << ");\n";
    if (o.user_timeout_ms > 0)
      j << "    // Java has no TCP_USER_TIMEOUT (" << ut_ms(o)
        << " ms): a blocked read is bounded by setSoTimeout instead, which also\n"
        << "    // fires on a healthy connection that is merely quiet -- use it where a reply is due.\n"
        << "    socket.setSoTimeout(" << ut_ms(o) << ");\n";
    j << "    return socket;\n}\n";
    s.java = j.str();
  }
  {
    std::ostringstream e;
    e << header_comment(a, "#") << "\n"
      << "# Envoy cluster (upstream_bind_config.socket_options) or Istio EnvoyFilter; raw level/name numbers.\n"
      << "socket_options:\n";
    auto opt = [&](const char* what, int level, int name, long value) {
      e << "- description: " << what << "\n  level: " << level << "\n  name: " << name << "\n  int_value: " << value
        << "\n  state: STATE_PREBIND\n";
    };
    if (o.keepalive) {
      opt("SO_KEEPALIVE", 1, 9, 1);
      opt("TCP_KEEPIDLE", 6, 4, o.idle_s);
      opt("TCP_KEEPINTVL", 6, 5, o.interval_s);
      opt("TCP_KEEPCNT", 6, 6, o.count);
    }
    if (o.user_timeout_ms > 0) opt("TCP_USER_TIMEOUT", 6, 18, ut_ms(o));
    if (o.syn_count) opt("TCP_SYNCNT", 6, 7, *o.syn_count);
    s.envoy = e.str();
  }
  {
    std::ostringstream y;
    y << header_comment(a, "#") << "\n";
    if (!o.sysctl.empty()) {
      y << "# per network namespace (a pod's, a container's): the defaults for sockets that set nothing\n";
      for (const auto& [k, v] : o.sysctl) y << k << " = " << v << "\n";
    } else {
      y << "# none needed: the socket options above override the namespace's defaults.\n";
      if (o.keepalive)
        y << "# For programs that only turn SO_KEEPALIVE on (sockchaos advise --allow-sysctl):\n"
          << "# net.ipv4.tcp_keepalive_time = " << o.idle_s << "\n# net.ipv4.tcp_keepalive_intvl = " << o.interval_s
          << "\n# net.ipv4.tcp_keepalive_probes = " << o.count << "\n";
    }
    s.sysctl = y.str();
  }
  return s;
}

}  // namespace sockchaos::harness
