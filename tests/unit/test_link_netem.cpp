// The netem backend without netem: an impairment's translation into sch_netem's parameters
// (netns/linkemu/netem_params.hpp) and the RTM_NEWQDISC request built from them
// (netns/netem.hpp), decoded here with the kernel's UAPI structs the way sch_netem's
// netem_change() reads them. The kernel side is untested on this machine (no sch_netem).
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <climits>
#include <cstring>
#include <map>

#include "netns/linkemu/distribution.hpp"
#include "netns/linkemu/netem_params.hpp"
#include "netns/netem.hpp"

namespace sockchaos::linkemu {
namespace {

using std::chrono::milliseconds;

Impairment contract_example() {
  Impairment i;
  i.delay = milliseconds(25);
  i.jitter = milliseconds(5);
  i.distribution = Distribution::kNormal;
  i.loss = 0.01;
  i.duplicate = 0.001;
  i.reorder = 0.01;
  i.corrupt = 0.0001;
  i.rate_bps = 10e6;
  i.queue_bytes = 64 * 1024;
  i.mtu = 1500;
  return i;
}

TEST(LinkNetem, ProbabilitiesScaleLikeTc) {
  EXPECT_EQ(netem_probability(0), 0u);
  EXPECT_EQ(netem_probability(1), UINT32_MAX);
  EXPECT_EQ(netem_probability(0.01), 42949673u);  // iproute2: rint(0.01 * UINT32_MAX)
  EXPECT_EQ(netem_probability(0.5), 2147483648u);
}

TEST(LinkNetem, TranslatesTheContractKeys) {
  auto n = netem_params(contract_example(), 77);
  ASSERT_TRUE(n.ok()) << n.error().str();
  EXPECT_EQ(n->latency_ns, 25000000u);
  EXPECT_EQ(n->jitter_ns, 5000000u);
  EXPECT_EQ(n->delay_dist, netem_table(Distribution::kNormal));
  EXPECT_EQ(n->loss, netem_probability(0.01));
  EXPECT_FALSE(n->gilbert_elliott);
  EXPECT_EQ(n->duplicate, netem_probability(0.001));
  EXPECT_EQ(n->reorder, netem_probability(0.01));
  EXPECT_EQ(n->gap, 1u);
  EXPECT_EQ(n->corrupt, netem_probability(0.0001));
  EXPECT_EQ(n->rate_bytes, 1250000u);  // netem's rate is bytes per second (packet_time_ns())
  EXPECT_FALSE(n->rate_only_for_order);
  // 44 full frames of queue (65536 / 1514, rounded up) plus the frames a 1.25 MB/s link holds
  // in flight for 25 ms + 4 x 5 ms: ceil(0.045 * 1250000 / 1514) = 38.
  EXPECT_EQ(n->limit, 44u + 38u);
  EXPECT_EQ(n->seed, 77u);
  EXPECT_EQ(n->mtu, 1500);
  EXPECT_FALSE(n->differences.empty());
}

TEST(LinkNetem, GilbertElliottIsStoredAsSchNetemReadsIt) {
  Impairment i;
  i.gilbert_elliott = GilbertElliott{0.01, 0.3, 0.1, 0.999};
  auto n = netem_params(i, 1);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(n->gilbert_elliott);
  // loss_gilb_ell(): good -> bad when draw < a1 (p); bad -> good when draw < a2 (r); lost in
  // bad when draw > a3 (so a3 = h); lost in good when draw < a4 (so a4 = 1 - k).
  EXPECT_EQ(*n->gilbert_elliott, (NetemGeModel{netem_probability(0.01), netem_probability(0.3), netem_probability(0.1),
                                               netem_probability(0.001)}));
  EXPECT_EQ(n->loss, 0u);
  // tc's defaults (r = 1 - p, 1-h = 1, 1-k = 0) map to h = 0 and k1 = 0.
  i.gilbert_elliott = GilbertElliott{0.2, 0.8, 0, 1};
  n = netem_params(i, 1);
  EXPECT_EQ(n->gilbert_elliott->h, 0u);
  EXPECT_EQ(n->gilbert_elliott->k1, 0u);
}

TEST(LinkNetem, JitterWithoutARateGetsTheOrderKeepingRate) {
  Impairment i;
  i.delay = milliseconds(20);
  i.jitter = milliseconds(5);
  i.distribution = Distribution::kUniform;
  auto n = netem_params(i, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->delay_dist.empty()) << "uniform is netem's built-in, no table";
  EXPECT_TRUE(n->rate_only_for_order);
  EXPECT_EQ(n->rate_bytes, kNetemOrderRate);
  EXPECT_EQ(n->limit, kNetemUnboundedLimit);
  Impairment plain;
  plain.delay = milliseconds(20);
  n = netem_params(plain, 1);
  EXPECT_EQ(n->rate_bytes, 0u);
  EXPECT_FALSE(n->rate_only_for_order);
}

TEST(LinkNetem, RefusesWhatNetemCannotDo) {
  Impairment i;
  i.jitter = std::chrono::seconds(3);  // tabledist() takes a 32-bit sigma
  EXPECT_FALSE(netem_params(i, 1).ok());
  Impairment bad;
  bad.loss = 3;
  EXPECT_FALSE(netem_params(bad, 1).ok());
}

// The request, read back field by field like netem_change() reads it.
struct Decoded {
  nlmsghdr hdr{};
  tcmsg tcm{};
  std::string kind;
  tc_netem_qopt qopt{};
  bool options_span_to_end = false;
  std::map<int, std::vector<uint8_t>> attrs;  // inside TCA_OPTIONS, after the qopt
};

Decoded decode(const std::vector<uint8_t>& bytes) {
  Decoded d;
  std::memcpy(&d.hdr, bytes.data(), sizeof d.hdr);
  EXPECT_EQ(d.hdr.nlmsg_len, bytes.size());
  auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data());
  std::memcpy(&d.tcm, NLMSG_DATA(nlh), sizeof d.tcm);
  int len = static_cast<int>(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
  for (auto* rta =
           reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(NLMSG_DATA(nlh)) + NLMSG_ALIGN(sizeof(tcmsg)));
       RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
    if (rta->rta_type == TCA_KIND) d.kind = reinterpret_cast<const char*>(RTA_DATA(rta));
    if (rta->rta_type != TCA_OPTIONS) continue;
    d.options_span_to_end = reinterpret_cast<const uint8_t*>(rta) + rta->rta_len == bytes.data() + bytes.size();
    std::memcpy(&d.qopt, RTA_DATA(rta), sizeof d.qopt);
    int inner = static_cast<int>(RTA_PAYLOAD(rta) - RTA_ALIGN(sizeof(tc_netem_qopt)));
    for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(RTA_DATA(rta)) +
                                                   RTA_ALIGN(sizeof(tc_netem_qopt)));
         RTA_OK(a, inner); a = RTA_NEXT(a, inner)) {
      auto* p = reinterpret_cast<const uint8_t*>(RTA_DATA(a));
      // nla_type(): the kernel ignores the NLA_F_NESTED / NLA_F_NET_BYTEORDER flag bits.
      d.attrs[a->rta_type & NLA_TYPE_MASK] = std::vector<uint8_t>(p, p + RTA_PAYLOAD(a));
    }
  }
  return d;
}

template <class T>
T as(const std::vector<uint8_t>& v) {
  T t{};
  EXPECT_GE(v.size(), sizeof t);
  std::memcpy(&t, v.data(), std::min(v.size(), sizeof t));
  return t;
}

TEST(LinkNetem, TheRequestCarriesEveryParameterWhereSchNetemLooks) {
  Impairment imp = contract_example();
  imp.loss = 0;
  imp.gilbert_elliott = GilbertElliott{0.01, 0.3, 0.1, 0.999};
  auto params = netem_params(imp, 0xfeedface);
  ASSERT_TRUE(params.ok());
  auto bytes = netns::netem_request(7, *params);
  ASSERT_TRUE(bytes.ok()) << bytes.error().str();
  Decoded d = decode(*bytes);
  EXPECT_EQ(d.hdr.nlmsg_type, RTM_NEWQDISC);
  EXPECT_EQ(d.hdr.nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE), NLM_F_CREATE | NLM_F_REPLACE);
  EXPECT_EQ(d.tcm.tcm_ifindex, 7);
  EXPECT_EQ(d.tcm.tcm_parent, TC_H_ROOT);
  EXPECT_EQ(d.kind, "netem");
  EXPECT_TRUE(d.options_span_to_end) << "sch_netem parses the attributes inside TCA_OPTIONS, after the qopt";
  EXPECT_EQ(d.qopt.limit, params->limit);
  EXPECT_EQ(d.qopt.loss, 0u);
  EXPECT_EQ(d.qopt.duplicate, params->duplicate);
  EXPECT_EQ(d.qopt.gap, 1u);
  EXPECT_GT(d.qopt.latency, 0u);
  EXPECT_EQ(as<uint64_t>(d.attrs[TCA_NETEM_LATENCY64]), 25000000u);
  EXPECT_EQ(as<uint64_t>(d.attrs[TCA_NETEM_JITTER64]), 5000000u);
  EXPECT_EQ(as<tc_netem_reorder>(d.attrs[TCA_NETEM_REORDER]).probability, params->reorder);
  EXPECT_EQ(as<tc_netem_corrupt>(d.attrs[TCA_NETEM_CORRUPT]).probability, params->corrupt);
  EXPECT_EQ(as<tc_netem_rate>(d.attrs[TCA_NETEM_RATE]).rate, 1250000u);
  EXPECT_EQ(d.attrs.count(TCA_NETEM_RATE64), 0u);
  ASSERT_EQ(d.attrs[TCA_NETEM_DELAY_DIST].size(), 4096 * sizeof(int16_t));
  std::vector<int16_t> table(4096);
  std::memcpy(table.data(), d.attrs[TCA_NETEM_DELAY_DIST].data(), 4096 * sizeof(int16_t));
  EXPECT_EQ(table, netem_table(Distribution::kNormal));
  EXPECT_EQ(as<uint64_t>(d.attrs[TCA_NETEM_SLOT_DIST + 1]), 0xfeedfaceu) << "TCA_NETEM_PRNG_SEED";
  // TCA_NETEM_LOSS nests one NETEM_LOSS_GE.
  const auto& loss = d.attrs[TCA_NETEM_LOSS];
  ASSERT_GE(loss.size(), RTA_LENGTH(sizeof(tc_netem_gemodel)));
  rtattr inner;
  std::memcpy(&inner, loss.data(), sizeof inner);
  EXPECT_EQ(inner.rta_type, NETEM_LOSS_GE);
  tc_netem_gemodel ge;
  std::memcpy(&ge, loss.data() + RTA_LENGTH(0), sizeof ge);
  EXPECT_EQ(ge.p, params->gilbert_elliott->p);
  EXPECT_EQ(ge.r, params->gilbert_elliott->r);
  EXPECT_EQ(ge.h, params->gilbert_elliott->h);
  EXPECT_EQ(ge.k1, params->gilbert_elliott->k1);
}

TEST(LinkNetem, JitterWithoutDelayAndTheOrderRateFitTheRequest) {
  Impairment imp;
  imp.jitter = milliseconds(3);
  imp.distribution = Distribution::kPareto;
  auto params = netem_params(imp, 1);
  ASSERT_TRUE(params.ok());
  auto bytes = netns::netem_request(3, *params);
  ASSERT_TRUE(bytes.ok()) << bytes.error().str();
  Decoded d = decode(*bytes);
  EXPECT_EQ(as<uint64_t>(d.attrs[TCA_NETEM_LATENCY64]), 0u) << "the exact latency overrides libnl's 1 us placeholder";
  EXPECT_EQ(as<tc_netem_rate>(d.attrs[TCA_NETEM_RATE]).rate, UINT32_MAX);
  EXPECT_EQ(as<uint64_t>(d.attrs[TCA_NETEM_RATE64]), kNetemOrderRate);
  EXPECT_EQ(d.attrs[TCA_NETEM_DELAY_DIST].size(), 4096 * sizeof(int16_t));
  EXPECT_EQ(d.attrs.count(TCA_NETEM_LOSS), 0u);
  EXPECT_EQ(d.qopt.limit, kNetemUnboundedLimit);
}

}  // namespace
}  // namespace sockchaos::linkemu
