// tcp_info through inet_diag (netns::Census, what the census samples) against `ss -ti` (the
// independent oracle users know) for the same socket, in the same namespace, at the same
// moment: a connection whose server went silent, so RTO, backoff, cwnd, retrans and unacked
// are all away from their defaults. `ss` runs in the client's namespace through nsenter on the
// namespace fd this process holds (/proc/<pid>/fd/<fd>).
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <map>
#include <regex>

#include "capture_cell.hpp"
#include "netns/census.hpp"

namespace sockchaos::testing {
namespace {

// "rto:816 backoff:2 ... cwnd:1 ... unacked:5 retrans:1/4" -> {"rto": "816", ...}; only the
// info line of the socket to the test port.
std::map<std::string, std::string> ss_fields(const std::string& out) {
  std::map<std::string, std::string> f;
  static const std::regex field(R"((?:^|\s)(rto|backoff|cwnd|mss|unacked|retrans|lost):([0-9./]+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), field); it != std::sregex_iterator(); ++it)
    f[(*it)[1]] = (*it)[2];
  return f;
}

std::optional<SocketSample> diag_sample(netns::Census& census, uint16_t port) {
  std::vector<SocketSample> sockets;
  if (!census.count({port}, sockets).ok()) return std::nullopt;
  for (auto& s : sockets)
    if (s.info && s.remote.size() > 5 && s.remote.substr(s.remote.rfind(':') + 1) == std::to_string(port)) return s;
  return std::nullopt;
}

bool same(const TcpInfo& a, const TcpInfo& b) {
  return a.rto_ms == b.rto_ms && a.backoff == b.backoff && a.snd_cwnd == b.snd_cwnd && a.retrans == b.retrans &&
         a.total_retrans == b.total_retrans && a.unacked == b.unacked && a.lost == b.lost;
}

}  // namespace

TEST(TcpInfoVsSs, SameSocketSameNumbersAsSsTi) {
  SKIP_UNLESS_ABLE();
  int st = -1;
  sh("command -v ss >/dev/null && command -v nsenter >/dev/null", &st);
  if (st != 0) GTEST_SKIP() << "ss or nsenter is not installed (iproute2, util-linux)";
  Cell c;
  auto built = c.build(two_host_scenario());
  ASSERT_TRUE(built.ok()) << built.error().str();
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  ASSERT_TRUE(cl.valid() && sv.valid());
  for (int i = 0; i < 3; ++i) {  // a few RTT samples
    ASSERT_TRUE(write_all(cl.get(), 100, 'q'));
    ASSERT_EQ(read_exact(sv.get(), 100), 100u);
  }
  ASSERT_TRUE(c.blackhole("server", "in").ok());
  ASSERT_GT(write_some(cl.get(), 20000), 0u);
  // Far enough into the blackhole for backed-off RTOs (the first RTO >= 200 ms, then 400 ms...).
  sleep_ms(900);
  auto census = netns::Census::open(c.client().ns);
  ASSERT_TRUE(census.ok()) << census.error().str();
  const std::string ss_cmd = "nsenter --net=/proc/" + std::to_string(::getpid()) + "/fd/" +
                             std::to_string(c.client().ns.fd()) + " ss -tinH 'dport = :" + std::to_string(kPort) + "'";
  // The kernel's timers may fire between the two reads: a read of ss between two identical
  // inet_diag reads is of the same socket state. Bounded retries.
  bool compared = false;
  for (int attempt = 0; attempt < 5 && !compared; ++attempt) {
    auto before = diag_sample(*census, kPort);
    ASSERT_TRUE(before) << "inet_diag does not show the connection";
    int status = -1;
    const std::string out = sh(ss_cmd, &status);
    ASSERT_EQ(status, 0) << ss_cmd;
    auto after = diag_sample(*census, kPort);
    ASSERT_TRUE(after);
    if (!same(before->info.value(), after->info.value())) continue;
    compared = true;
    const TcpInfo& i = *before->info;
    auto f = ss_fields(out);
    SCOPED_TRACE(out);
    ASSERT_TRUE(f.count("rto") && f.count("cwnd") && f.count("mss")) << "ss printed no tcp_info";
    EXPECT_NEAR(std::stod(f["rto"]), i.rto_ms, 0.001);  // ss: tcpi_rto / 1000
    EXPECT_EQ(std::stoll(f["cwnd"]), i.snd_cwnd);
    EXPECT_EQ(std::stoll(f["mss"]), i.snd_mss);
    // ss prints backoff, unacked, retrans and lost only when non-zero.
    EXPECT_EQ(f.count("backoff") ? std::stoi(f["backoff"]) : 0, i.backoff);
    EXPECT_EQ(f.count("unacked") ? std::stoll(f["unacked"]) : 0, i.unacked);
    EXPECT_EQ(f.count("lost") ? std::stoll(f["lost"]) : 0, i.lost);
    ASSERT_TRUE(f.count("retrans")) << "the blackhole made retransmissions";
    // iproute2 misc/ss.c tcp_stats_print: "retrans:%u/%u", tcpi_retrans (retransmitted segments
    // still out), tcpi_total_retrans.
    const std::string r = f["retrans"];
    EXPECT_EQ(std::stoll(r.substr(0, r.find('/'))), i.retrans);
    EXPECT_EQ(std::stoll(r.substr(r.find('/') + 1)), i.total_retrans);
    // The state the test set up: backed off, several retransmissions, data unacknowledged.
    EXPECT_GE(i.backoff, 1);
    EXPECT_GE(i.total_retrans, 2);
    EXPECT_GT(i.unacked, 0);
  }
  EXPECT_TRUE(compared) << "the socket changed between every pair of inet_diag reads";
  ASSERT_TRUE(c.stop().ok());
}

}  // namespace sockchaos::testing
