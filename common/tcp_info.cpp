#include "common/tcp_info.hpp"

#include <linux/tcp.h>

#include <algorithm>
#include <cstring>

namespace sockchaos {
namespace {

// The fields Linux 6.7 appended after tcpi_snd_wnd (include/uapi/linux/tcp.h); the system
// headers may be older than the running kernel.
struct TcpInfoTail {
  __u32 rcv_wnd;
  __u32 rehash;
  __u16 total_rto;
  __u16 total_rto_recoveries;
  __u32 total_rto_time;
};

double us_to_ms(uint32_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace

std::optional<TcpInfo> decode_tcp_info(const void* data, size_t len) {
  // Everything up to tcpi_total_retrans has been there since Linux 2.6.
  constexpr size_t kMinimum = offsetof(tcp_info, tcpi_total_retrans) + sizeof(__u32);
  if (!data || len < kMinimum) return std::nullopt;
  tcp_info raw{};
  std::memcpy(&raw, data, std::min(len, sizeof raw));
  TcpInfo out;
  out.state = raw.tcpi_state;
  out.ca_state = raw.tcpi_ca_state;
  out.retransmits = raw.tcpi_retransmits;
  out.probes = raw.tcpi_probes;
  out.backoff = raw.tcpi_backoff;
  out.rto_ms = us_to_ms(raw.tcpi_rto);
  out.ato_ms = us_to_ms(raw.tcpi_ato);
  out.snd_mss = raw.tcpi_snd_mss;
  out.rcv_mss = raw.tcpi_rcv_mss;
  out.unacked = raw.tcpi_unacked;
  out.sacked = raw.tcpi_sacked;
  out.lost = raw.tcpi_lost;
  out.retrans = raw.tcpi_retrans;
  out.last_data_sent_ms = raw.tcpi_last_data_sent;
  out.last_data_recv_ms = raw.tcpi_last_data_recv;
  out.last_ack_recv_ms = raw.tcpi_last_ack_recv;
  out.rtt_ms = us_to_ms(raw.tcpi_rtt);
  out.rttvar_ms = us_to_ms(raw.tcpi_rttvar);
  out.snd_cwnd = raw.tcpi_snd_cwnd;
  out.total_retrans = raw.tcpi_total_retrans;
  if (len >= offsetof(tcp_info, tcpi_snd_wnd) + sizeof(__u32)) out.snd_wnd = raw.tcpi_snd_wnd;
  if (len >= sizeof(tcp_info) + sizeof(TcpInfoTail)) {
    TcpInfoTail tail{};
    std::memcpy(&tail, static_cast<const char*>(data) + sizeof(tcp_info), sizeof tail);
    out.rcv_wnd = tail.rcv_wnd;
    out.total_rto = tail.total_rto;
    out.total_rto_time_ms = tail.total_rto_time;
  }
  return out;
}

json to_json(const TcpInfo& i) {
  json out = {{"state", i.state},
              {"ca_state", i.ca_state},
              {"retransmits", i.retransmits},
              {"probes", i.probes},
              {"backoff", i.backoff},
              {"rto_ms", i.rto_ms},
              {"ato_ms", i.ato_ms},
              {"snd_mss", i.snd_mss},
              {"rcv_mss", i.rcv_mss},
              {"unacked", i.unacked},
              {"sacked", i.sacked},
              {"lost", i.lost},
              {"retrans", i.retrans},
              {"last_data_sent_ms", i.last_data_sent_ms},
              {"last_data_recv_ms", i.last_data_recv_ms},
              {"last_ack_recv_ms", i.last_ack_recv_ms},
              {"rtt_ms", i.rtt_ms},
              {"rttvar_ms", i.rttvar_ms},
              {"snd_cwnd", i.snd_cwnd},
              {"total_retrans", i.total_retrans}};
  if (i.snd_wnd) out["snd_wnd"] = *i.snd_wnd;
  if (i.rcv_wnd) out["rcv_wnd"] = *i.rcv_wnd;
  if (i.total_rto) out["total_rto"] = *i.total_rto;
  if (i.total_rto_time_ms) out["total_rto_time_ms"] = *i.total_rto_time_ms;
  return out;
}

std::optional<TcpInfo> tcp_info_from_json(const json& v, std::string* why) {
  auto fail = [&](const std::string& text) -> std::optional<TcpInfo> {
    if (why) *why = text;
    return std::nullopt;
  };
  if (!v.is_object()) return fail("expected a tcp_info object");
  TcpInfo out;
  bool ok = true;
  auto integer = [&](const char* key, auto& field) {
    auto it = v.find(key);
    if (it == v.end()) return;
    if (!it->is_number_integer()) {
      ok = false;
      if (why) *why = std::string("tcp_info/") + key + ": expected a whole number";
      return;
    }
    field = it->template get<std::remove_reference_t<decltype(field)>>();
  };
  auto number = [&](const char* key, double& field) {
    auto it = v.find(key);
    if (it == v.end()) return;
    if (!it->is_number()) {
      ok = false;
      if (why) *why = std::string("tcp_info/") + key + ": expected a number";
      return;
    }
    field = it->get<double>();
  };
  auto optional_integer = [&](const char* key, std::optional<int64_t>& field) {
    if (!v.contains(key)) return;
    int64_t value = 0;
    integer(key, value);
    field = value;
  };
  integer("state", out.state);
  integer("ca_state", out.ca_state);
  integer("retransmits", out.retransmits);
  integer("probes", out.probes);
  integer("backoff", out.backoff);
  number("rto_ms", out.rto_ms);
  number("ato_ms", out.ato_ms);
  integer("snd_mss", out.snd_mss);
  integer("rcv_mss", out.rcv_mss);
  integer("unacked", out.unacked);
  integer("sacked", out.sacked);
  integer("lost", out.lost);
  integer("retrans", out.retrans);
  number("last_data_sent_ms", out.last_data_sent_ms);
  number("last_data_recv_ms", out.last_data_recv_ms);
  number("last_ack_recv_ms", out.last_ack_recv_ms);
  number("rtt_ms", out.rtt_ms);
  number("rttvar_ms", out.rttvar_ms);
  integer("snd_cwnd", out.snd_cwnd);
  integer("total_retrans", out.total_retrans);
  optional_integer("snd_wnd", out.snd_wnd);
  optional_integer("rcv_wnd", out.rcv_wnd);
  optional_integer("total_rto", out.total_rto);
  if (v.contains("total_rto_time_ms")) {
    double t = 0;
    number("total_rto_time_ms", t);
    out.total_rto_time_ms = t;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace sockchaos
