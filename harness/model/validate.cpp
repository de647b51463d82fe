// Strict validation of a scenario document into the typed model (one document, no matrix).
// Each check adds an InputIssue {file, pointer, message}; lines are attached by the caller
// (validate_document) from the document's pointer -> line map.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>

#include "harness/model/load.hpp"
#include "harness/model/link_profiles.hpp"
#include "harness/model/pointer.hpp"

namespace sockchaos::harness {
namespace {

using Keys = std::vector<std::string>;

struct Ctx {
  const std::string& file;
  std::vector<InputIssue>& issues;
  void add(const std::string& pointer, std::string message) {
    issues.push_back(InputIssue{file, pointer, 0, std::move(message)});
  }
};

const std::string& file_of(const Ctx& ctx) { return ctx.file; }


// Levenshtein distance, or limit + 1 when it exceeds limit. Only the band of cells within
// `limit` of the diagonal is computed (a cell outside it is more than limit edits away, so it
// counts as limit + 1), and the result is known to exceed limit as soon as a row's minimum
// does: a long key costs O(length x limit), not O(length^2). Rows live on the stack for keys
// of ordinary length.
size_t edit_distance(const std::string& a, const std::string& b, size_t limit) {
  const size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  const size_t over = limit + 1;
  if (diff > limit) return over;
  const size_t n = b.size();
  constexpr size_t kStackColumns = 64;
  size_t stack_rows[2][kStackColumns + 1];
  std::vector<size_t> heap_rows;
  size_t* prev = stack_rows[0];
  size_t* cur = stack_rows[1];
  if (n > kStackColumns) {
    heap_rows.resize(2 * (n + 1));
    prev = heap_rows.data();
    cur = prev + n + 1;
  }
  for (size_t j = 0; j <= n; ++j) prev[j] = j < over ? j : over;
  for (size_t i = 1; i <= a.size(); ++i) {
    const size_t lo = i > limit ? i - limit : 1;
    const size_t hi = std::min(n, i + limit);
    cur[lo - 1] = lo == 1 ? std::min(i, over) : over;
    size_t row_min = cur[lo - 1];
    for (size_t j = lo; j <= hi; ++j) {
      size_t v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (v > over) v = over;
      cur[j] = v;
      if (v < row_min) row_min = v;
    }
    if (hi < n) cur[hi + 1] = over;  // the next row reads one cell past this band
    if (row_min > limit) return over;
    std::swap(prev, cur);
  }
  return std::min(prev[n], over);
}

size_t suggestion_limit(const std::string& candidate) { return std::max<size_t>(2, candidate.size() / 3); }

// The nearest candidate, if it is near enough: within a third of its length (at least 2 edits).
// Distances are computed only up to the largest such limit: a candidate farther than that
// can neither be suggested nor be the nearest of a suggestion, so the answer is the same as
// with exact distances.
std::string suggestion(const std::string& got, const Keys& candidates) {
  size_t limit = 0;
  for (const auto& c : candidates) limit = std::max(limit, suggestion_limit(c));
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = edit_distance(got, c, std::min(limit, best_distance));
    if (d < best_distance) best_distance = d, best = c;
  }
  if (best.empty() || best_distance > suggestion_limit(best)) return "";
  return " — did you mean \"" + best + "\"?";
}

std::string join_quoted(const Keys& keys, const std::string& last_sep = " or ") {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += (i + 1 == keys.size()) ? last_sep : ", ";
    out += "\"" + keys[i] + "\"";
  }
  return out;
}

std::string join_plain(const Keys& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", " : "") + keys[i];
  return out;
}

// An object whose keys are all in `allowed`; every other key is an issue at its own pointer.
bool check_object(Ctx& ctx, const json& v, const std::string& pointer, const Keys& allowed, const std::string& what) {
  if (!v.is_object()) {
    ctx.add(pointer, "expected an object (" + what + "); got " + describe_json(v));
    return false;
  }
  for (const auto& [key, value] : v.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    ctx.add(child(pointer, key), std::string(kUnknownKeyPrefix) + key + "\" in " + what + "; expected one of: " +
                                     join_plain(allowed) + suggestion(key, allowed));
  }
  return true;
}

std::optional<std::string> get_string(Ctx& ctx, const json& v, const std::string& pointer, const std::string& what,
                                      bool allow_empty = true) {
  if (!v.is_string()) {
    ctx.add(pointer, "expected a string (" + what + "); got " + describe_json(v));
    return std::nullopt;
  }
  if (!allow_empty && v.get<std::string>().empty()) {
    ctx.add(pointer, "expected a non-empty string (" + what + ")");
    return std::nullopt;
  }
  return v.get<std::string>();
}

std::optional<bool> get_bool(Ctx& ctx, const json& v, const std::string& pointer) {
  if (!v.is_boolean()) {
    std::string hint;
    if (v.is_string() && (v == "true" || v == "false")) hint = " — write " + v.get<std::string>() + " without quotes";
    ctx.add(pointer, "expected true or false; got " + describe_json(v) + hint);
    return std::nullopt;
  }
  return v.get<bool>();
}

std::optional<int64_t> get_int(Ctx& ctx, const json& v, const std::string& pointer, int64_t lo, int64_t hi) {
  std::string range = hi == std::numeric_limits<int64_t>::max()
                          ? "of at least " + std::to_string(lo)
                          : "from " + std::to_string(lo) + " to " + std::to_string(hi);
  std::optional<int64_t> value;
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
    // Above int64 range (is_number_integer() is true for these too): surely out of range.
    ctx.add(pointer, "expected a whole number " + range + "; got " + describe_json(v));
    return std::nullopt;
  }
  if (v.is_number_integer()) value = v.get<int64_t>();
  if (!value) {
    std::string hint;
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        hint = " — write " + s + " without quotes";
    }
    ctx.add(pointer, "expected a whole number " + range + "; got " + describe_json(v) + hint);
    return std::nullopt;
  }
  if (*value < lo || *value > hi) {
    ctx.add(pointer, "expected a whole number " + range + "; got " + describe_json(v));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> get_enum(Ctx& ctx, const json& v, const std::string& pointer, const Keys& allowed,
                                    const std::string& what) {
  if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end()) {
    std::string hint = v.is_string() ? suggestion(v.get<std::string>(), allowed) : "";
    ctx.add(pointer, "expected " + what + ": " + join_quoted(allowed) + "; got " + describe_json(v) + hint);
    return std::nullopt;
  }
  return v.get<std::string>();
}

// An enum value by its name; `allowed` narrows the table (empty: every name).
template <class E>
std::optional<E> get_enum(Ctx& ctx, const json& v, const std::string& pointer, const std::string& what,
                          const std::vector<E>& allowed = {}) {
  Keys keys;
  if (allowed.empty()) keys = names<E>();
  for (E e : allowed) keys.push_back(name_string(e));
  auto text = get_enum(ctx, v, pointer, keys, what);
  if (!text) return std::nullopt;
  return parse_name<E>(*text);
}

std::string number_as_duration_hint(const json& v) {
  std::string n = v.dump();
  return " — write \"" + n + "s\"";
}

struct DurationRule {
  Nanos min{0};
  std::optional<Nanos> max = std::nullopt;
  Nanos granularity{1};  // the value must be a multiple of this
  std::string granularity_reason = "";
  bool allow_off = false;
};

// A duration string, or "off" when the rule allows it (returned as Nanos(-1)).
std::optional<Nanos> get_duration(Ctx& ctx, const json& v, const std::string& pointer, const DurationRule& rule = {}) {
  std::string off = rule.allow_off ? "\"off\" or " : "";
  if (v.is_number()) {
    ctx.add(pointer, "expected " + off + "a duration string like \"250ms\" or \"3s\"; got the number " + v.dump() +
                         number_as_duration_hint(v));
    return std::nullopt;
  }
  if (!v.is_string()) {
    ctx.add(pointer, "expected " + off + "a duration string like \"250ms\" or \"3s\"; got " + describe_json(v));
    return std::nullopt;
  }
  const std::string& text = v.get_ref<const std::string&>();
  if (rule.allow_off && text == "off") return Nanos(-1);
  std::string why;
  auto d = parse_duration(text, &why);
  if (!d) {
    ctx.add(pointer, rule.allow_off ? "expected \"off\" or " + why.substr(std::strlen("expected ")) : why);
    return std::nullopt;
  }
  if (*d < rule.min) {
    ctx.add(pointer, "expected a duration of at least " + format_duration(rule.min) + "; got \"" + text + "\"");
    return std::nullopt;
  }
  if (rule.max && *d > *rule.max) {
    ctx.add(pointer, "expected a duration of at most " + format_duration(*rule.max) + "; got \"" + text + "\"");
    return std::nullopt;
  }
  if (d->count() % rule.granularity.count() != 0) {
    ctx.add(pointer, "expected " + rule.granularity_reason + "; got \"" + text + "\"");
    return std::nullopt;
  }
  return d;
}

std::optional<std::vector<std::string>> get_argv(Ctx& ctx, const json& v, const std::string& pointer) {
  const std::string what = "a command as a list of strings, e.g. [\"curl\", \"-sS\", \"http://{server}:{port}/\"] (argv, never a shell)";
  if (v.is_string()) {
    ctx.add(pointer, "expected " + what + "; got a single string — split it into its arguments");
    return std::nullopt;
  }
  if (!v.is_array() || v.empty()) {
    ctx.add(pointer, "expected " + what + "; got " + (v.is_array() ? std::string("an empty list") : describe_json(v)));
    return std::nullopt;
  }
  std::vector<std::string> argv;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      ctx.add(child(pointer, i), "expected a string argument; got " + describe_json(v[i]));
      ok = false;
      continue;
    }
    argv.push_back(v[i].get<std::string>());
  }
  if (ok && argv[0].empty()) {
    ctx.add(child(pointer, size_t(0)), "expected the program name; got an empty string");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return argv;
}

bool valid_host_name(const std::string& name) {
  if (name.empty() || name.size() > 15 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// "server:7000" -> {host, port}; the host's existence is checked by the caller.
// "host:port", or "[host]:port" (over IPv6 in a "dual" scenario; `*bracketed` says which).
std::optional<std::pair<std::string, int>> get_host_port(Ctx& ctx, const json& v, const std::string& pointer,
                                                         bool* bracketed = nullptr) {
  const std::string what = "\"host:port\" naming a declared host, e.g. \"server:7000\" (\"[server]:7000\" for IPv6)";
  if (!v.is_string()) {
    ctx.add(pointer, "expected " + what + "; got " + describe_json(v));
    return std::nullopt;
  }
  const std::string& s = v.get_ref<const std::string&>();
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    ctx.add(pointer, "expected " + what + "; got \"" + s + "\"");
    return std::nullopt;
  }
  std::string host = s.substr(0, colon), port_text = s.substr(colon + 1);
  const bool in_brackets = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (in_brackets) host = host.substr(1, host.size() - 2);
  if (bracketed) *bracketed = in_brackets;
  if (!std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      port_text.size() > 5 || std::stoi(port_text) < 1 || std::stoi(port_text) > 65535) {
    ctx.add(pointer, "expected " + what + " with a port from 1 to 65535; got \"" + s + "\"");
    return std::nullopt;
  }
  if (!valid_host_name(host)) {
    ctx.add(pointer, "expected " + what + " (host names are scenario host names like \"server\", not addresses); got \"" +
                         s + "\"");
    return std::nullopt;
  }
  return std::make_pair(host, std::stoi(port_text));
}

// A rate per second: a number > 0 or "max" (as fast as possible, returned as 0).
std::optional<double> get_per_second(Ctx& ctx, const json& v, const std::string& pointer) {
  if (v.is_string() && v == "max") return 0.0;
  if (v.is_number() && v.get<double>() > 0 && std::isfinite(v.get<double>())) return v.get<double>();
  std::string hint;
  if (v.is_string() && v.get<std::string>().find("/s") != std::string::npos)
    hint = " — write the number per second without units, e.g. 100";
  ctx.add(pointer, "expected a number of operations per second above 0, or \"max\" for as fast as possible; got " +
                       describe_json(v) + hint);
  return std::nullopt;
}


Workload parse_workload(Ctx& ctx, const json& v, const std::string& p) {
  Workload w;
  if (!v.is_object()) {
    ctx.add(p, "expected an object (the client workload) like {\"kind\": \"stream\", \"rate\": \"100KiB/s\"}; got " +
                   describe_json(v));
    return w;
  }
  if (!v.contains("kind")) {
    ctx.add(p, "expected a \"kind\" key: one of " + join_quoted(names<WorkloadKind>()));
    check_object(ctx, v, p, {"kind", "rate", "duration", "count", "request", "connections", "command", "start_after"},
                 "the workload");
    return w;
  }
  auto kind = get_enum<WorkloadKind>(ctx, v["kind"], child(p, "kind"), "a workload kind");
  if (!kind) {
    check_object(ctx, v, p, {"kind", "rate", "duration", "count", "request", "connections", "command", "start_after"},
                 "the workload");
    return w;
  }
  w.kind = *kind;
  Keys allowed = {"kind"};
  switch (w.kind) {
    case WorkloadKind::idle: break;
    case WorkloadKind::stream: allowed = {"kind", "rate", "duration", "start_after"}; break;
    case WorkloadKind::probe: allowed = {"kind", "count", "rate", "request"}; break;
    case WorkloadKind::request: allowed = {"kind", "connections", "rate", "duration", "request", "start_after"}; break;
    case WorkloadKind::command: allowed = {"kind", "command", "ready"}; break;
  }
  // start_after on another kind gets its own message below, not "unknown key".
  json rest = v;
  if (std::find(allowed.begin(), allowed.end(), "start_after") == allowed.end()) rest.erase("start_after");
  check_object(ctx, rest, p, allowed, "a \"" + name_string(w.kind) + "\" workload");
  if (v.contains("start_after") && std::find(allowed.begin(), allowed.end(), "start_after") == allowed.end())
    ctx.add(child(p, "start_after"), "\"start_after\" applies to \"stream\" and \"request\" workloads only (the "
                                     "first send, this long after the connection is ready); got kind \"" +
                                         name_string(w.kind) + "\"");
  auto has = [&](const char* key) {
    return v.contains(key) && std::find(allowed.begin(), allowed.end(), key) != allowed.end();
  };
  DurationRule bounded{Nanos(1), std::chrono::hours(24), Nanos(1), "", false};
  if (has("start_after"))
    if (auto d = get_duration(ctx, v["start_after"], child(p, "start_after"),
                              {Nanos(0), std::chrono::hours(24), Nanos(1), "", false}))
      w.start_after = *d;
  if (has("ready")) {
    const json& r = v["ready"];
    if (r == "connected") {
      w.ready_when_connected = true;
    } else if (r != "start") {
      ctx.add(child(p, "ready"), "expected \"start\" (the command's start is the workload's \"ready\", the default) or "
                                 "\"connected\" (the first ESTABLISHED connection on the client's host); got " +
                                     describe_json(r));
    }
  }
  if (w.kind == WorkloadKind::stream) {
    if (has("rate")) {
      const auto& r = v["rate"];
      std::string why;
      if (!r.is_string()) {
        ctx.add(child(p, "rate"), "expected a byte rate string like \"100KiB/s\"; got " + describe_json(r));
      } else if (auto rate = parse_byte_rate(r.get<std::string>(), &why)) {
        w.bytes_per_second = *rate;
      } else {
        ctx.add(child(p, "rate"), why);
      }
    }
    if (has("duration"))
      if (auto d = get_duration(ctx, v["duration"], child(p, "duration"), bounded)) w.duration = *d;
  }
  if (w.kind == WorkloadKind::probe) {
    if (!v.contains("count")) ctx.add(p, "expected a \"count\" key (number of probes, 1 to 1000000) for a probe workload");
    else if (auto c = get_int(ctx, v["count"], child(p, "count"), 1, 1000000)) w.count = static_cast<int>(*c);
    if (has("rate"))
      if (auto r = get_per_second(ctx, v["rate"], child(p, "rate"))) w.per_second = *r;
    if (has("request"))
      if (auto s = get_string(ctx, v["request"], child(p, "request"), "the bytes sent by each probe")) w.request = *s;
  }
  if (w.kind == WorkloadKind::request) {
    if (has("connections"))
      if (auto c = get_int(ctx, v["connections"], child(p, "connections"), 1, 10000)) w.connections = static_cast<int>(*c);
    if (has("rate"))
      if (auto r = get_per_second(ctx, v["rate"], child(p, "rate"))) w.per_second = *r;
    if (!v.contains("duration"))
      ctx.add(p, "expected a \"duration\" key (how long to send requests, e.g. \"10s\") for a request workload");
    else if (auto d = get_duration(ctx, v["duration"], child(p, "duration"), bounded))
      w.duration = *d;
    w.request = "GET / HTTP/1.0\r\n\r\n";
    if (has("request"))
      if (auto s = get_string(ctx, v["request"], child(p, "request"), "the bytes sent by each request", false))
        w.request = *s;
  }
  if (w.kind == WorkloadKind::command) {
    if (!v.contains("command")) ctx.add(p, "expected a \"command\" key (argv list) for a command workload");
    else if (auto argv = get_argv(ctx, v["command"], child(p, "command"))) w.command = *argv;
  }
  return w;
}

std::optional<Nanos> get_off_or_duration(Ctx& ctx, const json& v, const std::string& pointer, DurationRule rule) {
  rule.allow_off = true;
  auto d = get_duration(ctx, v, pointer, rule);
  return d;
}

// The sysctls that live under net. but are global (not per network namespace), which we refuse.
const Keys kGlobalNetSysctls = {
    "net.core.rmem_max",          "net.core.wmem_max",          "net.core.rmem_default",
    "net.core.wmem_default",      "net.core.netdev_max_backlog", "net.core.netdev_budget",
    "net.core.netdev_budget_usecs", "net.core.dev_weight",       "net.core.bpf_jit_enable",
    "net.core.bpf_jit_harden",    "net.core.bpf_jit_kallsyms",  "net.core.bpf_jit_limit",
    "net.core.message_cost",      "net.core.message_burst",     "net.core.flow_limit_table_len",
    "net.core.default_qdisc",     "net.core.rps_sock_flow_entries", "net.ipv4.tcp_mem",
    "net.ipv4.udp_mem",           "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max",
    "net.unix.max_dgram_qlen_global"};

HostSpec parse_host(Ctx& ctx, const std::string& name, const json& v, const std::string& p) {
  HostSpec host;
  host.name = name;
  if (!check_object(ctx, v, p, {"sysctl"}, "host \"" + name + "\"")) return host;
  if (!v.contains("sysctl")) return host;
  const auto& sysctl = v["sysctl"];
  std::string sp = child(p, "sysctl");
  if (!sysctl.is_object()) {
    ctx.add(sp, "expected an object of sysctls like {\"net.ipv4.tcp_retries2\": 8}; got " + describe_json(sysctl));
    return host;
  }
  for (const auto& [key, value] : sysctl.items()) {
    std::string kp = child(sp, key);
    bool dotted = key.size() > 4 && key.compare(0, 4, "net.") == 0 && key.back() != '.' &&
                  key.find("..") == std::string::npos &&
                  std::all_of(key.begin(), key.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                  });
    if (!dotted) {
      ctx.add(kp, "expected a per-network-namespace net.* sysctl like \"net.ipv4.tcp_retries2\"; got \"" + key +
                      "\" — only per-network-namespace net.* sysctls are accepted (the host's own settings are "
                      "never touched)");
      continue;
    }
    if (std::find(kGlobalNetSysctls.begin(), kGlobalNetSysctls.end(), key) != kGlobalNetSysctls.end()) {
      ctx.add(kp, "\"" + key + "\" is global, not per network namespace; only per-network-namespace net.* sysctls "
                               "are accepted (the host's own settings are never touched)");
      continue;
    }
    std::string text;
    if (value.is_number_integer() || value.is_number_unsigned()) {
      text = value.dump();
    } else if (value.is_string() && !value.get<std::string>().empty() &&
               value.get<std::string>().find_first_of("\n\r") == std::string::npos) {
      text = value.get<std::string>();
    } else {
      ctx.add(kp, "expected a whole number or a one-line string (e.g. \"4096 131072 6291456\"); got " +
                      describe_json(value));
      continue;
    }
    host.sysctl.emplace_back(key, text);
  }
  return host;
}


// ---- links and their impairments -----------------------------------------------------------

const Keys kImpairmentKeys = {"delay",   "jitter",  "distribution", "loss", "loss_model", "duplicate",
                              "reorder", "corrupt", "rate",         "queue", "mtu"};
bool is_impairment_key(const std::string& k) {
  return std::find(kImpairmentKeys.begin(), kImpairmentKeys.end(), k) != kImpairmentKeys.end();
}

// One direction's impairment keys, merged from their sources, each key remembering where it
// was written (so a problem names the pointer the user wrote).
struct DirectionKeys {
  json keys = json::object();
  std::map<std::string, std::string> origin;  // key -> pointer of the object it came from
  void overlay(const json& source, const std::string& pointer) {
    if (!source.is_object()) return;
    for (const auto& [k, v] : source.items())
      if (is_impairment_key(k)) {
        keys[k] = v;
        origin[k] = pointer;
      }
  }
};

// Parses merged keys into an impairment; problems are reported where each key was written.
std::optional<linkemu::Impairment> parse_direction(Ctx& ctx, const DirectionKeys& d, const std::string& fallback,
                                                   const std::string& direction) {
  std::vector<linkemu::ImpairmentProblem> problems;
  auto imp = linkemu::impairment_from_json(d.keys, &problems);
  for (const auto& pr : problems) {
    const std::string key = pr.pointer.substr(1, pr.pointer.find('/', 1) == std::string::npos ? std::string::npos
                                                                                               : pr.pointer.find('/', 1) - 1);
    auto it = d.origin.find(key);
    const std::string base = it != d.origin.end() ? it->second : fallback;
    ctx.add(base + (base.size() >= 8 && base.compare(base.size() - 8, 8, "/profile") == 0 ? "" : pr.pointer),
            pr.message + " (" + direction + ")");
  }
  return imp;
}

const Keys& link_object_keys() {
  static const Keys keys = [] {
    Keys k = {"between", "profile", "a_to_b", "b_to_a"};
    k.insert(k.end(), kImpairmentKeys.begin(), kImpairmentKeys.end());
    return k;
  }();
  return keys;
}

// A profile's keys, or an issue at `pointer`.
const json* profile_keys(Ctx& ctx, const json& v, const std::string& pointer) {
  if (!v.is_string()) {
    ctx.add(pointer, "expected a link profile name; got " + describe_json(v));
    return nullptr;
  }
  if (const LinkProfile* p = find_link_profile(v.get<std::string>())) return &p->keys;
  Keys known;
  for (const auto& p : link_profiles()) known.push_back(p.name);
  ctx.add(pointer, "expected a link profile: " + join_quoted(known) + "; got " + quote_json(v) +
                       suggestion(v.get<std::string>(), known));
  return nullptr;
}

// The impairment keys of a link object (and of its profile), per direction.
void parse_link_impairments(Ctx& ctx, const json& l, const std::string& lp, LinkSpec& link) {
  if (!check_object(ctx, l, lp, link_object_keys(), "a link")) return;
  for (const char* dir : {"a_to_b", "b_to_a"})
    if (l.contains(dir)) check_object(ctx, l[dir], child(lp, dir), kImpairmentKeys, "one direction's impairments");
  const json* profile = nullptr;
  if (l.contains("profile")) {
    profile = profile_keys(ctx, l["profile"], child(lp, "profile"));
    if (profile) link.profile = l["profile"].get<std::string>();
  }
  for (bool forward : {true, false}) {
    const char* dir = forward ? "a_to_b" : "b_to_a";
    DirectionKeys d;
    if (profile) {
      d.overlay(*profile, child(lp, "profile"));
      if (profile->contains(dir)) d.overlay((*profile)[dir], child(lp, "profile"));
    }
    d.overlay(l, lp);
    if (l.contains(dir)) d.overlay(l[dir], child(lp, dir));
    (forward ? link.keys_a_to_b : link.keys_b_to_a) = d.keys;
    const std::string label = forward ? link.a + " -> " + link.b : link.b + " -> " + link.a;
    auto imp = parse_direction(ctx, d, lp, label);
    if (imp) (forward ? link.a_to_b : link.b_to_a) = *imp;
  }
}

// An impair fault's links and what it makes of each: the link's own keys, then the fault's
// profile, plain keys and per-direction keys ("a_to_b" as the fault's "link" is written).
void resolve_impair(Ctx& ctx, const json& v, const std::string& p, const std::vector<LinkSpec>& links, Fault& f) {
  std::vector<std::pair<size_t, bool>> targets;  // link index, same orientation as written
  if (v.contains("link")) {
    const json& l = v["link"];
    const std::string lp = child(p, "link");
    if (v.contains("on")) ctx.add(p, "give \"on\" (every link of a host) or \"link\" (one link), not both");
    if (!l.is_array() || l.size() != 2 || !l[0].is_string() || !l[1].is_string()) {
      ctx.add(lp, "expected a pair of host names like [\"client\", \"server\"]; got " + describe_json(l));
      return;
    }
    const std::string a = l[0].get<std::string>(), b = l[1].get<std::string>();
    for (size_t k = 0; k < links.size(); ++k) {
      if (links[k].a == a && links[k].b == b) targets.emplace_back(k, true);
      if (links[k].a == b && links[k].b == a) targets.emplace_back(k, false);
    }
    if (targets.empty()) {
      ctx.add(lp, "expected one of the scenario's links; [\"" + a + "\", \"" + b + "\"] is not in \"links\"");
      return;
    }
    f.on = "link " + a + "-" + b;
  } else {
    for (const char* dir : {"a_to_b", "b_to_a"})
      if (v.contains(dir))
        ctx.add(child(p, dir), std::string("\"") + dir + "\" needs \"link\": [A, B] to say which way A -> B is");
    for (size_t k = 0; k < links.size(); ++k)
      if (links[k].a == f.on || links[k].b == f.on) targets.emplace_back(k, true);
  }
  const json* profile = v.contains("profile") ? profile_keys(ctx, v["profile"], child(p, "profile")) : nullptr;
  for (const char* dir : {"a_to_b", "b_to_a"})
    if (v.contains(dir)) check_object(ctx, v[dir], child(p, dir), kImpairmentKeys, "one direction's impairments");
  // The label: what the fault sets.
  std::string summary;
  if (v.contains("profile") && v["profile"].is_string()) summary += v["profile"].get<std::string>();
  for (const auto& [k, val] : v.items())
    if (is_impairment_key(k)) summary += (summary.empty() ? "" : " ") + k + "=" + (val.is_string() ? val.get<std::string>() : val.dump());
  f.impair_summary = summary;
  bool any = profile != nullptr;
  for (const auto& [k, val] : v.items()) any |= is_impairment_key(k) || k == "a_to_b" || k == "b_to_a";
  if (!any) ctx.add(p, "expected what the link becomes: a \"profile\" or keys like \"delay\", \"loss\", \"rate\"");
  for (const auto& [index, same] : targets) {
    const LinkSpec& link = links[index];
    LinkImpairment li;
    li.link = index;
    for (bool forward : {true, false}) {
      // `forward` is the link's a -> b; the fault's a_to_b is the link's when written the same way.
      const char* fault_dir = (forward == same) ? "a_to_b" : "b_to_a";
      DirectionKeys d;
      d.overlay(forward ? link.keys_a_to_b : link.keys_b_to_a, child("/links", index));
      if (profile) {
        d.overlay(*profile, child(p, "profile"));
        if (profile->contains(fault_dir)) d.overlay((*profile)[fault_dir], child(p, "profile"));
      }
      d.overlay(v, p);
      if (v.contains(fault_dir)) d.overlay(v[fault_dir], child(p, fault_dir));
      const std::string label = forward ? link.a + " -> " + link.b : link.b + " -> " + link.a;
      if (auto imp = parse_direction(ctx, d, p, label)) (forward ? li.a_to_b : li.b_to_a) = *imp;
    }
    f.impair.push_back(std::move(li));
  }
}

Fault parse_fault(Ctx& ctx, const json& v, const std::string& p) {
  Fault f;
  const Keys all = {"kind", "on", "at", "until", "direction", "match", "probability", "with"};
  if (!v.is_object()) {
    ctx.add(p, "expected a fault object like {\"kind\": \"blackhole\", \"on\": \"server\", \"at\": \"500ms\"}; got " +
                   describe_json(v));
    return f;
  }
  if (!v.contains("kind")) {
    ctx.add(p, "expected a \"kind\" key: one of " + join_quoted(names<FaultKind>()));
    check_object(ctx, v, p, all, "a fault");
    return f;
  }
  auto kind = get_enum<FaultKind>(ctx, v["kind"], child(p, "kind"), "a fault kind");
  if (!kind) {
    check_object(ctx, v, p, all, "a fault");
    return f;
  }
  f.kind = *kind;
  Keys allowed = {"kind", "on", "at", "until", "direction"};
  if (f.kind == FaultKind::impair) {
    allowed = {"kind", "on", "link", "at", "until", "profile", "a_to_b", "b_to_a"};
    allowed.insert(allowed.end(), kImpairmentKeys.begin(), kImpairmentKeys.end());
  }
  const bool packet = f.kind == FaultKind::blackhole || f.kind == FaultKind::drop || f.kind == FaultKind::reject;
  if (packet) allowed.push_back("match");
  if (f.kind == FaultKind::drop) allowed.push_back("probability");
  if (f.kind == FaultKind::reject) allowed.push_back("with");
  if (f.kind == FaultKind::kill) allowed = {"kind", "on", "at"};
  const std::string kind_name = name_string(f.kind);
  // Say why a key that exists for other kinds is refused here.
  for (const auto& [key, value] : v.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (std::find(all.begin(), all.end(), key) == all.end()) continue;  // reported by check_object
    if (f.kind == FaultKind::impair && key == "direction") {
      ctx.add(child(p, key), "\"direction\" is not allowed for an \"impair\" fault: use \"a_to_b\" / \"b_to_a\" with "
                             "\"link\" for one direction");
      continue;
    }
    std::string why;
    if (key == "match") why = "match applies to packet faults only (blackhole, drop, reject)";
    else if (key == "probability") why = "probability applies to kind \"drop\" only";
    else if (key == "with") why = "with applies to kind \"reject\" only";
    else if (key == "until") why = "a killed process does not come back; use kind \"crash\" with until for a host that returns";
    else why = "kind \"kill\" takes only on and at";
    ctx.add(child(p, key), "\"" + key + "\" is not allowed for a \"" + kind_name + "\" fault: " + why);
  }
  {
    json unknown_only = json::object();
    for (const auto& [key, value] : v.items())
      if (std::find(all.begin(), all.end(), key) == all.end()) unknown_only[key] = value;
    check_object(ctx, unknown_only, p, allowed, "a \"" + kind_name + "\" fault");
  }
  auto has = [&](const char* key) {
    return v.contains(key) && std::find(allowed.begin(), allowed.end(), key) != allowed.end();
  };
  if (has("on"))
    if (auto s = get_string(ctx, v["on"], child(p, "on"), "the host the fault hits")) f.on = *s;
  if (has("at"))
    if (auto d = get_duration(ctx, v["at"], child(p, "at"))) f.at = *d;
  if (has("until")) {
    if (auto d = get_duration(ctx, v["until"], child(p, "until"))) {
      if (*d <= f.at)
        ctx.add(child(p, "until"), "expected until to be later than at (" + format_duration(f.at) + "); got \"" +
                                       v["until"].get<std::string>() + "\"");
      else
        f.until = *d;
    }
  }
  if (has("direction"))
    if (auto d = get_enum<Direction>(ctx, v["direction"], child(p, "direction"), "a direction")) f.direction = *d;
  if (has("match")) {
    const auto& m = v["match"];
    std::string mp = child(p, "match");
    if (check_object(ctx, m, mp, {"tcp_flags", "state", "port"}, "a fault match")) {
      if (m.empty()) ctx.add(mp, "expected at least one of tcp_flags, state, port in match (or no match at all)");
      if (m.contains("tcp_flags")) {
        if (m["tcp_flags"].is_object()) {
          if (auto t = parse_tcp_flag_match(m["tcp_flags"], child(mp, "tcp_flags"), file_of(ctx), ctx.issues)) {
            f.match.tcp_flag_mask = *t;
            if (t->mask == 0x02 && t->value == 0x02) f.match.tcp_flags = TcpFlag::syn;  // the same as "syn"
          }
        } else if (auto t = get_enum<TcpFlag>(ctx, m["tcp_flags"], child(mp, "tcp_flags"),
                                              "TCP flags (or {\"mask\": [...], \"value\": [...]})")) {
          f.match.tcp_flags = *t;
        }
      }
      if (m.contains("state"))
        if (auto st = get_enum<ConnState>(ctx, m["state"], child(mp, "state"), "a connection state"))
          f.match.state = *st;
      if (m.contains("port"))
        if (auto n = get_int(ctx, m["port"], child(mp, "port"), 1, 65535)) f.match.port = static_cast<int>(*n);
    }
  }
  if (f.kind == FaultKind::drop) {
    if (!v.contains("probability")) {
      ctx.add(p, "expected a \"probability\" key (above 0, at most 1) for a drop fault, e.g. \"probability\": 0.3");
    } else {
      const auto& pr = v["probability"];
      if (!pr.is_number() || !(pr.get<double>() > 0) || pr.get<double>() > 1) {
        ctx.add(child(p, "probability"), "expected a number above 0 and at most 1; got " + describe_json(pr));
      } else {
        f.probability = pr.get<double>();
      }
    }
  }
  if (has("with"))
    if (auto w = get_enum<RejectWith>(ctx, v["with"], child(p, "with"), "a reject answer")) f.with = *w;
  return f;
}

const Keys kStates = {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",  "TIME_WAIT", "CLOSE",
                      "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};

bool valid_error_name(const std::string& s) {
  if (s == "app_timeout" || s == "connect_timeout" || s == "EOF") return true;
  if (s.rfind("exit:", 0) == 0) {
    std::string n = s.substr(5);
    return !n.empty() && n.size() <= 3 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stoi(n) <= 255;
  }
  for (int e = 1; e < 200; ++e) {
    const char* name = strerrorname_np(e);
    if (name && s == name) return true;
  }
  return false;
}

Expectation parse_expectation(Ctx& ctx, const json& v, const std::string& p) {
  Expectation e;
  e.pointer = p;
  const Keys keys = {"where",        "detected_within",    "detected_after",     "undetected", "error",
                     "mechanism",    "time_wait_max",      "time_wait_min",      "states_max", "states_min",
                     "probe_failures_max", "probe_failures_min", "time_wait_cleared_after",
                     "time_wait_cleared_within", "cleared_after", "cleared_within", "model_holds", "host"};
  if (!check_object(ctx, v, p, keys, "an expectation")) return e;
  bool any_check = false;
  for (const auto& [key, value] : v.items())
    if (key != "where" && key != "host" && std::find(keys.begin(), keys.end(), key) != keys.end()) any_check = true;
  if (!any_check)
    ctx.add(p, "expected at least one check: detected_within, detected_after, undetected, error, mechanism, "
               "time_wait_max, time_wait_min, states_max, states_min, probe_failures_max, probe_failures_min, "
               "time_wait_cleared_after, time_wait_cleared_within, cleared_after, cleared_within or model_holds");
  if (v.contains("where")) {
    const auto& w = v["where"];
    std::string wp = child(p, "where");
    if (!w.is_object()) {
      ctx.add(wp, "expected an object of matrix pointer -> value, e.g. {\"/client/socket/tcp_user_timeout\": \"2s\"}; got " +
                      describe_json(w));
    } else {
      e.where = w;
    }
  }
  if (v.contains("detected_within"))
    if (auto d = get_duration(ctx, v["detected_within"], child(p, "detected_within"))) e.detected_within = *d;
  if (v.contains("detected_after"))
    if (auto d = get_duration(ctx, v["detected_after"], child(p, "detected_after"))) e.detected_after = *d;
  if (v.contains("undetected")) {
    const auto& u = v["undetected"];
    if (!u.is_boolean() || !u.get<bool>())
      ctx.add(child(p, "undetected"), "expected true (\"the fault is never detected\"); got " + describe_json(u) +
                                          " — to require detection use detected_within");
    else
      e.undetected = true;
    if (v.contains("detected_within") || v.contains("detected_after") || v.contains("error") || v.contains("mechanism"))
      ctx.add(child(p, "undetected"), "expected undetected alone or detection checks, not both: undetected contradicts "
                                      "detected_within, detected_after, error and mechanism");
  }
  if (v.contains("model_holds")) {
    const auto& m = v["model_holds"];
    if (!m.is_boolean() || !m.get<bool>())
      ctx.add(child(p, "model_holds"), "expected true (\"the measurement lies inside the kernel model's window\"); got " +
                                           describe_json(m));
    else
      e.model_holds = true;
  }
  if (v.contains("error")) {
    const auto& er = v["error"];
    if (!er.is_string() || !valid_error_name(er.get<std::string>())) {
      std::string hint = er.is_string() ? suggestion(er.get<std::string>(), {"ETIMEDOUT", "ECONNRESET", "EPIPE",
                                                                             "ECONNREFUSED", "EHOSTUNREACH",
                                                                             "EADDRNOTAVAIL", "app_timeout", "EOF"})
                                        : "";
      ctx.add(child(p, "error"), "expected an errno name (ETIMEDOUT, ECONNRESET, EPIPE, ECONNREFUSED, EHOSTUNREACH, "
                                 "EADDRNOTAVAIL, ...), \"app_timeout\", \"EOF\" or \"exit:N\"; got " +
                                     describe_json(er) + hint);
    } else {
      e.error = er.get<std::string>();
    }
  }
  if (v.contains("mechanism"))
    if (auto m = get_enum<Mechanism>(ctx, v["mechanism"], child(p, "mechanism"), "a detection mechanism"))
      e.mechanism = *m;
  constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();
  if (v.contains("time_wait_max"))
    if (auto n = get_int(ctx, v["time_wait_max"], child(p, "time_wait_max"), 0, kMaxCount)) e.time_wait_max = *n;
  if (v.contains("time_wait_min"))
    if (auto n = get_int(ctx, v["time_wait_min"], child(p, "time_wait_min"), 0, kMaxCount)) e.time_wait_min = *n;
  if (v.contains("probe_failures_max"))
    if (auto n = get_int(ctx, v["probe_failures_max"], child(p, "probe_failures_max"), 0, kMaxCount))
      e.probe_failures_max = *n;
  if (v.contains("probe_failures_min"))
    if (auto n = get_int(ctx, v["probe_failures_min"], child(p, "probe_failures_min"), 0, kMaxCount))
      e.probe_failures_min = *n;
  for (const char* which : {"states_max", "states_min"}) {
    if (!v.contains(which)) continue;
    const bool is_max = std::string(which) == "states_max";
    const auto& sm = v[which];
    std::string sp = child(p, which);
    if (!sm.is_object() || sm.empty()) {
      ctx.add(sp, std::string("expected an object of socket state -> ") + (is_max ? "maximum" : "minimum") +
                      " count, e.g. {\"CLOSE_WAIT\": " + (is_max ? "0" : "1") + "}; got " +
                      (sm.is_object() ? std::string("an empty object") : describe_json(sm)));
    } else {
      check_object(ctx, sm, sp, kStates, std::string(which) + " (TCP state names)");
      for (const auto& [state, n] : sm.items()) {
        if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) continue;
        if (auto count = get_int(ctx, n, child(sp, state), 0, kMaxCount))
          (is_max ? e.states_max : e.states_min)[state] = *count;
      }
    }
  }
  for (const auto& [state, lo] : e.states_min) {
    auto hi = e.states_max.find(state);
    if (hi != e.states_max.end() && lo > hi->second)
      ctx.add(child(child(p, "states_min"), state), "expected states_min " + state + " <= states_max " + state);
  }
  if (v.contains("time_wait_cleared_after"))
    if (auto d = get_duration(ctx, v["time_wait_cleared_after"], child(p, "time_wait_cleared_after")))
      e.time_wait_cleared_after = *d;
  if (v.contains("time_wait_cleared_within"))
    if (auto d = get_duration(ctx, v["time_wait_cleared_within"], child(p, "time_wait_cleared_within")))
      e.time_wait_cleared_within = *d;
  for (const char* which : {"cleared_after", "cleared_within"}) {
    if (!v.contains(which)) continue;
    const auto& cm = v[which];
    const std::string cp = child(p, which);
    if (!cm.is_object() || cm.empty()) {
      ctx.add(cp, std::string("expected an object of socket state -> duration, e.g. {\"ESTABLISHED\": \"8s\"} (when the "
                              "host's count of that state returned to 0, after the workload ended); got ") +
                      (cm.is_object() ? std::string("an empty object") : describe_json(cm)));
      continue;
    }
    check_object(ctx, cm, cp, kStates, std::string(which) + " (TCP state names)");
    for (const auto& [state, d] : cm.items()) {
      if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) continue;
      if (auto dur = get_duration(ctx, d, child(cp, state)))
        (std::string(which) == "cleared_after" ? e.cleared_after : e.cleared_within)[state] = *dur;
    }
  }
  for (const auto& [state, lo] : e.cleared_after) {
    auto hi = e.cleared_within.find(state);
    if (hi != e.cleared_within.end() && lo > hi->second)
      ctx.add(child(child(p, "cleared_after"), state), "expected cleared_after " + state + " <= cleared_within " + state);
  }
  if (e.time_wait_cleared_after && e.time_wait_cleared_within && *e.time_wait_cleared_after > *e.time_wait_cleared_within)
    ctx.add(child(p, "time_wait_cleared_after"), "expected time_wait_cleared_after <= time_wait_cleared_within");
  if (e.time_wait_max && e.time_wait_min && *e.time_wait_min > *e.time_wait_max)
    ctx.add(child(p, "time_wait_min"), "expected time_wait_min <= time_wait_max");
  if (e.probe_failures_max && e.probe_failures_min && *e.probe_failures_min > *e.probe_failures_max)
    ctx.add(child(p, "probe_failures_min"), "expected probe_failures_min <= probe_failures_max");
  if (e.detected_within && e.detected_after && *e.detected_after > *e.detected_within)
    ctx.add(child(p, "detected_after"), "expected detected_after <= detected_within");
  if (v.contains("host"))
    if (auto s = get_string(ctx, v["host"], child(p, "host"), "the host whose sockets are checked")) e.host = *s;
  return e;
}

void parse_matrix(Ctx& ctx, const json& v, const std::string& p, std::vector<MatrixAxis>& out) {
  if (!v.is_object()) {
    ctx.add(p, "expected an object of JSON Pointer -> list of values, e.g. {\"/client/socket/tcp_user_timeout\": "
               "[\"off\", \"2s\"]}; got " + describe_json(v));
    return;
  }
  for (const auto& [pointer, values] : v.items()) {
    std::string ap = child(p, pointer);
    auto tokens = split_pointer(pointer);
    if (!tokens || tokens->empty()) {
      ctx.add(ap, "expected a JSON Pointer into the scenario like \"/client/socket/keepalive\" as the matrix key; got \"" +
                      pointer + "\"");
      continue;
    }
    const std::string& top = (*tokens)[0];
    if (top == "matrix" || top == "expect" || top == "name") {
      ctx.add(ap, "\"/" + top + "\" cannot be a matrix axis; expected a pointer to a scenario setting like "
                                "\"/client/socket/keepalive\"");
      continue;
    }
    if (!values.is_array() || values.empty()) {
      ctx.add(ap, "expected a non-empty list of values for this matrix axis; got " +
                      (values.is_array() ? std::string("an empty list") : describe_json(values)) +
                      (values.is_array() ? "" : " — wrap it in [ ]"));
      continue;
    }
    if (values.size() > kMaxCells) {  // also bounds the quadratic duplicate check below
      ctx.add(ap, "expected at most " + std::to_string(kMaxCells) + " values for a matrix axis (a matrix makes at most " +
                      std::to_string(kMaxCells) + " cells); got " + std::to_string(values.size()));
      continue;
    }
    bool duplicate = false;
    for (size_t i = 0; i < values.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (values[i] == values[j]) {
          ctx.add(child(ap, i), "expected distinct values in a matrix axis; " + quote_json(values[i]) +
                                    " is already value " + std::to_string(j));
          duplicate = true;
        }
    if (duplicate) continue;
    MatrixAxis axis;
    axis.pointer = pointer;
    for (const auto& value : values) axis.values.push_back(value);
    out.push_back(std::move(axis));
  }
}

}  // namespace

SocketOptions parse_socket_options(const json& v, const std::string& p, std::vector<InputIssue>& issues,
                                   const std::string& file) {
  Ctx ctx{file, issues};
  SocketOptions o;
  const Keys keys = {"keepalive", "tcp_user_timeout", "linger",   "rcvtimeo",  "sndtimeo",
                     "nodelay",   "quickack",         "reuseaddr", "reuseport", "bind_address_no_port",
                     "syn_count", "rcvbuf",           "sndbuf",   "defer_accept", "raw"};
  if (!check_object(ctx, v, p, keys, "socket options")) return o;
  const DurationRule whole_seconds{std::chrono::seconds(1), std::chrono::seconds(32767), std::chrono::seconds(1),
                                   "whole seconds, at least 1s (the kernel takes seconds)", false};
  if (v.contains("keepalive")) {
    const auto& k = v["keepalive"];
    std::string kp = child(p, "keepalive");
    if (k.is_string() && k == "off") {
      o.keepalive = Keepalive{};
    } else if (k.is_string() && k == "on") {
      // SO_KEEPALIVE alone: the host's net.ipv4.tcp_keepalive_time / _intvl / _probes apply.
      o.keepalive = Keepalive{};
      o.keepalive->enabled = true;
    } else if (!k.is_object()) {
      ctx.add(kp, "expected \"off\", \"on\" (the host's keepalive sysctls) or an object {\"idle\": \"1s\", "
                  "\"interval\": \"1s\", \"count\": 3}; got " + describe_json(k));
    } else if (check_object(ctx, k, kp, {"idle", "interval", "count"}, "keepalive")) {
      // Any of the three may be left out: that one comes from the host's sysctl
      // (net.ipv4.tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes).
      Keepalive ka;
      ka.enabled = true;
      bool ok = true;
      if (k.contains("idle")) {
        if (auto d = get_duration(ctx, k["idle"], child(kp, "idle"), whole_seconds))
          ka.idle = std::chrono::duration_cast<std::chrono::seconds>(*d);
        else
          ok = false;
      }
      if (k.contains("interval")) {
        if (auto d = get_duration(ctx, k["interval"], child(kp, "interval"), whole_seconds))
          ka.interval = std::chrono::duration_cast<std::chrono::seconds>(*d);
        else
          ok = false;
      }
      if (k.contains("count")) {
        if (auto n = get_int(ctx, k["count"], child(kp, "count"), 1, 127)) ka.count = static_cast<int>(*n);
        else ok = false;
      }
      if (ok) o.keepalive = ka;
    }
  }
  if (v.contains("tcp_user_timeout")) {
    DurationRule rule{std::chrono::milliseconds(1), std::chrono::milliseconds(std::numeric_limits<int>::max()),
                      std::chrono::milliseconds(1), "whole milliseconds (the kernel takes milliseconds)", true};
    if (auto d = get_off_or_duration(ctx, v["tcp_user_timeout"], child(p, "tcp_user_timeout"), rule))
      o.tcp_user_timeout = d->count() < 0 ? Nanos(0) : *d;
  }
  if (v.contains("linger")) {
    DurationRule rule{Nanos(0), std::chrono::seconds(std::numeric_limits<int>::max()), std::chrono::seconds(1),
                      "whole seconds (the kernel takes seconds; \"0s\" means RST on close)", true};
    if (auto d = get_off_or_duration(ctx, v["linger"], child(p, "linger"), rule))
      o.linger = d->count() < 0 ? std::optional<Nanos>() : std::optional<Nanos>(*d);
  }
  for (const char* key : {"rcvtimeo", "sndtimeo"}) {
    if (!v.contains(key)) continue;
    DurationRule rule{std::chrono::microseconds(1), std::chrono::hours(24 * 30), std::chrono::microseconds(1),
                      "whole microseconds (the kernel takes microseconds)", true};
    if (auto d = get_off_or_duration(ctx, v[key], child(p, key), rule))
      (std::string(key) == "rcvtimeo" ? o.rcvtimeo : o.sndtimeo) = d->count() < 0 ? Nanos(0) : *d;
  }
  const std::pair<const char*, std::optional<bool>*> bools[] = {{"nodelay", &o.nodelay},
                                                                {"quickack", &o.quickack},
                                                                {"reuseaddr", &o.reuseaddr},
                                                                {"reuseport", &o.reuseport},
                                                                {"bind_address_no_port", &o.bind_address_no_port}};
  for (const auto& [key, field] : bools)
    if (v.contains(key))
      if (auto b = get_bool(ctx, v[key], child(p, key))) *field = *b;
  if (v.contains("syn_count"))
    if (auto n = get_int(ctx, v["syn_count"], child(p, "syn_count"), 1, 127)) o.syn_count = static_cast<int>(*n);
  if (v.contains("rcvbuf"))
    if (auto n = get_int(ctx, v["rcvbuf"], child(p, "rcvbuf"), 1, std::numeric_limits<int>::max()))
      o.rcvbuf = static_cast<int>(*n);
  if (v.contains("sndbuf"))
    if (auto n = get_int(ctx, v["sndbuf"], child(p, "sndbuf"), 1, std::numeric_limits<int>::max()))
      o.sndbuf = static_cast<int>(*n);
  if (v.contains("defer_accept")) {
    // TCP_DEFER_ACCEPT (tcp(7)): a listener wakes accept() only when data arrives, or when the
    // kernel gives up after this long (converted to SYN-ACK retransmissions, whole seconds).
    DurationRule rule{std::chrono::seconds(1), std::chrono::seconds(std::numeric_limits<int>::max()),
                      std::chrono::seconds(1), "whole seconds, at least 1s (the kernel takes seconds)", true};
    if (auto d = get_off_or_duration(ctx, v["defer_accept"], child(p, "defer_accept"), rule))
      o.defer_accept = d->count() < 0 ? Nanos(0) : *d;
  }
  if (v.contains("raw")) {
    const auto& raw = v["raw"];
    std::string rp = child(p, "raw");
    if (!raw.is_array()) {
      ctx.add(rp, "expected a list of {\"level\": 6, \"name\": 18, \"int\": 10000}; got " + describe_json(raw));
    } else {
      for (size_t i = 0; i < raw.size(); ++i) {
        std::string ip = child(rp, i);
        if (!check_object(ctx, raw[i], ip, {"level", "name", "int"}, "a raw socket option")) continue;
        RawSocketOption r;
        bool ok = true;
        for (const char* key : {"level", "name", "int"}) {
          if (!raw[i].contains(key)) {
            ctx.add(ip, std::string("expected a \"") + key + "\" key in a raw socket option {\"level\": 6, \"name\": 18, \"int\": 10000}");
            ok = false;
            continue;
          }
          int64_t lo = std::string(key) == "int" ? std::numeric_limits<int>::min() : 0;
          auto n = get_int(ctx, raw[i][key], child(ip, key), lo, std::numeric_limits<int>::max());
          if (!n) {
            ok = false;
            continue;
          }
          (std::string(key) == "level" ? r.level : std::string(key) == "name" ? r.name : r.int_value) = static_cast<int>(*n);
        }
        if (ok) o.raw.push_back(r);
      }
    }
  }
  return o;
}

ServerSpec parse_server(const json& v, std::vector<InputIssue>& issues, const std::string& file,
                        const std::string& pointer) {
  Ctx ctx{file, issues};
  ServerSpec s;
  const std::string& p = pointer;
  const bool upstream_server = pointer == "/upstream_server";
  const Keys keys = upstream_server
                        ? Keys{"on", "port", "behavior", "socket", "close", "response", "framing", "command", "files",
                               "half_close_after", "idle_timeout"}
                        : Keys{"on", "port", "behavior", "socket", "close", "response", "framing", "command", "upstream",
                               "files", "half_close_after", "idle_timeout"};
  if (upstream_server) s.port = 7001;  // default: next to the server's default 7000
  if (!check_object(ctx, v, p, keys, upstream_server ? "the upstream server" : "the server")) return s;
  if (v.contains("on"))
    if (auto h = get_string(ctx, v["on"], child(p, "on"), "the host the server runs on")) s.on = *h;
  if (v.contains("port"))
    if (auto n = get_int(ctx, v["port"], child(p, "port"), 1, 65535)) s.port = static_cast<int>(*n);
  if (v.contains("behavior")) {
    if (upstream_server) {
      if (auto b = get_enum<ServerBehavior>(ctx, v["behavior"], child(p, "behavior"), "an upstream server behavior",
                                            {ServerBehavior::echo, ServerBehavior::sink, ServerBehavior::stall,
                                             ServerBehavior::hold, ServerBehavior::respond, ServerBehavior::command}))
        s.behavior = *b;
    } else if (auto b = get_enum<ServerBehavior>(ctx, v["behavior"], child(p, "behavior"), "a server behavior")) {
      s.behavior = *b;
    }
  }
  const std::string behavior_name = name_string(s.behavior);
  if (v.contains("socket")) s.socket = parse_socket_options(v["socket"], child(p, "socket"), issues, file);
  if (v.contains("close"))
    if (auto c = get_enum<CloseMode>(ctx, v["close"], child(p, "close"), "a close policy")) {
      s.close = *c;
      if (s.close == CloseMode::after_response && s.behavior != ServerBehavior::respond)
        ctx.add(child(p, "close"), "\"after-response\" needs behavior \"respond\"; got behavior \"" + behavior_name + "\"");
    }
  if (v.contains("response")) {
    if (s.behavior != ServerBehavior::respond)
      ctx.add(child(p, "response"), "\"response\" is for behavior \"respond\" only; got behavior \"" + behavior_name + "\"");
    else if (auto r = get_string(ctx, v["response"], child(p, "response"), "the bytes written back"))
      s.response = *r;
  }
  if (v.contains("framing")) {
    if (s.behavior != ServerBehavior::respond)
      ctx.add(child(p, "framing"), "\"framing\" is for behavior \"respond\" only; got behavior \"" + behavior_name + "\"");
    else if (auto f = get_enum(ctx, v["framing"], child(p, "framing"), {"line", "http"},
                               "a request framing (line: a response per line; http: per request, ending at an empty line)"))
      s.http_framing = *f == "http";
  }
  if (s.behavior == ServerBehavior::command) {
    if (!v.contains("command"))
      ctx.add(p, "expected a \"command\" key for behavior \"command\": the server's argv, e.g. [\"nginx\", \"-c\", "
                 "\"{dir}/nginx.conf\"]");
    else if (auto argv = get_argv(ctx, v["command"], child(p, "command")))
      s.command = *argv;
  } else if (v.contains("command")) {
    ctx.add(child(p, "command"), "\"command\" is for behavior \"command\" only; got behavior \"" + behavior_name + "\"");
  }
  if (v.contains("files")) {
    if (s.behavior != ServerBehavior::command)
      ctx.add(child(p, "files"), "\"files\" (config templates of a command) is for behavior \"command\" only; got "
                                 "behavior \"" + behavior_name + "\"");
    else
      s.files = parse_command_files(v["files"], child(p, "files"), file, issues);
  }
  for (const char* key : {"half_close_after", "idle_timeout"}) {
    if (!v.contains(key)) continue;
    const bool agent = s.behavior != ServerBehavior::command && s.behavior != ServerBehavior::proxy;
    if (!agent) {
      ctx.add(child(p, key), std::string("\"") + key + "\" is for the agent's own behaviors (echo, sink, stall, hold, "
                                 "respond); got behavior \"" + behavior_name + "\"");
      continue;
    }
    const bool half = std::string(key) == "half_close_after";
    DurationRule rule{half ? Nanos(0) : Nanos(std::chrono::milliseconds(1)), std::chrono::hours(24),
                      std::chrono::microseconds(1), "whole microseconds", false};
    if (auto d = get_duration(ctx, v[key], child(p, key), rule)) (half ? s.half_close_after : s.idle_timeout) = *d;
  }
  if (s.behavior == ServerBehavior::proxy) {
    if (!v.contains("upstream"))
      ctx.add(p, "expected an \"upstream\" key for behavior \"proxy\": \"host:port\" to forward to, e.g. \"server:7000\"");
    else if (auto hp = get_host_port(ctx, v["upstream"], child(p, "upstream")))
      s.upstream = v["upstream"].get<std::string>();
  } else if (v.contains("upstream")) {
    ctx.add(child(p, "upstream"), "\"upstream\" is for behavior \"proxy\" only; got behavior \"" + behavior_name + "\"");
  }
  return s;
}

ClientSpec parse_client(const json& v, std::vector<InputIssue>& issues, const std::string& file) {
  Ctx ctx{file, issues};
  ClientSpec c;
  const std::string p = "/client";
  if (!check_object(ctx, v, p, {"on", "connect", "workload", "socket", "app_timeout", "connect_timeout", "files"},
                    "the client"))
    return c;
  if (v.contains("on"))
    if (auto h = get_string(ctx, v["on"], child(p, "on"), "the host the client runs on")) c.on = *h;
  if (v.contains("connect"))
    if (auto hp = get_host_port(ctx, v["connect"], child(p, "connect"), &c.connect_ipv6)) {
      c.connect_host = hp->first;
      c.connect_port = hp->second;
    }
  if (v.contains("workload")) c.workload = parse_workload(ctx, v["workload"], child(p, "workload"));
  if (v.contains("socket")) c.socket = parse_socket_options(v["socket"], child(p, "socket"), issues, file);
  DurationRule positive{std::chrono::milliseconds(1), std::chrono::hours(24), std::chrono::milliseconds(1),
                        "whole milliseconds (poll takes milliseconds)", false};
  if (v.contains("app_timeout"))  // "off" = no application timeout (the default), handy as a matrix value
    if (auto d = get_off_or_duration(ctx, v["app_timeout"], child(p, "app_timeout"), positive))
      if (d->count() >= 0) c.app_timeout = *d;
  if (v.contains("connect_timeout"))
    if (auto d = get_duration(ctx, v["connect_timeout"], child(p, "connect_timeout"), positive)) c.connect_timeout = *d;
  if (v.contains("files")) {
    if (c.workload.kind != WorkloadKind::command)
      ctx.add(child(p, "files"), "\"files\" (config templates of a command) is for a \"command\" workload only; got "
                                 "kind \"" + name_string(c.workload.kind) + "\"");
    else
      c.files = parse_command_files(v["files"], child(p, "files"), file, issues);
  }
  return c;
}

void validate_scenario_value(const json& value, const std::string& file, std::vector<InputIssue>& issues,
                             Scenario* out) {
  Ctx ctx{file, issues};
  Scenario s;
  s.file = file;
  s.dir = scenario_dir_of(file);
  s.document = value;
  const Keys top = {"$schema", "name",    "description",  "hosts",  "links",  "server", "upstream_server", "client",
                    "faults",  "deadline", "observe",     "sample_every", "capture", "link_backend", "seed", "family",
                    "repeat",  "matrix",   "expect",      "requires"};
  if (!check_object(ctx, value, "", top, "the scenario")) {
    if (out) *out = std::move(s);
    return;
  }
  const json& v = value;
  // name, description
  if (!v.contains("name")) {
    ctx.add("", "expected a \"name\" key (lowercase letters, digits and '-', e.g. \"half-open-busy-sender\")");
  } else if (auto n = get_string(ctx, v["name"], "/name", "the scenario name")) {
    bool ok = !n->empty() && (((*n)[0] >= 'a' && (*n)[0] <= 'z') || ((*n)[0] >= '0' && (*n)[0] <= '9')) &&
              std::all_of(n->begin(), n->end(),
                          [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
    if (!ok)
      ctx.add("/name", "expected a name of lowercase letters, digits and '-' that starts with a letter or digit, e.g. "
                       "\"half-open-busy-sender\"; got \"" + *n + "\"");
    else
      s.name = *n;
  }
  if (v.contains("$schema")) get_string(ctx, v["$schema"], "/$schema", "the schema editors use; ignored");
  if (v.contains("description"))
    if (auto d = get_string(ctx, v["description"], "/description", "a free text description")) s.description = *d;

  // hosts and links
  const bool hosts_given = v.contains("hosts");
  // Sets for the lookups and bounded lists in messages: a file may list thousands of links.
  std::vector<std::string> names;
  std::set<std::string> name_set;
  auto declared = [&](const std::string& h) { return name_set.count(h) > 0; };
  auto declare = [&](const std::string& h) {
    names.push_back(h);
    name_set.insert(h);
  };
  auto declared_list = [&] {
    if (names.size() <= 10) return join_quoted(names);
    return join_quoted(Keys(names.begin(), names.begin() + 10), ", ") + " and " + std::to_string(names.size() - 10) +
           " more";
  };
  if (hosts_given) {
    const auto& hosts = v["hosts"];
    if (!hosts.is_object()) {
      ctx.add("/hosts", "expected an object of host name -> {\"sysctl\": {...}}, e.g. {\"client\": {}, \"server\": {}}; got " +
                            describe_json(hosts));
    } else {
      for (const auto& [name, spec] : hosts.items()) {
        std::string hp = child("/hosts", name);
        if (!valid_host_name(name)) {
          ctx.add(hp, "expected a host name of lowercase letters, digits and '-', starting with a letter, at most 15 "
                      "characters; got \"" + name + "\"");
          continue;
        }
        declare(name);
        s.hosts.push_back(parse_host(ctx, name, spec, hp));
      }
    }
  } else {
    declare("client");
    declare("server");
    s.hosts = {HostSpec{"client", {}}, HostSpec{"server", {}}};
  }
  if (v.contains("links")) {
    const auto& links = v["links"];
    if (!links.is_array()) {
      ctx.add("/links", "expected a list of [hostA, hostB] pairs, e.g. [[\"client\", \"proxy\"], [\"proxy\", \"server\"]]; got " +
                            describe_json(links));
    } else {
      std::set<std::pair<std::string, std::string>> listed;
      for (size_t i = 0; i < links.size(); ++i) {
        std::string lp = child("/links", i);
        const auto& l = links[i];
        // A link is a pair, or an object {"between": [a, b], <impairments>}.
        const bool object = l.is_object();
        const json& pair = object && l.contains("between") ? l["between"] : l;
        const std::string pp = object ? child(lp, "between") : lp;
        if (object && !l.contains("between")) {
          ctx.add(lp, "expected a \"between\" key: the two hosts of the link, e.g. [\"client\", \"server\"]");
          continue;
        }
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
          ctx.add(pp, "expected a pair of host names like [\"client\", \"server\"] (or a link object {\"between\": "
                      "[\"client\", \"server\"], \"delay\": \"25ms\"}); got " +
                          (pair.is_array() ? quote_json(pair) : describe_json(pair)));
          continue;
        }
        std::string a = pair[0].get<std::string>(), b = pair[1].get<std::string>();
        bool ok = true;
        for (size_t k = 0; k < 2; ++k) {
          const std::string& h = k == 0 ? a : b;
          if (declared(h)) continue;
          if (!hosts_given && valid_host_name(h)) {
            declare(h);
            s.hosts.push_back(HostSpec{h, {}});
            continue;
          }
          ctx.add(child(pp, k), "expected a declared host (" + declared_list() + "); got \"" + h + "\"" +
                                    (hosts_given ? " — add it to hosts" : ""));
          ok = false;
        }
        if (!ok) continue;
        if (a == b) {
          ctx.add(pp, "expected two different hosts in a link; got [\"" + a + "\", \"" + a + "\"]");
          continue;
        }
        if (!listed.insert(a < b ? std::make_pair(a, b) : std::make_pair(b, a)).second) {
          ctx.add(pp, "expected each link once; [\"" + a + "\", \"" + b + "\"] is already listed");
          continue;
        }
        LinkSpec link{a, b, std::nullopt, std::nullopt, json::object(), json::object(), ""};
        if (object) parse_link_impairments(ctx, l, lp, link);
        s.links.push_back(std::move(link));
      }
    }
  } else if (!hosts_given || (declared("client") && declared("server"))) {
    s.links = {LinkSpec{"client", "server", std::nullopt, std::nullopt, json::object(), json::object(), ""}};
  } else if (v["hosts"].is_object()) {
    ctx.add("/hosts", "expected hosts \"client\" and \"server\" for the default link [[\"client\", \"server\"]]; "
                      "declare them or give \"links\"");
  }
  // Every host must be reachable from every other through links.
  if (names.size() > 1 && (v.contains("links") ? v["links"].is_array() : true)) {
    std::map<std::string, std::string> parent;
    for (const auto& n : names) parent[n] = n;
    auto find = [&](std::string x) {  // iterative with path halving: a chain may be thousands long
      while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
      }
      return x;
    };
    for (const auto& link : s.links)
      if (parent.count(link.a) && parent.count(link.b)) parent[find(link.a)] = find(link.b);
    for (const auto& n : names)
      if (find(n) != find(names[0])) {
        ctx.add(hosts_given ? child("/hosts", n) : "/links",
                "host \"" + n + "\" is not connected to \"" + names[0] + "\" by links; add a link so every host "
                "reaches every other");
      }
  }
  auto check_host = [&](const std::string& host, const std::string& pointer) {
    if (!declared(host))
      ctx.add(pointer, "expected a declared host (" + declared_list() + "); got \"" + host + "\"" +
                           (hosts_given ? " — add it to hosts" : ""));
  };

  if (v.contains("server")) {
    s.server = parse_server(v["server"], issues, file);
    if (v["server"].is_object()) {
      if (v["server"].contains("on") && v["server"]["on"].is_string()) check_host(s.server.on, "/server/on");
      if (!s.server.upstream.empty()) check_host(s.server.upstream_host(), "/server/upstream");
    }
  }
  if (!v.contains("server") || !v["server"].contains("on")) check_host(s.server.on, v.contains("server") ? "/server" : "");
  if (v.contains("upstream_server")) {
    s.upstream_server = parse_server(v["upstream_server"], issues, file, "/upstream_server");
    const json& u = v["upstream_server"];
    if (u.is_object()) {
      if (u.contains("on") && u["on"].is_string()) check_host(s.upstream_server->on, "/upstream_server/on");
      else check_host(s.upstream_server->on, "/upstream_server");
      if (s.upstream_server->on == s.server.on && s.upstream_server->port == s.server.port)
        ctx.add("/upstream_server/port", "expected a port other than the server's (" + std::to_string(s.server.port) +
                                             ") on the same host \"" + s.server.on + "\"");
    }
  }
  if (v.contains("client")) s.client = parse_client(v["client"], issues, file);
  const bool connect_given = v.contains("client") && v["client"].is_object() && v["client"].contains("connect");
  if (!connect_given) {
    s.client.connect_host = s.server.on;
    s.client.connect_port = s.server.port;
  } else if (v["client"]["connect"].is_string()) {
    check_host(s.client.connect_host, "/client/connect");
  }
  if (v.contains("client") && v["client"].is_object() && v["client"].contains("on") && v["client"]["on"].is_string())
    check_host(s.client.on, "/client/on");
  else
    check_host(s.client.on, v.contains("client") ? "/client" : "");

  if (v.contains("faults")) {
    const auto& faults = v["faults"];
    if (!faults.is_array()) {
      ctx.add("/faults", "expected a list of faults like [{\"kind\": \"blackhole\", \"on\": \"server\", \"at\": \"500ms\"}]; got " +
                             describe_json(faults));
    } else {
      for (size_t i = 0; i < faults.size(); ++i) {
        std::string fp = child("/faults", i);
        Fault f = parse_fault(ctx, faults[i], fp);
        const bool on_link = faults[i].is_object() && faults[i].contains("link");
        if (faults[i].is_object() && faults[i].contains("on") && faults[i]["on"].is_string())
          check_host(f.on, child(fp, "on"));
        else if (faults[i].is_object() && !on_link)
          check_host(f.on, fp);
        if (f.kind == FaultKind::impair && faults[i].is_object()) resolve_impair(ctx, faults[i], fp, s.links, f);
        s.faults.push_back(std::move(f));
      }
    }
  }
  if (v.contains("deadline"))
    if (auto d = get_duration(ctx, v["deadline"], "/deadline", {std::chrono::milliseconds(1), std::chrono::hours(24)}))
      s.deadline = *d;
  if (v.contains("observe"))
    if (auto d = get_duration(ctx, v["observe"], "/observe", {Nanos(0), std::chrono::hours(24)})) s.observe = *d;
  if (v.contains("sample_every"))
    if (auto d = get_duration(ctx, v["sample_every"], "/sample_every",
                              {std::chrono::milliseconds(10), std::chrono::minutes(10)}))
      s.sample_every = *d;
  if (v.contains("seed")) {
    if (!v["seed"].is_number_unsigned() && !(v["seed"].is_number_integer() && v["seed"].get<int64_t>() >= 0))
      ctx.add("/seed", "expected a whole number of 0 or more (the emulated links' random seed); got " + describe_json(v["seed"]));
    else
      s.seed = v["seed"].get<uint64_t>();
  }
  if (v.contains("link_backend"))
    if (auto b = get_enum<LinkBackend>(ctx, v["link_backend"], "/link_backend", "a link backend")) s.link_backend = *b;
  if (v.contains("family"))
    if (auto f = get_enum<IpFamily>(ctx, v["family"], "/family", "an address family")) s.family = *f;
  if (s.client.connect_ipv6 && s.family == IpFamily::ipv4)
    ctx.add("/client/connect", "\"[host]:port\" connects over IPv6: set \"family\" to \"ipv6\" or \"dual\"");
  if (s.family == IpFamily::ipv6) s.client.connect_ipv6 = true;
  if (v.contains("capture")) {
    const json& c = v["capture"];
    if (c.is_boolean()) {
      s.capture.enabled = c.get<bool>();
    } else if (check_object(ctx, c, "/capture", {"snaplen", "max_bytes"}, "the capture settings (or true / false)")) {
      if (c.contains("snaplen"))
        if (auto n = get_int(ctx, c["snaplen"], "/capture/snaplen", 64, 65535)) s.capture.snaplen = static_cast<int>(*n);
      if (c.contains("max_bytes")) {
        std::string why;
        if (!c["max_bytes"].is_string()) {
          ctx.add("/capture/max_bytes", "expected a size string like \"4MiB\"; got " + describe_json(c["max_bytes"]));
        } else if (auto b = parse_byte_size(c["max_bytes"].get<std::string>(), &why)) {
          if (*b < 64 * 1024 || *b > (int64_t{1} << 30))
            ctx.add("/capture/max_bytes", "expected a size from 64KiB to 1GiB per host; got \"" +
                                              c["max_bytes"].get<std::string>() + "\"");
          else
            s.capture.max_bytes = *b;
        } else {
          ctx.add("/capture/max_bytes", why);
        }
      }
    }
  }
  if (v.contains("repeat"))
    if (auto n = get_int(ctx, v["repeat"], "/repeat", 1, 1000)) s.repeat = static_cast<int>(*n);
  if (v.contains("matrix")) parse_matrix(ctx, v["matrix"], "/matrix", s.matrix);
  if (v.contains("expect")) {
    const auto& expect = v["expect"];
    if (!expect.is_array()) {
      ctx.add("/expect", "expected a list of checks like [{\"detected_within\": \"3s\"}]; got " + describe_json(expect));
    } else {
      for (size_t i = 0; i < expect.size(); ++i) {
        std::string ep = child("/expect", i);
        Expectation e = parse_expectation(ctx, expect[i], ep);
        if (expect[i].is_object() && expect[i].contains("host") && expect[i]["host"].is_string())
          check_host(e.host, child(ep, "host"));
        else if (expect[i].is_object())
          check_host(e.host, ep);
        // A TIME_WAIT lifetime can only be judged while the census still samples: a limit
        // longer than the observation would pass (or fail) without ever being seen.
        std::vector<std::pair<std::string, std::optional<Nanos>>> limits = {
            {"time_wait_cleared_after", e.time_wait_cleared_after}, {"time_wait_cleared_within", e.time_wait_cleared_within}};
        for (const auto& [state, d] : e.cleared_after) limits.emplace_back("cleared_after/" + state, d);
        for (const auto& [state, d] : e.cleared_within) limits.emplace_back("cleared_within/" + state, d);
        for (const auto& [key, limit] : limits)
          if (limit && *limit > s.observe)
            ctx.add(ep + "/" + key, std::string(key) + " " + format_duration(*limit) +
                                        " cannot be judged: the census stops sampling " + format_duration(s.observe) +
                                        " after the workload ends (\"observe\"); set \"observe\" to at least " +
                                        format_duration(*limit) + " (TIME_WAIT lasts 60 s)");
        s.expect.push_back(std::move(e));
      }
    }
  }
  if (v.contains("requires")) s.required_programs = parse_required_programs(v["requires"], "/requires", file, issues);
  validate_commands(v, s, names, issues);
  if (out) *out = std::move(s);
}

}  // namespace sockchaos::harness
