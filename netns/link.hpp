// Links, addresses and routes inside a namespace, through libnl-route. No libnl type
// leaves netns/. A RouteSocket is a NETLINK_ROUTE socket opened inside one namespace: every
// request it sends acts on that namespace only.
#pragma once
#include <memory>
#include <string>

#include "common/result.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

class RouteSocket {
 public:
  static Result<RouteSocket> open(const NetNs& ns);
  RouteSocket(RouteSocket&&) noexcept;
  RouteSocket& operator=(RouteSocket&&) noexcept;
  ~RouteSocket();

  // A veth pair: `name` in this socket's namespace, `peer_name` created directly in the
  // namespace held by peer_netns_fd (nothing ever appears in the initial namespace).
  Status create_veth(const std::string& name, int peer_netns_fd, const std::string& peer_name);
  // The same in one request with both ends' MTU set (0 keeps the kernel's 1500) and, when
  // `up`, this namespace's end administratively up from the start (libnl 3.7 cannot send
  // flags for the peer: bring it up from its own namespace).
  Status create_veth(const std::string& name, int peer_netns_fd, const std::string& peer_name, int mtu, int peer_mtu,
                     bool up);
  Status set_up(const std::string& ifname, bool up);
  Status add_address(const std::string& ifname, const std::string& cidr);  // "198.18.0.1/30"
  Status add_route(const std::string& dst_cidr, const std::string& gateway);
  Result<int> ifindex(const std::string& ifname);
  // Waits (bounded) until the kernel's link watcher has marked the link operationally up:
  // until then its queue discipline is noop and drops every packet (a first SYN lost there
  // costs a 1 s retransmission and falsifies the run).
  Status wait_operational(const std::string& ifname, int timeout_ms);

 private:
  struct Impl;
  explicit RouteSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

Status set_link_up(const NetNs& ns, const std::string& ifname, bool up);

}  // namespace sockchaos::netns
