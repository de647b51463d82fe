// `sockchaos advise` and `sockchaos audit`: a detection bound -> socket options proven on this
// kernel, and a user's own program run against every failure mode.
//
// Conventions:
//   - A failure mode is a named scenario shape (mode_names()): "idle" (the peer host vanishes
//     while the client waits to read), "busy" (while it sends), "zero-window" (the peer process
//     stops reading), "syn-sent" (the peer is gone before connect), "crash" (the peer host
//     crashes), "reboot" (it comes back empty), "rst" (a middlebox resets the connection).
//     build_mode_scenario() writes the scenario a mode is verified (and audited) with; the fault
//     of the established-connection modes comes kFaultAfterReadyMs after the last packet the peer
//     answered (the handshake), so the worst case, a fault just after an answer, is up to that much
//     longer than what a run measures: worst = measured + kFaultAfterReadyMs.
//   - The search is pure: every candidate is turned into those scenarios and predicted with the
//     kernel model (harness/metrics/kernel_model.hpp); its window's upper end (hi_ms) is the
//     model's worst case. A candidate meets the bound when every mode's worst case is within it.
//   - Margin against false positives: the longest loss burst a HEALTHY connection survives
//     (from the first packet the burst swallows to the last retransmission/probe sent before the
//     kernel would give up). Among candidates that meet the bound the one with the largest margin
//     (the minimum over the modes) wins.
//   - Options are the keys of a scenario file's "socket" object ("keepalive", "tcp_user_timeout",
//     "syn_count"), so the JSON output pastes into a scenario unchanged.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "harness/metrics/kernel_model.hpp"
#include "harness/verdict/results.hpp"

namespace sockchaos::harness {

inline constexpr double kFaultAfterReadyMs = 50;

const std::vector<std::string>& mode_names();
// Modes `audit` also runs that `advise` cannot tune for (e.g. "port-exhaustion").
const std::vector<std::string>& audit_only_mode_names();
std::string mode_description(const std::string& mode);

// The link the cells run over: a profile name (link_profiles.hpp), or an RTT and a loss rate.
struct LinkChoice {
  std::string profile;          // "" = plain veth unless rtt/loss are set
  std::optional<double> rtt_ms;
  std::optional<double> loss;   // 0..1
  std::string label() const;    // "veth", "wan-80ms", "rtt 40ms loss 0.1%"
  std::optional<json> link_object() const;  // the scenario "links" entry, nullopt for plain veth
  double rtt_estimate_ms() const;           // for the RTO of the margin computation
};

// What `--keep` pins. Keys: keepalive.idle, keepalive.interval, keepalive.count,
// tcp_user_timeout, syn_count, app_timeout ("off" allowed for keepalive and tcp_user_timeout).
struct Pins {
  std::optional<int> idle_s, interval_s, count;
  std::optional<bool> keepalive_off;
  std::optional<double> user_timeout_ms;  // 0 = off
  std::optional<int> syn_count;
  std::optional<double> app_timeout_ms;
};
// Parses "KEY=VALUE"; returns the error text ("" when fine).
std::string add_pin(Pins& pins, const std::string& key_value);

struct AdviseRequest {
  double within_ms = 0;
  std::vector<std::string> modes;
  LinkChoice link;
  Pins pins;
  bool allow_sysctl = false;
  double wanted_burst_ms = 1000;  // the loss burst a healthy connection should survive
};
// "" when the request is valid, else the message (unknown mode, bad bound): exit 2.
std::string validate_request(const AdviseRequest& request);

// One set of options.
struct OptionSet {
  bool keepalive = false;
  int idle_s = 0, interval_s = 0, count = 0;
  double user_timeout_ms = 0;  // 0 = not set
  std::optional<int> syn_count;
  std::optional<double> app_timeout_ms;
  std::map<std::string, std::string> sysctl;  // per-namespace sysctls (only when allowed)

  json socket_json() const;  // the scenario "socket" object
};

struct ModePlan {
  std::string mode;
  std::optional<double> model_ms;  // the model's worst case (hi_ms, plus the fault offset)
  std::string mechanism, error, formula;
  double burst_tolerance_ms = 0;   // margin against false positives in this mode
  bool meets = false;
  // When no option set meets the bound in this mode: the best achievable and why.
  std::optional<double> best_achievable_ms;
  std::string reason;
};

struct Advice {
  AdviseRequest request;
  OptionSet options;
  std::vector<ModePlan> plan;
  bool achievable = false;
  double margin_ms = 0;              // min burst tolerance over the modes
  std::vector<std::string> notes;
  int candidates = 0;                // how many option sets the search predicted
};

// The search. env: the kernel's defaults (fresh namespace), see KernelEnvironment.
Advice advise(const AdviseRequest& request, const KernelEnvironment& env);

// The scenario document a mode runs as (advise: the agent's client with `options`; audit: the
// user's command as the client and/or server). name must be a valid scenario name.
struct ModeScenarioInput {
  std::string mode;
  LinkChoice link;
  OptionSet options;
  double within_ms = 0;
  std::vector<std::string> client_command;  // audit: the user's client (empty: the agent's)
  std::vector<std::string> server_command;  // audit: the user's server (empty: the agent's)
  int port = 7000;
  std::optional<double> deadline_ms;        // default: from within_ms
};
json build_mode_scenario(const ModeScenarioInput& input, const std::string& name);

// Verification: the measured worst case of each mode against the bound.
struct Verified {
  std::string mode, link;
  std::optional<double> detection_ms;  // measured + kFaultAfterReadyMs for the faults after ready
  std::optional<double> measured_ms;   // as the run measured it
  bool within = false;
  std::string mechanism, error, basis;
  std::optional<double> model_ms;
  std::string disagreement;  // "" when model and run agree
  std::string run_error;     // the run errored / was skipped
};
std::vector<Verified> compare_verification(const Advice& advice, const Results& results);

struct Snippets {
  std::string c, go, java, python, envoy, sysctl;
};
Snippets make_snippets(const Advice& advice);

json advice_json(const Advice& advice, const std::vector<Verified>& verified, const Snippets& snippets);
std::string advice_text(const Advice& advice, const std::vector<Verified>& verified, const Snippets& snippets);
std::string advice_html(const Advice& advice, const std::vector<Verified>& verified, const Snippets& snippets);

// ---- audit ----
struct AuditRow {
  std::string mode, description;
  bool ran = false;
  std::string skipped;                 // why not run
  std::optional<double> detection_ms;  // when the program noticed (exited), from the fault
  bool noticed = false, within = false;
  std::string status;                  // "exit 28", "still running at the deadline", ...
  std::string evidence;                // mechanism + basis from the run
  std::string suggestion;              // for a missed mode
};
std::vector<AuditRow> audit_rows(const std::vector<std::string>& modes, const Results& results, double within_ms,
                                 const KernelEnvironment& env, const LinkChoice& link);
std::string audit_text(const std::vector<AuditRow>& rows, double within_ms);
json audit_json(const std::vector<AuditRow>& rows, double within_ms);

}  // namespace sockchaos::harness
