#include "netns/netem.hpp"
#include "netns/nl_util.hpp"

#include <net/if.h>

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <climits>
#include <cstring>
#include <memory>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>

namespace sockchaos::netns {

namespace {

// include/uapi/linux/pkt_sched.h of Linux 6.6 and later; Debian 12's headers (6.1) stop at
// TCA_NETEM_SLOT_DIST. Older kernels skip an attribute type beyond their maximum
// (nla_parse_deprecated() in netem_change()).
constexpr int kTcaNetemPrngSeed = TCA_NETEM_SLOT_DIST + 1;

struct QdiscDel {
  void operator()(rtnl_qdisc* q) const { rtnl_qdisc_put(q); }
};
struct MsgDel {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using nl::LinkDel;
using nl::SockPtr;
using QdiscPtr = std::unique_ptr<rtnl_qdisc, QdiscDel>;
using MsgPtr = std::unique_ptr<nl_msg, MsgDel>;


QdiscPtr root_qdisc(int ifindex) {
  QdiscPtr q(rtnl_qdisc_alloc());
  if (!q) return q;
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_HANDLE(0x5c, 0));  // "5c:", sockchaos's
  return q;
}

Result<SockPtr> route_socket_in(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  SockPtr sock(nl_socket_alloc());
  if (!sock) return Error::plain("nl_socket_alloc failed");
  if (int rc = nl_connect(sock.get(), NETLINK_ROUTE); rc < 0) return nl::error("netlink connect", rc);
  return sock;
}

Result<int> ifindex_in(const NetNs& ns, const std::string& ifname) {
  return within(ns.fd(), [&]() -> Result<int> {
    unsigned idx = ::if_nametoindex(ifname.c_str());
    if (idx == 0) return Error::system("no interface " + ifname);
    return static_cast<int>(idx);
  });
}

Status send_and_ack(nl_sock* sock, nl_msg* msg, const std::string& what) {
  if (int rc = nl_send_auto_complete(sock, msg); rc < 0) return nl::error(what, rc);
  if (int rc = nl_wait_for_ack(sock); rc < 0) return nl::error(what, rc);
  return {};
}

}  // namespace

Result<std::vector<uint8_t>> netem_request(int ifindex, const linkemu::NetemParams& p) {
  QdiscPtr q = root_qdisc(ifindex);
  if (!q) return Error::plain("rtnl_qdisc_alloc failed");
  if (int rc = rtnl_tc_set_kind(TC_CAST(q.get()), "netem"); rc < 0) return nl::error("netem qdisc kind", rc);
  // What libnl-route's netem API sets: tc_netem_qopt (latency and jitter in psched ticks,
  // converted by libnl from microseconds; the 64-bit nanosecond attributes below override them),
  // limit, loss, duplicate, gap, and TCA_NETEM_REORDER / TCA_NETEM_CORRUPT.
  auto to_us = [](uint64_t ns) { return static_cast<int>(std::min<uint64_t>((ns + 999) / 1000, INT_MAX)); };
  rtnl_netem_set_limit(q.get(), static_cast<int>(std::min<uint32_t>(p.limit, INT_MAX)));
  // libnl refuses a distribution or reordering without latency: 1 us in the ticks field, and
  // the exact value in TCA_NETEM_LATENCY64 (netem_change() reads it last).
  rtnl_netem_set_delay(q.get(),
                       std::max(to_us(p.latency_ns), p.latency_ns || p.reorder || !p.delay_dist.empty() ? 1 : 0));
  rtnl_netem_set_jitter(q.get(), to_us(p.jitter_ns));
  rtnl_netem_set_loss(q.get(), static_cast<int>(p.loss));  // the u32 bit pattern, as libnl stores it
  rtnl_netem_set_duplicate(q.get(), static_cast<int>(p.duplicate));
  if (p.reorder) {
    rtnl_netem_set_reorder_probability(q.get(), static_cast<int>(p.reorder));
    rtnl_netem_set_gap(q.get(), static_cast<int>(p.gap));
  }
  if (p.corrupt) rtnl_netem_set_corruption_probability(q.get(), static_cast<int>(p.corrupt));
  if (!p.delay_dist.empty()) {
    if (int rc = rtnl_netem_set_delay_distribution_data(q.get(), p.delay_dist.data(), p.delay_dist.size()); rc < 0)
      return nl::error("netem delay distribution", rc);
  }
  nl_msg* raw = nullptr;
  if (int rc = rtnl_qdisc_build_add_request(q.get(), NLM_F_CREATE | NLM_F_REPLACE, &raw); rc < 0)
    return nl::error("build the netem request", rc);
  MsgPtr msg(raw);

  // sch_netem reads TCA_OPTIONS as tc_netem_qopt followed by attributes (parse_attr() in
  // sch_netem.c), so libnl's netem_msg_fill_raw() stretches TCA_OPTIONS over every attribute it
  // wrote after it, and then (libnl 3.7) adds that stretch to nlmsg_len a second time, as if
  // those attributes had not been counted: the message would claim kilobytes it does not have.
  // The real end is TCA_OPTIONS's end; the rest is appended there and TCA_OPTIONS stretched again.
  auto options_attr = [&]() -> nlattr* {
    nlmsghdr* nlh = nlmsg_hdr(msg.get());
    int rem = static_cast<int>(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
    for (nlattr* a = nlmsg_attrdata(nlh, sizeof(tcmsg)); nla_ok(a, rem); a = nla_next(a, &rem))
      if (nla_type(a) == TCA_OPTIONS) return a;  // the last one libnl writes: stop before any garbage
    return nullptr;
  };
  nlattr* options = options_attr();
  if (!options) return Error::plain("netem request: libnl wrote no TCA_OPTIONS");
  {
    nlmsghdr* nlh = nlmsg_hdr(msg.get());
    size_t real = static_cast<size_t>(reinterpret_cast<char*>(options) - reinterpret_cast<char*>(nlh)) +
                  NLA_ALIGN(options->nla_len);
    if (nlh->nlmsg_len > real) nlh->nlmsg_len = static_cast<uint32_t>(real);
  }
  if (nla_put_u64(msg.get(), TCA_NETEM_LATENCY64, p.latency_ns) < 0 ||
      nla_put_u64(msg.get(), TCA_NETEM_JITTER64, p.jitter_ns) < 0)
    return Error::plain("netem request: no room for the 64-bit latency and jitter");
  if (p.gilbert_elliott) {
    nlattr* loss = nla_nest_start(msg.get(), TCA_NETEM_LOSS);
    tc_netem_gemodel ge{p.gilbert_elliott->p, p.gilbert_elliott->r, p.gilbert_elliott->h, p.gilbert_elliott->k1};
    if (!loss || nla_put(msg.get(), NETEM_LOSS_GE, sizeof ge, &ge) < 0)
      return Error::plain("netem request: no room for the Gilbert–Elliott model");
    nla_nest_end(msg.get(), loss);
  }
  if (p.rate_bytes) {
    tc_netem_rate rate{};
    rate.rate = static_cast<uint32_t>(std::min<uint64_t>(p.rate_bytes, UINT32_MAX));
    if (nla_put(msg.get(), TCA_NETEM_RATE, sizeof rate, &rate) < 0 ||
        (p.rate_bytes >= (1ull << 32) && nla_put_u64(msg.get(), TCA_NETEM_RATE64, p.rate_bytes) < 0))
      return Error::plain("netem request: no room for the rate");
  }
  if (nla_put_u64(msg.get(), kTcaNetemPrngSeed, p.seed) < 0) return Error::plain("netem request: no room for the seed");

  nlmsghdr* nlh = nlmsg_hdr(msg.get());
  options = options_attr();  // the buffer never moves once built, but look again to be sure
  if (!options) return Error::plain("netem request: TCA_OPTIONS vanished");
  char* end = reinterpret_cast<char*>(nlh) + NLMSG_ALIGN(nlh->nlmsg_len);
  options->nla_len = static_cast<uint16_t>(end - reinterpret_cast<char*>(options));
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(nlh);
  return std::vector<uint8_t>(bytes, bytes + nlh->nlmsg_len);
}

Status apply_netem(const NetNs& ns, const std::string& ifname, const linkemu::Impairment& impairment, uint64_t seed) {
  auto params = linkemu::netem_params(impairment, seed);
  if (!params.ok()) return params.error();
  auto index = ifindex_in(ns, ifname);
  if (!index.ok()) return index.error();
  auto sock = route_socket_in(ns);
  if (!sock.ok()) return sock.error();
  if (impairment.mtu > 0) {
    std::unique_ptr<rtnl_link, LinkDel> link(rtnl_link_alloc()), change(rtnl_link_alloc());
    rtnl_link_set_ifindex(link.get(), *index);
    rtnl_link_set_mtu(change.get(), static_cast<unsigned>(impairment.mtu));
    if (int rc = rtnl_link_change(sock->get(), link.get(), change.get(), 0); rc < 0)
      return nl::error("set the MTU of " + ifname, rc);
  }
  auto request = netem_request(*index, *params);
  if (!request.ok()) return request.error();
  MsgPtr msg(nlmsg_alloc_size(request->size() + 64));
  if (!msg) return Error::plain("nlmsg_alloc failed");
  nlmsghdr* nlh = nlmsg_hdr(msg.get());
  std::memcpy(nlh, request->data(), request->size());
  nlh->nlmsg_len = static_cast<uint32_t>(request->size());
  auto st = send_and_ack(sock->get(), msg.get(), "add a netem qdisc to " + ifname);
  if (!st.ok() && st.error().err == ENOENT)
    return Error{st.error().message +
                     " — this kernel has no sch_netem (CONFIG_NET_SCH_NETEM); the built-in link "
                     "emulator needs none",
                 ENOENT};
  return st;
}

Status remove_netem(const NetNs& ns, const std::string& ifname) {
  auto index = ifindex_in(ns, ifname);
  if (!index.ok()) return index.error();
  auto sock = route_socket_in(ns);
  if (!sock.ok()) return sock.error();
  QdiscPtr q = root_qdisc(*index);
  if (int rc = rtnl_qdisc_delete(sock->get(), q.get()); rc < 0)
    return nl::error("delete the root qdisc of " + ifname, rc);
  return {};
}

NetemProbe probe_netem() {
  auto scratch = NetNs::create_bare({});
  if (!scratch.ok()) return {false, "cannot make a scratch namespace: " + scratch.error().str()};
  linkemu::Impairment one_ms;
  one_ms.delay = std::chrono::milliseconds(1);
  auto st = apply_netem(*scratch, "lo", one_ms, 1);
  if (st.ok()) return {true, "added a netem qdisc in a scratch namespace"};
  return {false, st.error().str()};
}

bool netem_available() {
  static const bool available = probe_netem().available;  // the kernel does not change under a run
  return available;
}

}  // namespace sockchaos::netns
