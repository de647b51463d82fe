#include "netns/census.hpp"

#include <linux/inet_diag.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <netlink/idiag/idiagnl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

namespace sockchaos::netns {

namespace {
struct SockDel { void operator()(nl_sock* s) const { nl_socket_free(s); } };

int count_message(nl_msg* msg, void* arg) {
  auto* counts = static_cast<StateCounts*>(arg);
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

Result<StateCounts> Census::count() {
  StateCounts counts;
  nl_sock* sk = impl_->sock.get();
  nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, count_message, &counts);
  // libnl-idiag sends the legacy TCPDIAG_GETSOCK request, which the kernel answers for
  // every family (AF_UNSPEC): one dump covers IPv4 and IPv6.
  int rc = idiagnl_send_simple(sk, NLM_F_DUMP, AF_INET, IDIAGNL_SS_ALL, 0);
  if (rc < 0) return Error::plain(std::string("inet_diag request: ") + nl_geterror(rc));
  rc = nl_recvmsgs_default(sk);
  if (rc < 0) return Error::plain(std::string("inet_diag dump: ") + nl_geterror(rc));
  return counts;
}

}  // namespace sockchaos::netns
