// The kernel's own model of a cell: what Linux 6.x will do with this configuration, written
// from the kernel sources (net/ipv4/tcp_timer.c, tcp_output.c, tcp_input.c, tcp_ipv4.c,
// tcp_minisocks.c, kernel/time/timer.c), placed beside every measurement. Pure functions: no
// kernel calls; the caller passes the kernel's defaults (read from a fresh namespace) and,
// when it has them, measured inputs (tcp_info, capture times) that refine the prediction.
//
// Conventions:
//   - Every time is in milliseconds. A detection time counts from the first fault (from the
//     moment the workload was ready when there is no fault), like results' detection_ms.
//   - Kernel timers run in jiffies (HZ, 250 here) on the timer wheel: a timer never fires
//     early and fires up to one granularity of its wheel level late (kernel/time/timer.c:
//     calc_wheel_index). Every window [lo_ms, hi_ms] is built from such documented slack,
//     named in Model::window; none is fitted to a run.
//   - Model::inputs names every number a formula used and where it came from: "socket",
//     "sysctl" (the scenario set it), "kernel default" (the caller's fresh-namespace value),
//     "measured", "scenario", "kernel constant" (a #define), "harness" (how sockchaos itself
//     behaves) or "assumed" (a stated assumption, e.g. the RTT of a veth when none is measured).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/model/types.hpp"

namespace sockchaos::harness {

struct ModelInput {
  double value = 0;
  std::string unit;    // "ms", "jiffies", "count", "bytes", "Hz", "bytes/s"
  std::string origin;  // see the header comment
  std::string detail;  // e.g. "net.ipv4.tcp_retries2", "TCP_USER_TIMEOUT", "include/net/tcp.h"
};

struct Model {
  // "detection" (ms after the first fault), or a state lifetime "TIME_WAIT", "FIN_WAIT2",
  // "SYN_RECV" (ms after the state was entered), or "probe_failures" (a count in `count`).
  std::string quantity = "detection";
  std::string host;             // whose sockets a state lifetime is about ("" for detection)
  std::optional<double> ms;     // the prediction; nullopt: not detected within the deadline,
                                // or not predicted (mechanism "unmodelled")
  std::optional<double> count;  // quantity "probe_failures"
  std::string mechanism;        // infer_mechanism's vocabulary, "undetected" or "unmodelled"
  std::string error;            // the errno (or "app_timeout", "EOF", ...) it ends with
  std::string formula;          // human-readable
  std::map<std::string, ModelInput> inputs;
  double lo_ms = 0, hi_ms = 0;  // window for the measurement (count bounds for counts)
  std::string window;           // what the window allows for
  std::string source;           // kernel file:function (and docs) the rule comes from
  // Undetected: when (after the first fault) and through what it would have fired; nullopt
  // when nothing ever fires (an idle socket without keepalive).
  std::optional<double> would_fire_ms;
  std::string would_be_mechanism;
  std::vector<std::string> notes;  // runners-up, assumptions, caveats

  bool detected() const { return ms.has_value() || count.has_value(); }
};

struct ModelCheck {
  bool holds = false;
  std::optional<double> delta_ms;  // measured - model (count difference for counts)
  std::string why;
};

// Does a measurement agree with the model? measured = nullopt means "undetected".
ModelCheck check(const Model& model, std::optional<double> measured);

// The kernel the cell runs on: the sysctls a scenario does not set, as a fresh namespace
// reads them, and HZ. Keys the model reads (net.ipv4.*): tcp_retries1, tcp_retries2,
// tcp_syn_retries, tcp_synack_retries, tcp_syn_linear_timeouts, tcp_keepalive_time,
// tcp_keepalive_intvl, tcp_keepalive_probes, tcp_fin_timeout, tcp_rto_min_us, tcp_rto_max_ms,
// tcp_orphan_retries, tcp_thin_linear_timeouts, tcp_early_retrans, tcp_sack, tcp_timestamps,
// tcp_tw_reuse, tcp_tw_reuse_delay, tcp_rmem, ip_local_port_range. A key missing here falls
// back to linux_defaults() (Linux 6.18's values, marked "assumed").
struct KernelEnvironment {
  std::map<std::string, std::string> sysctl;  // "net.ipv4.tcp_retries2" -> "15"
  int hz = 250;

  static KernelEnvironment linux_defaults();      // the values of a fresh 6.18 namespace
  static const std::vector<std::string>& keys();  // the keys above, fully qualified
};

// Measurements that refine the model. Times are ms after the first fault unless noted.
struct MeasuredInputs {
  std::optional<double> base_rto_ms;              // tcp_info.tcpi_rto before the fault (not backed off)
  std::optional<double> srtt_ms, rttvar_ms;       // tcp_info.tcpi_rtt / tcpi_rttvar
  std::optional<double> mss;                      // tcp_info.tcpi_snd_mss
  std::optional<double> first_retransmission_ms;  // capture: first retransmission of the head
  std::optional<double> first_window_probe_ms;    // capture: first zero-window probe
  std::optional<double> first_syn_ms;             // capture: the failing connect's first SYN (retrans_stamp)
  std::optional<double> last_answered_ms;         // the last packet the peer answered (negative: before the fault)
  std::optional<double> fault_after_ready_ms;     // when the first fault was installed, after ready
  // How long the fault's install (the nft commit) took before its timestamp was taken: the
  // rule may have been in force that much before the recorded fault time, so every detection
  // may look that much shorter. Lowers lo_ms by this much.
  std::optional<double> fault_install_ms;
};

struct CellModel {
  Model detection;
  std::vector<Model> lifetimes;  // TIME_WAIT, FIN_WAIT2, SYN_RECV, probe_failures as they apply
};

CellModel predict_cell(const Scenario& scenario, const KernelEnvironment& env, const MeasuredInputs& measured = {});
Model predict_detection(const Scenario& scenario, const KernelEnvironment& env, const MeasuredInputs& measured = {});
std::vector<Model> predict_state_lifetimes(const Scenario& scenario, const KernelEnvironment& env,
                                           const MeasuredInputs& measured = {});

// Text lines for `sockchaos explain`: the prediction, its formula, every input and where it
// came from, the window and the source.
std::vector<std::string> explain_model(const Model& model);
std::vector<std::string> explain_cell(const Scenario& scenario, const CellModel& model);

// ---- the kernel's rules as plain functions (exposed for tests and for the evidence code) ----
namespace kernel {

int64_t msecs_to_jiffies(double ms, int hz);  // rounds up, like include/linux/jiffies.h
double jiffies_to_msecs(int64_t jiffies, int hz);

// kernel/time/timer.c: the wheel level a timer `delay` jiffies out lands in, and how late it
// can fire: up to one granularity of that level (LVL_GRAN), never early.
struct WheelSlot {
  int level = 0;
  int64_t granularity_jiffies = 1;
  double max_late_ms = 0;
};
WheelSlot timer_wheel_slot(int64_t delay_jiffies, int hz);

// net/ipv4/tcp_timer.c: tcp_model_timeout(): the time budget of `boundary` exponentially
// backed-off retransmissions starting at rto_base, linear at rto_max once reached.
double tcp_model_timeout_ms(int boundary, double rto_base_ms, double rto_max_ms, int hz);

// net/ipv4/tcp_input.c: tcp_rtt_estimator/__tcp_set_rto: RTO = srtt + max(mdev, rto_min),
// rounded up to jiffies.
int64_t rto_jiffies(double srtt_ms, double rttvar_ms, double rto_min_ms, int hz);

// An established connection whose peer went silent, from its first retransmission (R1,
// tp->retrans_stamp): RTO expiries with exponential backoff (tcp_retransmit_timer), each
// checking retransmits_timed_out() against `budget_ms` (TCP_USER_TIMEOUT, or the
// tcp_model_timeout of tcp_retries2); with a user timeout every timer is clamped to it
// (tcp_clamp_rto_to_user_timeout). Lateness accumulates: each timer is armed when the
// previous one fired.
struct RetransmitDeath {
  double death_ms = 0;      // after R1, nominal (timers on time)
  double death_max_ms = 0;  // after R1, every timer at its maximal lateness
  double death_min_ms = 0;  // after R1, the earliest it can be (lateness may reach the budget one expiry sooner)
  int retransmissions = 0;  // sent before death, R1 included (nominal)
  std::vector<double> expiries_ms;  // nominal expiry times after R1
};
RetransmitDeath retransmit_until_death(int64_t rto_jiffies, double rto_max_ms, double budget_ms, bool clamp_to_budget,
                                       int hz);

// SYN_SENT (tcp_write_timeout's SYN branch, tcp_retransmit_timer's linear SYN backoff): the
// first SYN at 0, RTO TCP_TIMEOUT_INIT; the connect fails at the first expiry where
// icsk_retransmits >= retries + tcp_syn_linear_timeouts, or the time since the first SYN
// reaches tcp_model_timeout(retries, TCP_TIMEOUT_INIT) (or the user timeout when set).
struct SynDeath {
  double death_ms = 0, death_max_ms = 0;
  int retransmissions = 0;
  bool by_count = false;  // ended by the retransmission count rather than the time budget
  double budget_ms = 0;
  std::vector<double> syn_times_ms;  // the first SYN and every retransmission
};
SynDeath syn_until_death(int retries, int linear_timeouts, double init_rto_ms, double rto_max_ms,
                         std::optional<double> user_timeout_ms, int hz);

// tcp_keepalive_timer: after the last packet received, the first probe at `idle`, then every
// `intvl`; without a user timeout the connection dies at the timer that finds probes_out >=
// count (idle + count * intvl); with one, KEEPCNT is ignored and it dies at the first timer
// with elapsed >= user timeout and probes_out > 0.
struct KeepaliveDeath {
  double death_after_answer_ms = 0;
  int probes = 0;  // unanswered probes sent before death
  int timers = 0;  // keepalive timer firings from the last answer to death
  bool by_user_timeout = false;
};
KeepaliveDeath keepalive_until_death(double idle_ms, double intvl_ms, int count, std::optional<double> user_timeout_ms);

}  // namespace kernel
}  // namespace sockchaos::harness
