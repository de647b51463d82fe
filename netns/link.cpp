#include "netns/link.hpp"
#include "netns/nl_util.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "common/clock.hpp"

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

namespace sockchaos::netns {

namespace {
using nl::LinkPtr;
using nl::SockDel;
struct AddrDel { void operator()(rtnl_addr* a) const { rtnl_addr_put(a); } };
struct NlAddrDel { void operator()(nl_addr* a) const { nl_addr_put(a); } };
struct RouteDel { void operator()(rtnl_route* r) const { rtnl_route_put(r); } };
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDel>;


Result<NlAddrPtr> parse_addr(const std::string& text) {
  nl_addr* a = nullptr;
  int rc = nl_addr_parse(text.c_str(), AF_UNSPEC, &a);  // IPv4 or IPv6
  if (rc < 0) return nl::error("parse address " + text, rc);
  return NlAddrPtr(a);
}
}  // namespace

struct RouteSocket::Impl {
  std::unique_ptr<nl_sock, SockDel> sock;
  // A second netlink socket in the same namespace, member of RTNLGRP_LINK: the kernel's link
  // notifications (RTM_NEWLINK on every flag or operstate change) wake wait_operational().
  Fd links;
  std::map<std::string, int> ifindex;  // names this socket has resolved (a veth keeps its index)
};

RouteSocket::RouteSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouteSocket::RouteSocket(RouteSocket&&) noexcept = default;
RouteSocket& RouteSocket::operator=(RouteSocket&&) noexcept = default;
RouteSocket::~RouteSocket() = default;

Result<RouteSocket> RouteSocket::open(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  auto impl = std::make_unique<Impl>();
  impl->sock.reset(nl_socket_alloc());
  if (!impl->sock) return Error::plain("nl_socket_alloc failed");
  int rc = nl_connect(impl->sock.get(), NETLINK_ROUTE);
  if (rc < 0) return nl::error("netlink connect", rc);
  impl->links = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (impl->links.get() < 0) return Error::system("netlink socket (link notifications)");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (::bind(impl->links.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
    return Error::system("bind netlink RTMGRP_LINK");
  return RouteSocket(std::move(impl));
}

Status RouteSocket::create_veth(const std::string& name, int peer_netns_fd,
                                const std::string& peer_name) {
  return create_veth(name, peer_netns_fd, peer_name, 0, 0, false);
}

Status RouteSocket::create_veth(const std::string& name, int peer_netns_fd, const std::string& peer_name, int mtu,
                                int peer_mtu, bool up) {
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return Error::plain("rtnl_link_veth_alloc failed");
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());
  rtnl_link_set_name(peer, peer_name.c_str());
  rtnl_link_set_ns_fd(peer, peer_netns_fd);
  // One TX and one RX queue on each end, asked for in the request. Without IFLA_NUM_TX_QUEUES /
  // IFLA_NUM_RX_QUEUES the kernel allocates one queue per possible CPU and then veth_init_queues()
  // shrinks the real count to 1 with netif_set_real_num_{tx,rx}_queues(), which on a registered device
  // waits for an expedited RCU grace period (synchronize_net) while holding RTNL: twice per pair, and
  // every other cell's set-up queues behind it. The device ends with the same single real queue either
  // way (drivers/net/veth.c), so nothing a cell measures changes.
  for (rtnl_link* end : {link.get(), peer}) {
    rtnl_link_set_num_tx_queues(end, 1);
    rtnl_link_set_num_rx_queues(end, 1);
  }
  if (mtu > 0) rtnl_link_set_mtu(link.get(), static_cast<unsigned>(mtu));
  if (peer_mtu > 0) rtnl_link_set_mtu(peer, static_cast<unsigned>(peer_mtu));
  if (up) rtnl_link_set_flags(link.get(), IFF_UP);
  int rc = rtnl_link_add(impl_->sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);  // libnl 3.7: get_peer returns a reference the caller owns
  if (rc < 0) return nl::error("create veth " + name + " <-> " + peer_name, rc);
  return {};
}

Result<int> RouteSocket::ifindex(const std::string& ifname) {
  if (auto it = impl_->ifindex.find(ifname); it != impl_->ifindex.end()) return it->second;
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(impl_->sock.get(), 0, ifname.c_str(), &raw);
  if (rc < 0) return nl::error("look up link " + ifname, rc);
  LinkPtr link(raw);
  const int index = rtnl_link_get_ifindex(link.get());
  impl_->ifindex[ifname] = index;
  return index;
}

Status RouteSocket::set_up(const std::string& ifname, bool up) {
  auto index = ifindex(ifname);
  if (!index.ok()) return index.error();
  // The request needs only the link's index (RTM_NEWLINK with ifi_index and the flag change).
  LinkPtr link(rtnl_link_alloc());
  rtnl_link_set_ifindex(link.get(), *index);
  LinkPtr change(rtnl_link_alloc());
  if (up)
    rtnl_link_set_flags(change.get(), IFF_UP);
  else
    rtnl_link_unset_flags(change.get(), IFF_UP);
  const int rc = rtnl_link_change(impl_->sock.get(), link.get(), change.get(), 0);
  if (rc < 0) return nl::error(std::string("set ") + ifname + (up ? " up" : " down"), rc);
  return {};
}

Status RouteSocket::wait_operational(const std::string& ifname, int timeout_ms) {
  // Look, then sleep until the kernel announces a link change (linkwatch sends RTM_NEWLINK
  // when it sets the operstate, net/core/link_watch.c -> netdev_state_change), and look again.
  // The notification socket was subscribed when this socket was opened, so a change between
  // a look and the sleep is never missed.
  const int64_t until = monotonic_ns() + static_cast<int64_t>(timeout_ms) * kMillisecond;
  for (;;) {
    rtnl_link* raw = nullptr;
    int rc = rtnl_link_get_kernel(impl_->sock.get(), 0, ifname.c_str(), &raw);
    if (rc < 0) return nl::error("look up link " + ifname, rc);
    LinkPtr link(raw);
    unsigned flags = rtnl_link_get_flags(link.get());
    if ((flags & IFF_RUNNING) && rtnl_link_get_operstate(link.get()) == IF_OPER_UP) return {};
    const int64_t now = monotonic_ns();
    if (now >= until)
      return Error::plain("link " + ifname + " did not become operational within " + std::to_string(timeout_ms) +
                          " ms");
    pollfd p{impl_->links.get(), POLLIN, 0};
    const timespec ts = to_timespec(until - now);
    if (::ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) return Error::system("ppoll (link notifications)");
    char buf[8192];
    for (;;) {  // drain: every notification so far is covered by the next look
      const ssize_t n = ::recv(impl_->links.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == ENOBUFS) continue;  // overrun: the look below covers it
      break;
    }
  }
}

Status RouteSocket::add_address(const std::string& ifname, const std::string& cidr) {
  auto index = ifindex(ifname);
  if (!index.ok()) return index.error();
  auto local = parse_addr(cidr);
  if (!local.ok()) return local.error();
  std::unique_ptr<rtnl_addr, AddrDel> addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), *index);
  rtnl_addr_set_local(addr.get(), local->get());
  // IPv6: no duplicate address detection; the address is usable at once.
  if (nl_addr_get_family(local->get()) == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  int rc = rtnl_addr_add(impl_->sock.get(), addr.get(), 0);
  if (rc < 0) return nl::error("add address " + cidr + " to " + ifname, rc);
  return {};
}

Status RouteSocket::add_route(const std::string& dst_cidr, const std::string& gateway) {
  auto dst = parse_addr(dst_cidr);
  if (!dst.ok()) return dst.error();
  auto gw = parse_addr(gateway);
  if (!gw.ok()) return gw.error();
  std::unique_ptr<rtnl_route, RouteDel> route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), nl_addr_get_family(dst->get()));
  rtnl_route_set_dst(route.get(), dst->get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_gateway(nh, gw->get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  int rc = rtnl_route_add(impl_->sock.get(), route.get(), NLM_F_CREATE);
  if (rc < 0) return nl::error("add route " + dst_cidr + " via " + gateway, rc);
  return {};
}

Status set_link_up(const NetNs& ns, const std::string& ifname, bool up) {
  auto sock = RouteSocket::open(ns);
  if (!sock.ok()) return sock.error();
  return sock->set_up(ifname, up);
}

}  // namespace sockchaos::netns
