#include "netns/census.hpp"
#include "netns/nl_util.hpp"

#include <linux/inet_diag.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <netlink/idiag/idiagnl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

namespace sockchaos::netns {

namespace {
using nl::SockDel;

struct DumpState {
  StateCounts* counts = nullptr;
  const std::vector<uint16_t>* ports = nullptr;  // sockets to describe; null: none
  std::vector<SocketSample>* sockets = nullptr;
  size_t max_sockets = 0;
};

std::string endpoint(uint8_t family, const __be32* addr, __be16 port) {
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, text, sizeof text);
  const std::string host = family == AF_INET6 ? "[" + std::string(text) + "]" : std::string(text);
  return host + ":" + std::to_string(ntohs(port));
}

void describe(const DumpState& dump, nlmsghdr* hdr, const inet_diag_msg* diag) {
  if (!dump.ports || dump.sockets->size() >= dump.max_sockets) return;
  if (diag->idiag_state == 6 || diag->idiag_state == 10 || diag->idiag_state == 12) return;
  const uint16_t sport = ntohs(diag->id.idiag_sport), dport = ntohs(diag->id.idiag_dport);
  bool wanted = false;
  for (uint16_t p : *dump.ports) wanted |= p == sport || p == dport;
  if (!wanted) return;
  SocketSample s;
  s.local = endpoint(diag->idiag_family, diag->id.idiag_src, diag->id.idiag_sport);
  s.remote = endpoint(diag->idiag_family, diag->id.idiag_dst, diag->id.idiag_dport);
  s.state = diag->idiag_state;
  // Attributes follow the message: INET_DIAG_INFO carries struct tcp_info.
  int len = static_cast<int>(hdr->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(inet_diag_msg)));
  auto* attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(NLMSG_DATA(hdr)) + NLMSG_ALIGN(sizeof(inet_diag_msg)));
  for (; nla_ok(attr, len); attr = nla_next(attr, &len))
    if (nla_type(attr) == INET_DIAG_INFO) s.info = decode_tcp_info(nla_data(attr), static_cast<size_t>(nla_len(attr)));
  dump.sockets->push_back(std::move(s));
}

int count_message(nl_msg* msg, void* arg) {
  auto* dump = static_cast<DumpState*>(arg);
  auto* counts = dump->counts;
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) return NL_SKIP;
  auto* diag = static_cast<inet_diag_msg*>(nlmsg_data(hdr));
  if (diag->idiag_state < counts->by_state.size()) counts->by_state[diag->idiag_state]++;
  // The timers that end a closing socket's state: TIME_WAIT's (timer 3) and an orphaned
  // FIN_WAIT2's (it runs on the keepalive timer, 2). idiag_expires: ms until it fires.
  if ((diag->idiag_state == 6 || diag->idiag_state == 5) && diag->idiag_timer != 0) {
    const int64_t ms = diag->idiag_expires;
    if (counts->next_expiry_ms < 0 || ms < counts->next_expiry_ms) counts->next_expiry_ms = ms;
    if (ms > counts->last_expiry_ms) counts->last_expiry_ms = ms;
  }
  if (diag->idiag_state == 10 /* TCP_LISTEN */) counts->listening_ports.push_back(ntohs(diag->id.idiag_sport));
  describe(*dump, hdr, diag);
  return NL_OK;
}
}  // namespace


struct Census::Impl {
  std::unique_ptr<nl_sock, SockDel> sock;
};

Census::Census(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Census::Census(Census&&) noexcept = default;
Census& Census::operator=(Census&&) noexcept = default;
Census::~Census() = default;

Result<Census> Census::open(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  auto impl = std::make_unique<Impl>();
  impl->sock.reset(nl_socket_alloc());
  if (!impl->sock) return Error::plain("nl_socket_alloc failed");
  int rc = idiagnl_connect(impl->sock.get());
  if (rc < 0) return Error::plain(std::string("inet_diag connect: ") + nl_geterror(rc));
  // Large dumps (tens of thousands of TIME_WAIT sockets) need a roomy receive buffer.
  nl_socket_set_buffer_size(impl->sock.get(), 4 << 20, 0);
  nl_socket_disable_seq_check(impl->sock.get());
  return Census(std::move(impl));
}

namespace {

Result<StateCounts> dump(nl_sock* sk, DumpState& state, int extensions) {
  nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, count_message, &state);
  // libnl-idiag sends the legacy TCPDIAG_GETSOCK request, which the kernel answers for
  // every family (AF_UNSPEC): one dump covers IPv4 and IPv6.
  int rc = idiagnl_send_simple(sk, NLM_F_DUMP, AF_INET, IDIAGNL_SS_ALL, extensions);
  if (rc < 0) return Error::plain(std::string("inet_diag request: ") + nl_geterror(rc));
  rc = nl_recvmsgs_default(sk);
  if (rc < 0) return Error::plain(std::string("inet_diag dump: ") + nl_geterror(rc));
  return *state.counts;
}

}  // namespace

Result<StateCounts> Census::count() {
  StateCounts counts;
  DumpState state{&counts, nullptr, nullptr, 0};
  return dump(impl_->sock.get(), state, 0);
}

Result<StateCounts> Census::count(const std::vector<uint16_t>& ports, std::vector<SocketSample>& sockets,
                                  size_t max_sockets) {
  StateCounts counts;
  DumpState state{&counts, &ports, &sockets, max_sockets};
  return dump(impl_->sock.get(), state, 1 << (INET_DIAG_INFO - 1));
}

}  // namespace sockchaos::netns
