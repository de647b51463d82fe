#include "reports/html.hpp"

#include <algorithm>
#include <functional>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "reports/html_assets.hpp"
#include "reports/report_util.hpp"
#include "reports/svg_chart.hpp"

namespace sockchaos::reports {

namespace {

using harness::CellResult;
using harness::Outcome;
using harness::Results;
using harness::RunResult;
using harness::ScenarioResult;
using svg::Scale;
using svg::ScaleKind;

using SocketCounts = harness::Ordered<harness::Ordered<int64_t>>;  // host -> state -> count

std::string esc(std::string_view text) { return html_escape(text); }
std::string num(double value, int decimals = 1) { return format_number(value, decimals); }
std::string px(double value) { return svg::coordinate(value); }

constexpr size_t kMaxEventRows = 1000;
constexpr size_t kMaxEventMarkers = 150;
constexpr size_t kMaxOutputChars = 32 * 1024;

// ---- socket-state palette ------------------------------------------------------------------

const std::vector<std::string>& state_order() {
  static const std::vector<std::string> order = {
      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT",
      "LAST_ACK",    "CLOSING",  "TIME_WAIT", "CLOSE"};
  return order;
}

std::string state_color(const std::string& state) {
  static const std::map<std::string, std::string> colors = {
      {"ESTABLISHED", "#1f77b4"}, {"SYN_SENT", "#2ca02c"},  {"SYN_RECV", "#17becf"},
      {"FIN_WAIT1", "#9467bd"},   {"FIN_WAIT2", "#8c564b"}, {"CLOSE_WAIT", "#d62728"},
      {"LAST_ACK", "#e377c2"},    {"CLOSING", "#7f7f7f"},   {"TIME_WAIT", "#ff7f0e"},
      {"CLOSE", "#bcbd22"}};
  auto it = colors.find(state);
  return it == colors.end() ? "#555" : it->second;
}

std::string host_dash(size_t host_index) {
  static const char* dashes[] = {"", "7 4", "2 3", "9 3 2 3"};
  return dashes[host_index % 4];
}

size_t state_rank(const std::string& state) {
  const auto& order = state_order();
  auto it = std::find(order.begin(), order.end(), state);
  return static_cast<size_t>(it - order.begin());
}

// ---- time axis -----------------------------------------------------------------------------

std::string time_label(double ms, double span_ms) {
  if (span_ms < 2000) return num(ms, 0) + " ms";
  return num(ms / 1000, 2) + " s";
}

struct Frame {
  double width = 1000, height = 260;
  double left = 58, right = 770, top = 30, bottom = 230;
};

// Grid, x axis (time) and left y axis; `y_label` names the left axis.
void draw_axes(std::string& out, const Frame& f, const Scale& x, const Scale& y,
               const std::string& y_label, bool y_is_count) {
  out += "<g class=\"axes\">";
  std::string grid, labels;
  for (double tick : svg::ticks(y, 5)) {
    if (y_is_count && tick != std::floor(tick)) continue;
    double py = y(tick);
    grid += "M" + px(f.left) + " " + px(py) + "H" + px(f.right);
    labels += "<text x=\"" + px(f.left - 6) + "\" y=\"" + px(py + 4) + "\" text-anchor=\"end\">" +
              (y_is_count ? num(tick, 0) : num(tick, 2)) + "</text>";
  }
  double span = x.hi - x.lo;
  for (double tick : svg::ticks(x, 8)) {
    double pxx = x(tick);
    grid += "M" + px(pxx) + " " + px(f.top) + "V" + px(f.bottom);
    labels += "<text x=\"" + px(pxx) + "\" y=\"" + px(f.bottom + 16) +
              "\" text-anchor=\"middle\">" + esc(time_label(tick, span)) + "</text>";
  }
  out += "<path class=\"grid\" d=\"" + grid + "\"/><g class=\"tick\">" + labels + "</g>";
  out += "<rect class=\"frame\" x=\"" + px(f.left) + "\" y=\"" + px(f.top) + "\" width=\"" +
         px(f.right - f.left) + "\" height=\"" + px(f.bottom - f.top) + "\"/>";
  out += "<text class=\"axis-label\" x=\"" + px(f.left - 44) + "\" y=\"" + px(f.top - 12) +
         "\">" + esc(y_label) + "</text>";
  out += "</g>";
}

// ---- timeline data -------------------------------------------------------------------------

struct Sample {
  double t;
  const SocketCounts* sockets;
};

struct Event {
  double t;
  std::string event, detail;
};

struct FaultWindow {
  double start, end;
  bool healed;
  std::string label;
};

struct RunTimeline {
  std::vector<Sample> samples;
  std::vector<Event> events;
  std::vector<FaultWindow> faults;
  double t_min = 0, t_max = 0;
};

// When the client's failing call returned, on the timeline's clock (t_ms 0: workload ready):
// detection_ms counts from the first fault, or from the workload's start (detection_origin).
std::optional<double> detection_time(const RunResult& run) {
  if (!run.detection_ms) return std::nullopt;
  if (run.detection_origin == harness::DetectionOrigin::start) return *run.detection_ms;
  if (!run.fault_ms) return std::nullopt;
  return *run.fault_ms + *run.detection_ms;
}

RunTimeline read_timeline(const RunResult& run) {
  RunTimeline timeline;
  for (const harness::TimelineEntry& entry : run.timeline) {
    if (entry.is_sample()) {
      timeline.samples.push_back({entry.t_ms, &*entry.sockets});
    } else {
      timeline.events.push_back({entry.t_ms, entry.event, entry.detail});
    }
  }
  std::stable_sort(timeline.samples.begin(), timeline.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.t < b.t; });
  std::stable_sort(timeline.events.begin(), timeline.events.end(),
                   [](const Event& a, const Event& b) { return a.t < b.t; });

  double t_max = 0, t_min = 0;
  for (const Sample& s : timeline.samples) t_max = std::max(t_max, s.t), t_min = std::min(t_min, s.t);
  for (const Event& e : timeline.events) t_max = std::max(t_max, e.t), t_min = std::min(t_min, e.t);
  if (run.probes.series) {
    for (const harness::ProbeWindow& window : *run.probes.series) t_max = std::max(t_max, window.t_ms);
  }
  if (auto t = detection_time(run)) t_max = std::max(t_max, *t);

  for (const harness::FaultResult& fault : run.faults) {
    if (!fault.installed_ms) continue;  // never installed (the run ended first)
    timeline.faults.push_back({*fault.installed_ms, fault.healed_ms.value_or(NAN), fault.healed_ms.has_value(),
                               fault.label.empty() ? "fault" : fault.label});
    t_max = std::max(t_max, fault.healed_ms.value_or(*fault.installed_ms));
  }
  if (!(t_max > t_min)) t_max = t_min + 1000;
  for (FaultWindow& w : timeline.faults) {
    if (!w.healed) w.end = t_max;
  }
  timeline.t_min = t_min;
  timeline.t_max = t_max;
  return timeline;
}

struct StateSeries {
  std::string host, state;
  size_t host_index = 0;
  double peak = 0;
  std::vector<double> values;  // per (downsampled) point
};

struct StateChartData {
  std::vector<double> times;
  std::vector<StateSeries> series;
  size_t raw_points = 0;
};

double count_at(const SocketCounts& sockets, const std::string& host, const std::string& state) {
  const harness::Ordered<int64_t>* states = harness::find_in(sockets, host);
  if (states == nullptr) return 0;
  const int64_t* count = harness::find_in(*states, state);
  return count ? static_cast<double>(*count) : 0;
}

StateChartData build_state_series(const RunTimeline& timeline, size_t max_points) {
  StateChartData data;
  data.raw_points = timeline.samples.size();
  std::vector<std::string> hosts;
  std::vector<std::pair<std::string, std::string>> keys;
  for (const Sample& s : timeline.samples) {
    for (const auto& [host, states] : *s.sockets) {
      if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
      for (const auto& [state, count] : states) {
        if (state == "LISTEN" || count <= 0) continue;
        std::pair<std::string, std::string> key{host, state};
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
      }
    }
  }
  auto host_index = [&](const std::string& host) {
    return static_cast<size_t>(std::find(hosts.begin(), hosts.end(), host) - hosts.begin());
  };
  std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
    if (host_index(a.first) != host_index(b.first)) return host_index(a.first) < host_index(b.first);
    return state_rank(a.second) < state_rank(b.second);
  });
  for (const auto& [host, state] : keys) {
    StateSeries series;
    series.host = host;
    series.state = state;
    series.host_index = host_index(host);
    data.series.push_back(std::move(series));
  }

  // Downsample: buckets of consecutive samples, each series keeping its bucket maximum so
  // that short peaks (a TIME_WAIT spike, a lone SYN_SENT) survive.
  size_t n = timeline.samples.size();
  size_t buckets = std::min(n, max_points);
  for (size_t b = 0; b < buckets; ++b) {
    size_t first = b * n / buckets, last = (b + 1) * n / buckets;
    data.times.push_back(timeline.samples[first].t);
    for (StateSeries& series : data.series) {
      double peak = 0;
      for (size_t i = first; i < last; ++i) {
        peak = std::max(peak, count_at(*timeline.samples[i].sockets, series.host, series.state));
      }
      series.values.push_back(peak);
      series.peak = std::max(series.peak, peak);
    }
  }
  return data;
}

// ---- timeline chart ------------------------------------------------------------------------

void draw_fault_windows(std::string& out, const Frame& f, const Scale& x,
                        const std::vector<FaultWindow>& faults, bool labels) {
  int row = 0;
  for (const FaultWindow& w : faults) {
    double x0 = x(w.start), x1 = std::max(x(w.end), x0 + 1.5);
    std::string title = w.label + ": " + num(w.start) + " ms" +
                        (w.healed ? " to " + num(w.end) + " ms" : ", never healed");
    out += "<g class=\"fault\"><title>" + esc(title) + "</title><rect x=\"" + px(x0) +
           "\" y=\"" + px(f.top) + "\" width=\"" + px(x1 - x0) + "\" height=\"" +
           px(f.bottom - f.top) + "\"/>";
    out += "<line x1=\"" + px(x0) + "\" x2=\"" + px(x0) + "\" y1=\"" + px(f.top) + "\" y2=\"" +
           px(f.bottom) + "\"/>";
    if (labels) {
      std::string label = w.label.size() > 48 ? w.label.substr(0, 45) + "..." : w.label;
      out += "<text x=\"" + px(x0 + 4) + "\" y=\"" + px(f.top + 12 + 12 * (row % 3)) + "\">" +
             esc(label) + "</text>";
    }
    out += "</g>";
    ++row;
  }
}

struct LegendEntry {
  std::string label, color, dash;
  enum Kind { line, area, marker, bar } kind = line;
};

void draw_legend(std::string& out, double x, double y, const std::vector<LegendEntry>& entries) {
  out += "<g class=\"legend\">";
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    double row = y + 16.0 * static_cast<double>(i);
    out += "<g>";
    switch (e.kind) {
      case LegendEntry::line:
        out += "<line x1=\"" + px(x) + "\" x2=\"" + px(x + 22) + "\" y1=\"" + px(row) +
               "\" y2=\"" + px(row) + "\" stroke=\"" + e.color + "\" stroke-width=\"2\"" +
               (e.dash.empty() ? "" : " stroke-dasharray=\"" + e.dash + "\"") + "/>";
        break;
      case LegendEntry::area:
        out += "<rect x=\"" + px(x) + "\" y=\"" + px(row - 6) +
               "\" width=\"22\" height=\"12\" class=\"fault-swatch\"/>";
        break;
      case LegendEntry::marker:
        out += "<line x1=\"" + px(x + 11) + "\" x2=\"" + px(x + 11) + "\" y1=\"" + px(row - 7) +
               "\" y2=\"" + px(row + 7) + "\" class=\"error-line\"/>";
        break;
      case LegendEntry::bar:
        out += "<rect x=\"" + px(x + 6) + "\" y=\"" + px(row - 6) +
               "\" width=\"10\" height=\"12\" fill=\"" + e.color + "\"/>";
        break;
    }
    out += "<text x=\"" + px(x + 28) + "\" y=\"" + px(row + 4) + "\">" + esc(e.label) +
           "</text></g>";
  }
  out += "</g>";
}

// The client's error: vertical line and "ETIMEDOUT after 2208.4 ms".
void draw_client_error(std::string& out, const Frame& f, const Scale& x, const RunResult& run,
                       const RunTimeline& timeline) {
  std::optional<double> t;
  std::string detail;
  for (const Event& e : timeline.events) {
    if (e.event == "client-error") {
      t = e.t;
      detail = e.detail;
      break;
    }
  }
  if (!t) t = detection_time(run);
  if (t) {
    std::string label = run.error.value_or("error");
    if (run.detection_ms) {
      label += " after " + format_ms(run.detection_ms);
      if (run.detection_origin == harness::DetectionOrigin::start) label += " (from the start, before any fault)";
    } else {
      label += " at " + num(*t) + " ms";
    }
    double pxx = x(*t);
    bool anchor_end = pxx > (f.left + f.right) / 2 + 120;
    out += "<g class=\"client-error\"><title>" +
           esc("client error at " + num(*t) + " ms" + (detail.empty() ? "" : ": " + detail)) +
           "</title><line class=\"error-line\" x1=\"" + px(pxx) + "\" x2=\"" + px(pxx) +
           "\" y1=\"" + px(f.top - 6) + "\" y2=\"" + px(f.bottom) + "\"/>";
    out += "<text class=\"error-label\" x=\"" + px(anchor_end ? pxx - 5 : pxx + 5) + "\" y=\"" +
           px(f.top - 10) + "\" text-anchor=\"" + (anchor_end ? "end" : "start") + "\">" +
           esc(label) + "</text></g>";
  } else if (run.outcome == Outcome::undetected && run.fault_ms && run.deadline_ms > 0) {
    double td = *run.fault_ms + run.deadline_ms;
    if (td <= x.hi && td >= x.lo) {
      double pxx = x(td);
      out += "<g class=\"deadline\"><line x1=\"" + px(pxx) + "\" x2=\"" + px(pxx) +
             "\" y1=\"" + px(f.top - 6) + "\" y2=\"" + px(f.bottom) + "\"/><text x=\"" +
             px(pxx - 5) + "\" y=\"" + px(f.top - 10) + "\" text-anchor=\"end\">" +
             esc("deadline " + format_ms_compact(run.deadline_ms) + ": never detected") + "</text></g>";
    }
  }
}

// Other events (ready, observe-end, ...) as small ticks under the x axis, all in one path;
// the event list below the chart has their times and details.
void draw_event_markers(std::string& out, const Frame& f, const Scale& x,
                        const std::vector<Event>& events) {
  std::set<long> drawn;
  std::string d;
  size_t count = 0;
  std::set<std::string> kinds;
  for (const Event& e : events) {
    if (e.event == "fault" || e.event == "heal" || e.event == "client-error") continue;
    ++count;
    kinds.insert(e.event);
    long column = std::lround(x(e.t));
    if (!drawn.insert(column).second || drawn.size() > kMaxEventMarkers) continue;
    d += "M" + std::to_string(column) + " " + svg::whole(f.bottom) + "l-4 7h8z";
  }
  if (d.empty()) return;
  std::string title = std::to_string(count) + " other event" + (count == 1 ? "" : "s") + " (";
  size_t listed = 0;
  for (const std::string& kind : kinds) {
    if (listed++ == 4) {
      title += ", ...";
      break;
    }
    title += (listed > 1 ? ", " : "") + kind;
  }
  title += "); see the event list";
  out += "<path class=\"events\" d=\"" + d + "\"><title>" + esc(title) + "</title></path>";
}

std::string render_timeline_chart(const RunResult& run, const RunTimeline& timeline, size_t max_points) {
  StateChartData data = build_state_series(timeline, max_points);
  Frame f;
  std::vector<LegendEntry> legend;
  std::vector<std::string> hosts;
  for (const StateSeries& s : data.series) {
    legend.push_back({s.host + " " + s.state + " (max " + num(s.peak, 0) + ")",
                      state_color(s.state), host_dash(s.host_index)});
  }
  if (!timeline.faults.empty()) legend.push_back({"fault active", "", "", LegendEntry::area});
  bool has_client_error =
      std::any_of(timeline.events.begin(), timeline.events.end(),
                  [](const Event& e) { return e.event == "client-error"; }) ||
      detection_time(run).has_value();
  if (has_client_error) legend.push_back({"client error", "", "", LegendEntry::marker});
  f.height = std::max(260.0, 40 + 16.0 * static_cast<double>(legend.size()));
  f.bottom = f.height - 30;

  double peak = 0, smallest_peak = INFINITY;
  for (const StateSeries& s : data.series) {
    peak = std::max(peak, s.peak);
    smallest_peak = std::min(smallest_peak, s.peak);
  }
  Scale y;
  y.px_lo = f.bottom;
  y.px_hi = f.top;
  if (peak >= 50 && smallest_peak < peak / 30) {
    y.kind = ScaleKind::symlog;
    y.hi = peak;
  } else {
    y.hi = std::max(2.0, svg::nice_ceiling(peak));
  }
  Scale x{timeline.t_min, timeline.t_max, f.left, f.right, ScaleKind::linear};

  std::string out;
  out += "<svg class=\"timeline chart\" viewBox=\"0 0 " + px(f.width) + " " + px(f.height) +
         "\" role=\"img\" aria-label=\"socket states over time\">";
  draw_axes(out, f, x, y,
            y.kind == ScaleKind::symlog ? "sockets (log scale)" : "sockets", true);
  draw_fault_windows(out, f, x, timeline.faults, true);
  out += "<g class=\"series\">";
  for (const StateSeries& s : data.series) {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < data.times.size(); ++i) {
      xs.push_back(x(data.times[i]));
      // hosts drawn 2 px apart so equal counts (client and server ESTABLISHED) stay visible
      ys.push_back(y(s.values[i]) - 2.0 * static_cast<double>(s.host_index));
    }
    std::string dash = host_dash(s.host_index);
    out += "<path d=\"" + svg::step_path(xs, ys) + "\" stroke=\"" + state_color(s.state) + "\"" +
           (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "><title>" +
           esc(s.host + " " + s.state + ", max " + num(s.peak, 0)) + "</title></path>";
  }
  out += "</g>";
  if (data.series.empty()) {
    out += "<text class=\"empty\" x=\"" + px((f.left + f.right) / 2) + "\" y=\"" +
           px((f.top + f.bottom) / 2) + "\" text-anchor=\"middle\">" +
           (timeline.samples.empty() ? "no socket samples" : "no sockets in any state") +
           "</text>";
  }
  draw_event_markers(out, f, x, timeline.events);
  draw_client_error(out, f, x, run, timeline);
  draw_legend(out, f.right + 16, f.top + 6, legend);
  out += "</svg>";
  if (data.raw_points > data.times.size()) {
    out += "<p class=\"note\">" + std::to_string(data.raw_points) + " samples shown as " +
           std::to_string(data.times.size()) + " points (maximum per interval).</p>";
  }
  return out;
}

// ---- probe charts --------------------------------------------------------------------------

struct ProbePoint {
  double t, attempted, failed;
  std::optional<double> p50, p99;
  double time_wait;
};

std::string render_probe_charts(const RunResult& run, const RunTimeline& timeline, size_t max_points) {
  if (!run.probes.series || run.probes.series->empty()) return "";

  // TIME_WAIT of the host that accumulates the most (the side that closes first).
  std::string tw_host;
  double tw_best = -1;
  for (const Sample& s : timeline.samples) {
    for (const auto& [host, states] : *s.sockets) {
      const int64_t* tw = harness::find_in(states, std::string("TIME_WAIT"));
      double count = tw ? static_cast<double>(*tw) : 0;
      if (count > tw_best) tw_best = count, tw_host = host;
    }
  }
  auto time_wait_at = [&](double t) -> double {
    if (timeline.samples.empty()) return 0;
    auto it = std::upper_bound(timeline.samples.begin(), timeline.samples.end(), t,
                               [](double value, const Sample& s) { return value < s.t; });
    if (it != timeline.samples.begin()) --it;
    return count_at(*it->sockets, tw_host, "TIME_WAIT");
  };

  std::vector<ProbePoint> raw;
  for (const harness::ProbeWindow& window : *run.probes.series) {
    raw.push_back({window.t_ms, static_cast<double>(window.attempted), static_cast<double>(window.failed),
                   window.connect_p50_ms, window.connect_p99_ms, time_wait_at(window.t_ms)});
  }
  std::stable_sort(raw.begin(), raw.end(),
                   [](const ProbePoint& a, const ProbePoint& b) { return a.t < b.t; });

  // Downsample: merge consecutive windows (sum counts, max latencies and TIME_WAIT).
  std::vector<ProbePoint> points;
  size_t n = raw.size(), buckets = std::min(n, max_points);
  for (size_t b = 0; b < buckets; ++b) {
    size_t first = b * n / buckets, last = (b + 1) * n / buckets;
    ProbePoint p = raw[first];
    for (size_t i = first + 1; i < last; ++i) {
      p.attempted += raw[i].attempted;
      p.failed += raw[i].failed;
      if (raw[i].p50) p.p50 = std::max(p.p50.value_or(0), *raw[i].p50);
      if (raw[i].p99) p.p99 = std::max(p.p99.value_or(0), *raw[i].p99);
      p.time_wait = std::max(p.time_wait, raw[i].time_wait);
    }
    points.push_back(p);
  }

  double lat_min = INFINITY, lat_max = 0, tw_max = 0, fail_max = 0;
  for (const ProbePoint& p : points) {
    for (const auto& v : {p.p50, p.p99}) {
      if (v && *v > 0) lat_min = std::min(lat_min, *v), lat_max = std::max(lat_max, *v);
    }
    tw_max = std::max(tw_max, p.time_wait);
    fail_max = std::max(fail_max, p.failed);
  }
  bool have_latency = lat_max > 0;
  if (!have_latency) lat_min = 0.1, lat_max = 1;

  Frame f;
  f.right = 745;
  Scale x{timeline.t_min, timeline.t_max, f.left, f.right, ScaleKind::linear};
  for (const ProbePoint& p : points) x.hi = std::max(x.hi, p.t);
  Scale y_latency;
  y_latency.px_lo = f.bottom;
  y_latency.px_hi = f.top;
  if (lat_max / lat_min >= 20) {
    y_latency.kind = ScaleKind::log;
    y_latency.lo = std::pow(10, std::floor(std::log10(lat_min)));
    y_latency.hi = std::pow(10, std::ceil(std::log10(lat_max)));
  } else {
    y_latency.hi = svg::nice_ceiling(lat_max);
  }
  Scale y_tw{0, std::max(2.0, svg::nice_ceiling(tw_max)), f.bottom, f.top, ScaleKind::linear};
  double band = (f.bottom - f.top) * 0.22;  // failures: bars in the bottom band
  Scale y_fail{0, std::max(1.0, fail_max), f.bottom, f.bottom - band, ScaleKind::linear};

  std::string out = "<div class=\"probe-charts\">";
  out += "<svg class=\"probe-chart chart\" viewBox=\"0 0 " + px(f.width) + " " + px(f.height) +
         "\" role=\"img\" aria-label=\"probe connect latency and TIME_WAIT over time\">";
  draw_axes(out, f, x, y_latency,
            std::string("connect ms") + (y_latency.kind == ScaleKind::log ? " (log)" : ""), false);
  // right axis: TIME_WAIT
  for (double tick : svg::ticks(y_tw, 5)) {
    out += "<text class=\"tick tw\" x=\"" + px(f.right + 6) + "\" y=\"" + px(y_tw(tick) + 4) +
           "\">" + num(tick, 0) + "</text>";
  }
  out += "<text class=\"axis-label tw\" x=\"" + px(f.right - 40) + "\" y=\"" + px(f.top - 12) +
         "\">TIME_WAIT</text>";
  draw_fault_windows(out, f, x, timeline.faults, false);

  double bar_width = std::max(1.0, (f.right - f.left) / static_cast<double>(points.size()) * 0.8);
  // Failures: one path of bars (a title per bar would dominate the report's size).
  std::string bars;
  double failed_total = 0, attempted_total = 0;
  for (const ProbePoint& p : points) {
    attempted_total += p.attempted;
    if (p.failed <= 0) continue;
    failed_total += p.failed;
    double top = y_fail(p.failed);
    bars += "M" + svg::whole(x(p.t) - bar_width / 2) + " " + svg::whole(f.bottom) + "V" +
            svg::whole(top) + "h" + px(bar_width) + "V" + svg::whole(f.bottom) + "z";
  }
  if (!bars.empty()) {
    out += "<path class=\"failures\" d=\"" + bars + "\"><title>" +
           esc(num(failed_total, 0) + " of " + num(attempted_total, 0) +
               " probes failed; the highest bar is " + num(fail_max, 0) + " in one window") +
           "</title></path>";
  }
  std::vector<double> xs, tws;
  for (const ProbePoint& p : points) xs.push_back(x(p.t)), tws.push_back(y_tw(p.time_wait));
  if (tw_max > 0) {
    out += "<path class=\"tw-line\" d=\"" + svg::step_path(xs, tws) + "\"><title>TIME_WAIT on " +
           esc(tw_host) + "</title></path>";
  }
  auto latency_path = [&](bool p99) {
    std::vector<double> lx, ly;
    for (const ProbePoint& p : points) {
      const auto& v = p99 ? p.p99 : p.p50;
      if (v && *v > 0) lx.push_back(x(p.t)), ly.push_back(y_latency(*v));
    }
    return svg::line_path(lx, ly);
  };
  if (have_latency) {
    out += "<path class=\"p50-line\" d=\"" + latency_path(false) +
           "\"><title>connect p50 per window</title></path>";
    out += "<path class=\"p99-line\" d=\"" + latency_path(true) +
           "\"><title>connect p99 per window</title></path>";
  }
  std::vector<LegendEntry> legend = {
      {"connect p50", "#1f77b4", ""},
      {"connect p99", "#d62728", ""},
      {"TIME_WAIT" + (tw_host.empty() ? std::string() : " (" + tw_host + ")"), "#ff7f0e", "5 3"},
      {"failed / window (max " + num(fail_max, 0) + ")", "#c0392b", "", LegendEntry::bar}};
  if (!timeline.faults.empty()) legend.push_back({"fault active", "", "", LegendEntry::area});
  draw_legend(out, f.right + 48, f.top + 6, legend);
  out += "</svg>";

  // Scatter: connect p99 against the TIME_WAIT count at that moment - the port-search slowdown
  // (connect() walking a crowded ephemeral range) shows as latency rising with TIME_WAIT.
  if (have_latency && tw_max > 0) {
    Frame s;
    s.width = 440;
    s.left = 58;
    s.right = 420;
    Scale sx{0, std::max(2.0, svg::nice_ceiling(tw_max)), s.left, s.right, ScaleKind::linear};
    Scale sy = y_latency;
    out += "<svg class=\"probe-scatter chart\" viewBox=\"0 0 " + px(s.width) + " " +
           px(s.height) + "\" role=\"img\" aria-label=\"connect p99 against TIME_WAIT\">";
    out += "<g class=\"axes\">";
    for (double tick : svg::ticks(sy, 5)) {
      out += "<line class=\"grid\" x1=\"" + px(s.left) + "\" x2=\"" + px(s.right) + "\" y1=\"" +
             px(sy(tick)) + "\" y2=\"" + px(sy(tick)) + "\"/><text class=\"tick\" x=\"" +
             px(s.left - 6) + "\" y=\"" + px(sy(tick) + 4) + "\" text-anchor=\"end\">" +
             num(tick, 2) + "</text>";
    }
    for (double tick : svg::ticks(sx, 5)) {
      out += "<line class=\"grid\" x1=\"" + px(sx(tick)) + "\" x2=\"" + px(sx(tick)) +
             "\" y1=\"" + px(s.top) + "\" y2=\"" + px(s.bottom) + "\"/><text class=\"tick\" x=\"" +
             px(sx(tick)) + "\" y=\"" + px(s.bottom + 16) + "\" text-anchor=\"middle\">" +
             num(tick, 0) + "</text>";
    }
    out += "<rect class=\"frame\" x=\"" + px(s.left) + "\" y=\"" + px(s.top) + "\" width=\"" +
           px(s.right - s.left) + "\" height=\"" + px(s.bottom - s.top) + "\"/>";
    out += "<text class=\"axis-label\" x=\"" + px(s.left - 44) + "\" y=\"" + px(s.top - 12) +
           "\">connect p99 ms</text><text class=\"axis-label\" x=\"" + px(s.right) + "\" y=\"" +
           px(s.bottom + 28) + "\" text-anchor=\"end\">TIME_WAIT sockets</text></g><g class=\"dots\">";
    // Dots as zero-length round-capped segments, one path per colour step (time quantised in
    // 8 steps): a few bytes per point instead of an element each.
    double t0 = points.front().t, t1 = std::max(points.back().t, t0 + 1);
    constexpr int kSteps = 8;
    std::string by_step[kSteps], failed_ring;
    for (const ProbePoint& p : points) {
      if (!p.p99 || *p.p99 <= 0) continue;
      int step = std::clamp(static_cast<int>((p.t - t0) / (t1 - t0) * kSteps), 0, kSteps - 1);
      std::string dot = "M" + svg::whole(sx(p.time_wait)) + " " + svg::whole(sy(*p.p99)) + "h0";
      by_step[step] += dot;
      if (p.failed > 0) failed_ring += dot;
    }
    if (!failed_ring.empty()) out += "<path class=\"had-failures\" d=\"" + failed_ring + "\"/>";
    for (int step = 0; step < kSteps; ++step) {
      if (by_step[step].empty()) continue;
      out += "<path stroke=\"" + svg::sequential_color((step + 0.5) / kSteps) + "\" d=\"" +
             by_step[step] + "\"/>";
    }
    out += "</g><text class=\"note-svg\" x=\"" + px(s.right) + "\" y=\"" + px(s.top - 12) +
           "\" text-anchor=\"end\">colour: early (light) to late (dark); red ring: failures</text></svg>";
  }
  out += "</div>";
  return out;
}

// ---- socket view ---------------------------------------------------------------------------
// Scenarios whose expectations are about sockets show those measurements in their overview
// (the rule is in html.hpp).

enum class SocketKind { time_wait, state, cleared, probe_failures };

struct SocketMetric {
  SocketKind kind;
  std::string host, state;
  bool operator==(const SocketMetric& other) const {
    return kind == other.kind && host == other.host && state == other.state;
  }
};

// The check's key: its first word ("time_wait_max 0 (client)" -> "time_wait_max").
std::string check_key(const std::string& check) { return check.substr(0, check.find(' ')); }

bool is_detection_check(const harness::ExpectationResult& e) {
  std::string key = check_key(e.check);
  return key == "detected_within" || key == "detected_after";
}

// What a socket check measures, from its check string (harness/verdict/expectations.hpp):
// "time_wait_max 0 (client)", "states_max CLOSE_WAIT 0 (server)", "probe_failures_max 0",
// "time_wait_cleared_within 65s (client)". nullopt for any other check.
std::optional<SocketMetric> socket_metric(const harness::ExpectationResult& e) {
  const std::string& check = e.check;
  std::string key = check_key(check);
  std::string host = "client";
  if (!check.empty() && check.back() == ')') {
    size_t open = check.rfind('(');
    if (open != std::string::npos) host = check.substr(open + 1, check.size() - open - 2);
  }
  if (key == "time_wait_max" || key == "time_wait_min") return SocketMetric{SocketKind::time_wait, host, "TIME_WAIT"};
  if (key == "time_wait_cleared_after" || key == "time_wait_cleared_within") {
    return SocketMetric{SocketKind::cleared, host, "TIME_WAIT"};
  }
  if (key == "probe_failures_max" || key == "probe_failures_min") return SocketMetric{SocketKind::probe_failures, "", ""};
  if (key == "states_max" || key == "states_min") {
    size_t start = key.size() + 1;
    if (start >= check.size()) return std::nullopt;
    size_t end = check.find(' ', start);
    return SocketMetric{SocketKind::state, host, check.substr(start, end == std::string::npos ? end : end - start)};
  }
  return std::nullopt;
}

bool is_socket_scenario(const ScenarioResult& scenario) {
  bool any_socket_check = false;
  for (const CellResult& cell : scenario.cells) {
    for (const harness::ExpectationResult& e : cell.expectations) {
      if (is_detection_check(e)) return false;
      if (socket_metric(e)) any_socket_check = true;
    }
  }
  return any_socket_check;
}

struct MeasuredMetric {
  std::string text;             // "TIME_WAIT peak 15000", "CLOSE_WAIT 200 (server)", "cleared 61.0 s"
  std::optional<double> value;  // for colour and sorting: the largest of the runs
  std::string group, name;      // colour group (same metric) and its legend name
};

std::string range_text(std::vector<double> values, const std::function<std::string(double)>& format) {
  auto [low, high] = std::minmax_element(values.begin(), values.end());
  if (*low == *high) return format(*low);
  return format(*low) + "\xE2\x80\x93" + format(*high);  // en dash
}

std::string count_text(double value) { return num(value, 0); }

MeasuredMetric measure(const SocketMetric& metric, const std::vector<const RunResult*>& runs) {
  MeasuredMetric out;
  std::string suffix = metric.host.empty() || metric.host == "client" ? "" : " (" + metric.host + ")";
  if (metric.kind == SocketKind::probe_failures) {
    std::vector<double> failures;
    for (const RunResult* run : runs) failures.push_back(static_cast<double>(run->probes.failures()));
    out.text = "probe failures " + range_text(failures, count_text);
    out.value = *std::max_element(failures.begin(), failures.end());
    out.group = out.name = "probe failures";
    return out;
  }
  // Runs whose census of the host produced data.
  std::vector<const harness::HostSockets*> hosts;
  for (const RunResult* run : runs) {
    const harness::HostSockets* h = run->host_sockets(metric.host);
    if (h != nullptr && h->census.samples > 0) hosts.push_back(h);
  }
  if (hosts.empty()) {
    out.text = "no census of " + metric.host;
    return out;
  }
  if (metric.kind == SocketKind::cleared) {
    std::vector<double> cleared;
    size_t not_cleared = 0;
    for (const harness::HostSockets* h : hosts) {
      if (h->time_wait_cleared_ms) {
        cleared.push_back(*h->time_wait_cleared_ms);
      } else if (h->peak_of("TIME_WAIT") > 0) {
        ++not_cleared;
      }
    }
    if (cleared.size() == hosts.size()) {
      out.text = "cleared " + range_text(cleared, format_ms_compact);
    } else if (!cleared.empty()) {
      out.text = "cleared in " + std::to_string(cleared.size()) + "/" + std::to_string(hosts.size()) + " runs";
    } else {
      out.text = not_cleared > 0 ? "not cleared" : "no TIME_WAIT";
    }
    out.text += suffix;
    if (!cleared.empty()) out.value = *std::max_element(cleared.begin(), cleared.end());
    out.group = "cleared " + metric.host;
    out.name = "TIME_WAIT cleared after the workload" + suffix;
    return out;
  }
  std::vector<double> peaks;
  for (const harness::HostSockets* h : hosts) peaks.push_back(static_cast<double>(h->peak_of(metric.state)));
  std::string label = metric.kind == SocketKind::time_wait ? "TIME_WAIT peak" : metric.state;
  out.text = label + " " + range_text(peaks, count_text) + suffix;
  out.value = *std::max_element(peaks.begin(), peaks.end());
  out.group = metric.state + " " + metric.host;
  out.name = label + suffix;
  return out;
}

// A cell of a socket scenario: its socket checks' measurements (first = the headline).
struct SocketCell {
  std::vector<MeasuredMetric> metrics;
  double fraction = -1;  // colour of the headline on its group's scale; < 0: none
  bool shown() const { return !metrics.empty(); }
  std::string joined() const {
    std::string text;
    for (const MeasuredMetric& m : metrics) text += (text.empty() ? "" : " \xC2\xB7 ") + m.text;
    return text;
  }
};

struct SocketScale {
  std::string group, name;
  double hi = 0;
  double fraction(double value) const {
    if (!(hi > 0)) return 0;
    return Scale{0, hi, 0, 1, ScaleKind::symlog}.fraction(value);
  }
};

struct SocketView {
  bool active = false;
  std::vector<SocketCell> cells;    // parallel to the scenario's cells
  std::vector<SocketScale> scales;  // one per headline metric, in order of appearance
};

SocketView socket_view(const ScenarioResult& scenario, const std::vector<CellDigest>& digests) {
  SocketView view;
  view.active = is_socket_scenario(scenario);
  view.cells.resize(scenario.cells.size());
  if (!view.active) return view;
  for (size_t i = 0; i < scenario.cells.size(); ++i) {
    const std::string& outcome = digests[i].outcome;
    if (outcome != "detected" && outcome != "undetected" && outcome != "mixed") continue;  // errors show as errors
    std::vector<const RunResult*> runs;
    for (const RunResult& run : scenario.cells[i].runs) {
      if (run.outcome == Outcome::detected || run.outcome == Outcome::undetected) runs.push_back(&run);
    }
    std::vector<SocketMetric> metrics;
    for (const harness::ExpectationResult& e : scenario.cells[i].expectations) {
      auto metric = socket_metric(e);
      if (metric && std::find(metrics.begin(), metrics.end(), *metric) == metrics.end()) metrics.push_back(*metric);
    }
    // Socket counts lead: probe failures are the headline only of cells that check nothing else.
    std::stable_partition(metrics.begin(), metrics.end(),
                          [](const SocketMetric& m) { return m.kind != SocketKind::probe_failures; });
    for (const SocketMetric& metric : metrics) view.cells[i].metrics.push_back(measure(metric, runs));
  }
  for (const SocketCell& cell : view.cells) {
    if (!cell.shown() || !cell.metrics[0].value) continue;
    const MeasuredMetric& headline = cell.metrics[0];
    auto it = std::find_if(view.scales.begin(), view.scales.end(),
                           [&](const SocketScale& s) { return s.group == headline.group; });
    if (it == view.scales.end()) {
      view.scales.push_back({headline.group, headline.name, 0});
      it = view.scales.end() - 1;
    }
    it->hi = std::max(it->hi, *headline.value);
  }
  for (SocketCell& cell : view.cells) {
    if (!cell.shown() || !cell.metrics[0].value) continue;
    for (const SocketScale& scale : view.scales) {
      if (scale.group == cell.metrics[0].group) cell.fraction = scale.fraction(*cell.metrics[0].value);
    }
  }
  return view;
}

// ---- HTML fragments ------------------------------------------------------------------------

std::string outcome_badge(const std::string& outcome, const std::string& label) {
  return "<span class=\"badge o-" + esc(outcome) + "\">" + esc(label) + "</span>";
}

std::string expectations_badge(const CellDigest& d) {
  if (d.expectations_total == 0) return "<span class=\"exp none\">no expectations</span>";
  bool ok = d.expectations_failed == 0;
  return std::string("<span class=\"exp ") + (ok ? "ok" : "bad") + "\">" + (ok ? "&#10003; " : "&#10007; ") +
         std::to_string(d.expectations_passed()) + "/" + std::to_string(d.expectations_total) + " passed</span>";
}

std::string cell_anchor(size_t scenario_index, size_t cell_index) {
  return "s" + std::to_string(scenario_index) + "-c" + std::to_string(cell_index);
}

std::string param_value(const CellResult& cell, const std::string& axis) {
  if (!cell.params.is_object()) return "\xE2\x80\x94";
  auto it = cell.params.find(axis);
  if (it == cell.params.end()) return "\xE2\x80\x94";  // em dash
  return value_label(*it);
}

std::string axis_short_name(const std::string& pointer) {
  auto slash = pointer.find_last_of('/');
  return slash == std::string::npos ? pointer : pointer.substr(slash + 1);
}

struct DetectionScale {
  double lo = 0, hi = 0;
  bool any = false;
  double fraction(double ms) const {
    if (!any || !(hi > lo)) return 0.5;
    Scale s{lo, hi, 0, 1, ScaleKind::log};
    return s.fraction(std::max(ms, lo));
  }
};

DetectionScale detection_scale(const std::vector<CellDigest>& digests) {
  DetectionScale scale;
  for (const CellDigest& d : digests) {
    if (!d.detection_ms || *d.detection_ms <= 0) continue;
    if (!scale.any) scale.lo = scale.hi = *d.detection_ms, scale.any = true;
    scale.lo = std::min(scale.lo, *d.detection_ms);
    scale.hi = std::max(scale.hi, *d.detection_ms);
  }
  return scale;
}

std::string cell_tooltip(const CellResult& cell, const CellDigest& d, const SocketCell& sockets) {
  std::string text = cell_display_id(cell) + "\n" + d.outcome_label;
  if (d.detection_ms) text += " after " + format_ms(d.detection_ms);
  for (const MeasuredMetric& m : sockets.metrics) text += "\n" + m.text;
  if (!d.error.empty()) text += "\nerror: " + d.error;
  if (!d.mechanism.empty()) text += "\nmechanism: " + d.mechanism;
  if (const harness::ModelResult* m = cell_model(cell, d)) text += "\nmodel: " + model_text(cell, d) + " (" + m->check.why + ")";
  if (d.outcome == "error" && !d.error_detail.empty()) text += "\n" + d.error_detail;
  if (d.expectations_total > 0) {
    text += "\nexpectations: " + std::to_string(d.expectations_passed()) + "/" +
            std::to_string(d.expectations_total) + " passed";
    for (const harness::ExpectationResult& e : cell.expectations) {
      if (!e.passed) text += "\n  FAILED " + e.check + ": " + e.detail;
    }
  }
  return text;
}

std::string gradient_css() {
  std::string gradient;
  for (int i = 0; i <= 8; ++i) gradient += (i ? "," : "") + svg::sequential_color(i / 8.0);
  return "background:linear-gradient(to right," + gradient + ")";
}

std::string scale_legend(const DetectionScale& scale, const SocketView& sockets) {
  std::string out = "<div class=\"legend-row\">";
  if (sockets.active) {
    for (const SocketScale& s : sockets.scales) {
      out += "<span class=\"scale\"><span class=\"scale-label\">0</span><span class=\"gradient\" style=\"" +
             gradient_css() + "\"></span><span class=\"scale-label\">" +
             esc(s.group.rfind("cleared", 0) == 0 ? format_ms_compact(s.hi) : num(s.hi, 0)) +
             "</span><span class=\"muted\">" + esc(s.name) + ", log scale</span></span>";
    }
  } else if (scale.any) {
    out += "<span class=\"scale\"><span class=\"scale-label\">" + esc(format_ms_compact(scale.lo)) +
           "</span><span class=\"gradient\" style=\"" + gradient_css() + "\"></span><span class=\"scale-label\">" +
           esc(format_ms_compact(scale.hi)) + "</span><span class=\"muted\">detection time, log scale";
    if (scale.hi > scale.lo) {
      out += " (middle &#8776; " + esc(format_ms_compact(std::sqrt(scale.lo * scale.hi))) + ")";
    }
    out += "</span></span>";
  }
  if (!sockets.active) out += "<span class=\"key\"><span class=\"swatch hatched\"></span>never detected</span>";
  out += "<span class=\"key\"><span class=\"swatch errored\"></span>run error</span>"
         "<span class=\"key\"><span class=\"swatch failed-exp\"></span>expectation failed "
         "&#10007;</span></div>";
  return out;
}

std::string colour_style(double fraction) {
  return " style=\"background:" + svg::sequential_color(fraction) + ";color:" + svg::sequential_text_color(fraction) +
         "\"";
}

std::string heatmap_cell(const CellResult& cell, const CellDigest& d, const SocketCell& sockets,
                         const DetectionScale& scale, const std::string& anchor) {
  std::string classes = "hm o-" + d.outcome;
  std::string style, value;
  std::vector<std::string> subs;
  bool socket_values = sockets.shown();
  if (d.outcome == "error") {
    value = "error";
    subs.push_back(d.error);
  } else if (socket_values) {
    classes += " sock";
    if (sockets.fraction >= 0) style = colour_style(sockets.fraction);
    value = sockets.metrics[0].text;
    for (size_t i = 1; i < sockets.metrics.size(); ++i) subs.push_back(sockets.metrics[i].text);
    std::string tail = d.error;
    if (d.outcome == "mixed") tail += (tail.empty() ? "" : " ") + d.outcome_label.substr(9);
    subs.push_back(tail);
  } else if (d.outcome == "undetected") {
    value = "never";
    subs.push_back("undetected");
  } else if (d.outcome == "skipped" || d.outcome == "none") {
    value = d.outcome == "none" ? "no runs" : "skipped";
  } else if (d.detection_ms) {
    style = colour_style(scale.fraction(*d.detection_ms));
    value = format_ms_compact(*d.detection_ms);
    std::string sub = d.error;
    if (d.outcome == "mixed") sub += (sub.empty() ? "" : " ") + d.outcome_label.substr(9);
    subs.push_back(sub);
  } else {
    value = d.outcome_label;
  }
  bool failed = d.expectations_failed > 0;
  if (failed) classes += " exp-failed";
  std::string metric_class = socket_values ? " sock-metric" : "";
  std::string out = "<td class=\"" + classes + "\"" + style + " title=\"" + esc(cell_tooltip(cell, d, sockets)) +
                    "\" data-ms=\"" + (d.detection_ms ? num(*d.detection_ms) : "") + "\"><a href=\"#" + anchor +
                    "\"><span class=\"v" + metric_class + "\">" + esc(value) + "</span>";
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].empty()) continue;
    bool is_metric = socket_values && i + 1 < subs.size();
    out += "<span class=\"sub" + std::string(is_metric ? " sock-metric" : "") + "\">" + esc(subs[i]) + "</span>";
  }
  if (cell_model(cell, d) && d.outcome != "error")
    out += "<span class=\"sub model\">model " + esc(model_text(cell, d, true)) + "</span>";
  if (failed) out += "<span class=\"mark\" aria-label=\"expectation failed\">&#10007;</span>";
  out += "</a></td>";
  return out;
}

std::string render_heatmap(const ScenarioResult& scenario, size_t scenario_index, const std::vector<std::string>& axes,
                           const std::vector<CellDigest>& digests, const SocketView& sockets) {
  const auto& cells = scenario.cells;
  std::vector<std::string> rows, columns;
  std::map<std::pair<std::string, std::string>, size_t> where;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string r = param_value(cells[i], axes[0]), c = param_value(cells[i], axes[1]);
    if (std::find(rows.begin(), rows.end(), r) == rows.end()) rows.push_back(r);
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    where.emplace(std::make_pair(r, c), i);
  }
  DetectionScale scale = detection_scale(digests);
  std::string out = "<div class=\"heatmap-wrap\"><table class=\"heatmap\"><thead><tr><th class=\"corner\">"
                    "<span class=\"axis-row\">" + esc(axis_short_name(axes[0])) +
                    " &#8595;</span><span class=\"axis-col\">" + esc(axis_short_name(axes[1])) +
                    " &#8594;</span></th>";
  for (const std::string& c : columns) {
    out += "<th scope=\"col\" title=\"" + esc(axes[1] + " = " + c) + "\">" + esc(c) + "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const std::string& r : rows) {
    out += "<tr><th scope=\"row\" title=\"" + esc(axes[0] + " = " + r) + "\">" + esc(r) + "</th>";
    for (const std::string& c : columns) {
      auto it = where.find({r, c});
      if (it == where.end()) {
        out += "<td class=\"hm empty\">&#8212;</td>";
      } else {
        out += heatmap_cell(cells[it->second], digests[it->second], sockets.cells[it->second], scale,
                            cell_anchor(scenario_index, it->second));
      }
    }
    out += "</tr>";
  }
  out += "</tbody></table>" + scale_legend(scale, sockets) + "</div>";
  return out;
}

std::string render_matrix_table(const ScenarioResult& scenario, size_t scenario_index,
                                const std::vector<std::string>& axes, const std::vector<CellDigest>& digests,
                                const SocketView& sockets) {
  const auto& cells = scenario.cells;
  DetectionScale scale = detection_scale(digests);
  std::string out = "<table class=\"matrix sortable\"><thead><tr>";
  for (const std::string& axis : axes) {
    out += "<th scope=\"col\" title=\"" + esc(axis) + "\">" + esc(axis_short_name(axis)) + "</th>";
  }
  out += std::string("<th scope=\"col\">outcome</th><th scope=\"col\" class=\"det-col\">") +
         (sockets.active ? "sockets" : "detection") +
         "</th><th scope=\"col\" class=\"model-col\">model</th><th scope=\"col\">errno</th><th scope=\"col\">mechanism</th>"
         "<th scope=\"col\">expectations</th></tr></thead><tbody>";
  for (size_t i = 0; i < cells.size(); ++i) {
    const CellDigest& d = digests[i];
    const SocketCell& sock = sockets.cells[i];
    std::string anchor = cell_anchor(scenario_index, i);
    out += std::string("<tr") + (d.expectations_failed > 0 ? " class=\"exp-failed\"" : "") + ">";
    for (size_t a = 0; a < axes.size(); ++a) {
      std::string value = param_value(cells[i], axes[a]);
      out += "<td>" + (a == 0 ? "<a href=\"#" + anchor + "\">" + esc(value) + "</a>" : esc(value)) + "</td>";
    }
    out += "<td>" + outcome_badge(d.outcome, d.outcome_label) + "</td>";
    std::string tooltip = esc(cell_tooltip(cells[i], d, sock));
    if (sock.shown()) {
      // sort key: the headline value, cells without one last
      const MeasuredMetric& headline = sock.metrics[0];
      out += "<td class=\"sock\" data-sort=\"" + num(headline.value.value_or(2e15)) + "\" title=\"" + tooltip + "\">";
      if (sock.fraction >= 0) {
        out += "<span class=\"bar\" style=\"width:" + num(6 + 94 * sock.fraction, 1) +
               "%;background:" + svg::sequential_color(sock.fraction) + "\"></span>";
      }
      out += "<span class=\"bar-v sock-metric\">" + esc(headline.text) + "</span>";
      if (sock.metrics.size() > 1) {
        out += "<span class=\"sock-more\">";
        for (size_t m = 1; m < sock.metrics.size(); ++m) {
          out += std::string(m > 1 ? " &#183; " : "") + "<span class=\"sock-metric\">" + esc(sock.metrics[m].text) +
                 "</span>";
        }
        out += "</span>";
      }
    } else {
      // sort key: detected by time, then undetected, then errors
      double sort_key = d.detection_ms ? *d.detection_ms : d.outcome == "undetected" ? 1e15 : 2e15;
      out += "<td data-sort=\"" + num(sort_key) + "\" title=\"" + tooltip + "\">";
      if (d.detection_ms) {
        double fraction = scale.fraction(*d.detection_ms);
        out += "<span class=\"bar\" style=\"width:" + num(6 + 94 * fraction, 1) +
               "%;background:" + svg::sequential_color(fraction) + "\"></span><span class=\"bar-v\">" +
               esc(format_ms(d.detection_ms)) + "</span>";
      } else {
        out += "<span class=\"bar-v muted\">" + std::string(d.outcome == "undetected" ? "never" : "&#8212;") +
               "</span>";
      }
    }
    const harness::ModelResult* cm = cell_model(cells[i], d);
    // sort key: |measured - model|, cells without a delta last
    const double model_key = cm && cm->check.delta_ms ? std::fabs(*cm->check.delta_ms) : 1e15;
    out += "</td><td class=\"model-col" + std::string(cm && !cm->check.holds ? " off" : "") + "\" data-sort=\"" +
           num(model_key) + "\"" + (cm ? " title=\"" + esc(cm->check.why) + "\"" : std::string()) + ">" + esc(model_text(cells[i], d)) +
           "</td><td>" + esc(d.error.empty() ? "-" : d.error) + "</td><td>" +
           esc(d.mechanism.empty() ? "-" : d.mechanism) + "</td><td data-sort=\"" +
           std::to_string(d.expectations_failed * 1000 + d.expectations_total) + "\">" + expectations_badge(d) +
           "</td></tr>";
  }
  out += "</tbody></table>" + scale_legend(scale, sockets);
  return out;
}

std::string render_card(const ScenarioResult& scenario, size_t scenario_index, const std::vector<CellDigest>& digests,
                        const SocketView& sockets) {
  const auto& cells = scenario.cells;
  std::string out = "<div class=\"cards\">";
  for (size_t i = 0; i < cells.size(); ++i) {
    const CellDigest& d = digests[i];
    const SocketCell& sock = sockets.cells[i];
    out += "<a class=\"card" + std::string(d.expectations_failed > 0 ? " exp-failed" : "") + "\" href=\"#" +
           cell_anchor(scenario_index, i) + "\" title=\"" + esc(cell_tooltip(cells[i], d, sock)) +
           "\"><span class=\"card-id\">" + esc(cell_display_id(cells[i])) + "</span>" +
           outcome_badge(d.outcome, d.outcome_label);
    if (sock.shown()) {
      out += "<span class=\"card-big sock-metric\">" + esc(sock.metrics[0].text) + "</span>";
      for (size_t m = 1; m < sock.metrics.size(); ++m) {
        out += "<span class=\"card-sub sock-metric\">" + esc(sock.metrics[m].text) + "</span>";
      }
    } else {
      out += "<span class=\"card-big\">" +
             esc(d.detection_ms ? format_ms(d.detection_ms) : (d.outcome == "undetected" ? "never" : "-")) + "</span>";
    }
    if (cell_model(cells[i], d)) out += "<span class=\"card-model\">model " + esc(model_text(cells[i], d, true)) + "</span>";
    out += "<span class=\"card-err\">" + esc(d.error) + "</span>" + expectations_badge(d) + "</a>";
  }
  out += "</div>";
  return out;
}

// ---- per-run sections ----------------------------------------------------------------------

std::string fact(const std::string& key, const std::string& value) {
  return "<div><dt>" + esc(key) + "</dt><dd>" + esc(value) + "</dd></div>";
}

std::string render_run_facts(const RunResult& run) {
  std::string outcome = harness::name_string(run.outcome);
  std::string out = "<dl class=\"facts\">";
  out += "<div><dt>outcome</dt><dd>" + outcome_badge(outcome, outcome) + "</dd></div>";
  out += fact("detection", format_ms(run.detection_ms));
  if (run.model) out += fact("model", model_text(run));
  if (run.detection_ms && run.detection_origin == harness::DetectionOrigin::start) {
    out += fact("counted from", run.fault_ms ? "the workload's start (before the first fault)" : "the workload's start");
  }
  if (run.error) out += fact("error", *run.error);
  if (run.syscall) out += fact("syscall", *run.syscall);
  if (run.mechanism) out += fact("mechanism", harness::name_string(*run.mechanism));
  if (run.fault_ms) out += fact("first fault at", format_ms(run.fault_ms));
  if (run.deadline_ms > 0) out += fact("deadline", format_ms(run.deadline_ms));
  out += fact("duration", format_ms(run.duration_ms));
  if (run.server.detection_ms) {
    out += fact("server noticed", format_ms(run.server.detection_ms) + " after the fault" +
                                      (run.server.error ? " (" + *run.server.error + ")" : ""));
  }
  out += "</dl>";
  if (run.error_detail && !run.error_detail->empty()) {
    out += "<pre class=\"error-detail\">" + esc(*run.error_detail) + "</pre>";
  }
  return out;
}

std::string render_peaks(const RunResult& run) {
  if (run.sockets.empty()) return "";
  std::vector<std::string> states;
  for (const auto& [host, info] : run.sockets) {
    for (const auto& [state, count] : info.peak) {
      if (count > 0 && std::find(states.begin(), states.end(), state) == states.end()) states.push_back(state);
    }
  }
  std::stable_sort(states.begin(), states.end(),
                   [](const auto& a, const auto& b) { return state_rank(a) < state_rank(b); });
  std::string out = "<table class=\"peaks\"><caption>peak socket counts</caption><thead><tr><th>host</th>";
  for (const auto& s : states) out += "<th>" + esc(s) + "</th>";
  if (states.empty()) out += "<th>(no sockets)</th>";
  // When the last TIME_WAIT socket went (TCP_TIMEWAIT_LEN, 60 s, in include/net/tcp.h), if any
  bool any_time_wait = std::any_of(run.sockets.begin(), run.sockets.end(),
                                   [](const auto& host) { return host.second.peak_of("TIME_WAIT") > 0; });
  if (any_time_wait) out += "<th>TIME_WAIT cleared</th>";
  out += "</tr></thead><tbody>";
  std::string census_notes;
  for (const auto& [host, info] : run.sockets) {
    out += "<tr><th>" + esc(host) + "</th>";
    for (const auto& s : states) out += "<td>" + num(static_cast<double>(info.peak_of(s)), 0) + "</td>";
    if (states.empty()) out += "<td></td>";
    std::string cleared = info.time_wait_cleared_ms ? format_ms_compact(*info.time_wait_cleared_ms) + " after the workload"
                          : info.peak_of("TIME_WAIT") > 0 ? "not during the observation"
                                                          : "-";
    if (any_time_wait) out += "<td>" + esc(cleared) + "</td>";
    out += "</tr>";
    if (info.census.samples == 0 || info.census.errors > 0) {
      census_notes += "<p class=\"note bad-note\">" +
                      esc("census of " + host + ": " + std::to_string(info.census.samples) + " sample" +
                          (info.census.samples == 1 ? "" : "s") + ", " + std::to_string(info.census.errors) +
                          " failed" + (info.census.first_error.empty() ? "" : " (" + info.census.first_error + ")")) +
                      "</p>";
    }
  }
  out += "</tbody></table>" + census_notes;
  return out;
}

std::string render_probe_summary(const harness::ProbeStats& probes) {
  std::string out = "<dl class=\"facts\">";
  out += fact("attempted", num(static_cast<double>(probes.attempted), 0));
  out += fact("succeeded", num(static_cast<double>(probes.succeeded), 0));
  if (probes.per_second) out += fact("per_second", num(*probes.per_second, 1));
  if (probes.connect_ms) {
    out += fact("connect p50", format_ms(probes.connect_ms->p50));
    out += fact("connect p99", format_ms(probes.connect_ms->p99));
    out += fact("connect max", format_ms(probes.connect_ms->max));
  }
  std::string failures;
  for (const auto& [err, count] : probes.failed) {
    failures += (failures.empty() ? "" : ", ") + err + " " + std::to_string(count);
  }
  out += fact("failed", failures.empty() ? "none" : failures);
  out += "</dl>";
  return out;
}

std::string render_phases(const std::vector<harness::RequestPhase>& phases) {
  if (phases.empty()) return "";
  std::string out =
      "<table class=\"phases\"><caption>requests by phase</caption><thead><tr><th>phase</th>"
      "<th>window</th><th>requests</th><th>errors</th><th>TPS</th><th>p50</th><th>p90</th>"
      "<th>p99</th><th>max</th><th>mean</th></tr></thead><tbody>";
  for (const harness::RequestPhase& phase : phases) {
    auto ms = [](const std::optional<double>& v) { return v ? num(*v, 2) + " ms" : std::string("-"); };
    out += "<tr class=\"phase-" + esc(phase.phase) + "\"><th>" + esc(phase.phase) + "</th><td>" +
           esc(num(phase.start_ms, 0) + " - " + num(phase.end_ms, 0) + " ms") + "</td><td>" +
           num(static_cast<double>(phase.requests), 0) + "</td><td" + (phase.errors > 0 ? " class=\"bad\"" : "") + ">" +
           num(static_cast<double>(phase.errors), 0) + "</td><td>" + num(phase.tps, 1) + "</td><td>" +
           ms(phase.p50_ms) + "</td><td>" + ms(phase.p90_ms) + "</td><td>" + ms(phase.p99_ms) + "</td><td>" +
           ms(phase.max_ms) + "</td><td>" + ms(phase.mean_ms) + "</td></tr>";
  }
  out += "</tbody></table>";
  return out;
}

std::string clipped(const std::string& text) {
  if (text.size() <= kMaxOutputChars) return text;
  size_t cut = kMaxOutputChars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\n... (" + std::to_string(text.size() - cut) + " more bytes)";
}

std::string shell_words(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>(){}") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return out;
}

std::string render_output(const char* stream, const std::string& text) {
  if (text.empty()) return "";
  return "<details class=\"output\"><summary>" + std::string(stream) + " (" + std::to_string(text.size()) +
         " bytes)</summary><pre>" + esc(clipped(text)) + "</pre></details>";
}

std::string render_command(const harness::CommandResults& command) {
  std::string out;
  if (const auto& client = command.client) {
    out += "<div class=\"command\"><h5>command</h5><pre class=\"argv\">" + esc(shell_words(client->argv)) + "</pre>";
    out += "<p>exit status <strong>" + std::to_string(client->exit) + "</strong></p>";
    out += render_output("stdout", client->stdout_text) + render_output("stderr", client->stderr_text) + "</div>";
  }
  if (const auto& server = command.server) {
    out += "<div class=\"command\"><h5>server command</h5><pre class=\"argv\">" + esc(shell_words(server->argv)) +
           "</pre>" + render_output("stdout", server->stdout_text) + render_output("stderr", server->stderr_text) +
           "</div>";
  }
  return out;
}

std::string render_events(const RunTimeline& timeline) {
  if (timeline.events.empty()) return "";
  struct Group {
    double first, last;
    size_t count;
    const Event* event;
  };
  std::vector<Group> groups;
  for (const Event& e : timeline.events) {
    if (!groups.empty() && groups.back().event->event == e.event && groups.back().event->detail == e.detail) {
      groups.back().last = e.t;
      ++groups.back().count;
    } else {
      groups.push_back({e.t, e.t, 1, &e});
    }
  }
  std::string out = "<details class=\"events-list\"" + std::string(timeline.events.size() <= 12 ? " open" : "") +
                    "><summary>events (" + std::to_string(timeline.events.size()) +
                    ")</summary><table class=\"events\">"
                    "<thead><tr><th>t (ms)</th><th>event</th><th>detail</th></tr></thead><tbody>";
  size_t shown = 0;
  for (const Group& g : groups) {
    if (shown++ == kMaxEventRows) {
      out += "<tr><td colspan=\"3\" class=\"muted\">" + std::to_string(groups.size() - kMaxEventRows) +
             " more rows not shown</td></tr>";
      break;
    }
    std::string t = num(g.first, 1);
    if (g.count > 1) t += " - " + num(g.last, 1);
    bool special = g.event->event == "fault" || g.event->event == "heal" || g.event->event == "client-error";
    out += (special ? "<tr class=\"ev-" + esc(g.event->event) + "\">" : std::string("<tr>")) + "<td>" + esc(t) +
           "</td><td>" + esc(g.event->event) + (g.count > 1 ? " &#215;" + std::to_string(g.count) : "") +
           "</td><td>" + esc(g.event->detail) + "</td></tr>";
  }
  out += "</tbody></table></details>";
  return out;
}

// ---- packet ladder -------------------------------------------------------------------------

// The client's classified packets (timeline "packet" events of its capture) as a ladder: time
// runs down, the client on the left, the server on the right, one arrow a packet, fault windows
// shaded across both lanes. Only classified packets are events (handshakes, retransmissions,
// probes, windows, FIN, RST), so plain data never crowds it.
constexpr size_t kMaxLadderArrows = 400;

std::string packet_class(const std::string& kind) {
  if (kind.find("retransmission") != std::string::npos) return "pk-retrans";
  if (kind == "tail_loss_probe" || kind == "keep_alive" || kind == "zero_window_probe") return "pk-probe";
  if (kind == "rst") return "pk-rst";
  if (kind == "syn" || kind == "syn_ack" || kind == "fin") return "pk-ctl";
  return "pk-other";
}

std::string packet_label(const harness::PacketMark& m) {
  std::string label = m.kind;
  std::replace(label.begin(), label.end(), '_', ' ');
  if (m.ordinal > 0) label += " #" + std::to_string(m.ordinal);
  return label;
}

std::string render_packet_ladder(const RunResult& run, const RunTimeline& timeline) {
  struct Arrow {
    double t;
    const harness::PacketMark* mark;
    const std::string* detail;
  };
  std::vector<Arrow> arrows;
  size_t total = 0;
  for (const harness::TimelineEntry& e : run.timeline) {
    if (!e.packet || e.packet->direction == "forwarded") continue;
    ++total;
    if (arrows.size() < kMaxLadderArrows) arrows.push_back({e.t_ms, &*e.packet, &e.detail});
  }
  if (arrows.empty()) return "";
  std::stable_sort(arrows.begin(), arrows.end(), [](const Arrow& a, const Arrow& b) { return a.t < b.t; });

  const std::string client = arrows.front().mark->host.empty() ? "client" : arrows.front().mark->host;
  const double left = 260, right = 740, top = 44;
  const double height = std::clamp(16.0 * static_cast<double>(arrows.size()), 220.0, 720.0);
  const double bottom = top + height;
  double t_lo = arrows.front().t, t_hi = arrows.back().t;
  for (const FaultWindow& w : timeline.faults) {
    t_lo = std::min(t_lo, w.start);
    if (w.healed) t_hi = std::max(t_hi, w.end);
  }
  std::optional<double> error_t = detection_time(run);
  if (error_t) t_hi = std::max(t_hi, *error_t);
  if (!(t_hi > t_lo)) t_hi = t_lo + 1;
  Scale y{t_lo, t_hi, top, bottom, ScaleKind::linear};

  std::string out = "<svg class=\"ladder chart\" viewBox=\"0 0 1000 " + px(bottom + 30) +
                    "\" role=\"img\" aria-label=\"packet ladder\">";
  for (const FaultWindow& w : timeline.faults) {
    double y0 = y(std::max(w.start, t_lo)), y1 = std::max(y(std::min(w.end, t_hi)), y0 + 1.5);
    out += "<g class=\"fault\"><title>" +
           esc(w.label + ": " + num(w.start) + " ms" + (w.healed ? " to " + num(w.end) + " ms" : ", never healed")) +
           "</title><rect x=\"" + px(left) + "\" y=\"" + px(y0) + "\" width=\"" + px(right - left) + "\" height=\"" +
           px(y1 - y0) + "\"/><text x=\"" + px(right + 8) + "\" y=\"" + px(y0 + 11) + "\">" +
           esc(w.label.size() > 30 ? w.label.substr(0, 27) + "..." : w.label) + "</text></g>";
  }
  out += "<g class=\"lanes\"><text x=\"" + px(left) + "\" y=\"" + px(top - 18) + "\" text-anchor=\"middle\">" +
         esc(client) + "</text><text x=\"" + px(right) + "\" y=\"" + px(top - 18) +
         "\" text-anchor=\"middle\">server</text><line x1=\"" + px(left) + "\" x2=\"" + px(left) + "\" y1=\"" +
         px(top - 8) + "\" y2=\"" + px(bottom) + "\"/><line x1=\"" + px(right) + "\" x2=\"" + px(right) + "\" y1=\"" +
         px(top - 8) + "\" y2=\"" + px(bottom) + "\"/></g>";
  if (error_t) {
    double ye = y(*error_t);
    out += "<g class=\"client-error\"><line class=\"error-line\" x1=\"" + px(left - 60) + "\" x2=\"" + px(left) +
           "\" y1=\"" + px(ye) + "\" y2=\"" + px(ye) + "\"/><text class=\"error-label\" x=\"" + px(left - 64) +
           "\" y=\"" + px(ye + 4) + "\" text-anchor=\"end\">" + esc(run.error.value_or("error")) + "</text></g>";
  }
  out += "<g class=\"packets\">";
  double last_label_y = -100;
  const double slant = 10;
  for (const Arrow& a : arrows) {
    const harness::PacketMark& m = *a.mark;
    const bool to_server = m.direction == "sent";
    double y0 = y(a.t), y1 = y0 + slant;
    double x0 = to_server ? left : right, x1 = to_server ? right : left;
    double head = to_server ? -7 : 7;
    out += "<g class=\"pk " + packet_class(m.kind) + "\"><title>" + esc(num(a.t) + " ms: " + *a.detail) +
           "</title><path d=\"M" + px(x0) + " " + px(y0) + "L" + px(x1) + " " + px(y1) + "M" + px(x1 + head) + " " +
           px(y1 - 4) + "L" + px(x1) + " " + px(y1) + "L" + px(x1 + head) + " " + px(y1 + 4) + "\"/>";
    if (y0 - last_label_y >= 11) {
      out += "<text class=\"pk-t\" x=\"" + px(left - 8) + "\" y=\"" + px(y0 + 4) + "\" text-anchor=\"end\">" +
             esc(num(a.t) + " ms") + "</text><text x=\"" + px((left + right) / 2) + "\" y=\"" + px((y0 + y1) / 2 - 3) +
             "\" text-anchor=\"middle\">" + esc(packet_label(m)) + "</text>";
      last_label_y = y0;
    }
    out += "</g>";
  }
  out += "</g></svg>";
  out += "<p class=\"note\">" + std::to_string(total) + " classified packet" + (total == 1 ? "" : "s") + " of " +
         esc(client) + "'s capture (workload connection)";
  if (total > arrows.size()) out += ", the first " + std::to_string(arrows.size()) + " drawn";
  out += "; red: retransmissions, orange: probes (tail loss, keepalive, zero window), purple: RST. The full list is in "
         "the events below; the pcap is in <code>captures/</code>.</p>";
  return out;
}

// ---- tcp_info chart ------------------------------------------------------------------------

// The workload connection's tcp_info over time (census samples, kept when something the
// kernel's timers act on changed): RTO on the left axis, backoff / retransmits / probes on the
// right one.
std::string render_tcp_info_chart(const RunResult& run, const RunTimeline& timeline) {
  if (run.tcp_info.empty()) return "";
  std::string host = run.workload_flow ? run.workload_flow->host : run.tcp_info.front().host;
  std::map<std::string, size_t> per_socket;
  for (const harness::TcpInfoSample& smp : run.tcp_info)
    if (smp.host == host) ++per_socket[smp.local + " " + smp.remote];
  if (per_socket.empty()) return "";
  std::string key = std::max_element(per_socket.begin(), per_socket.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; })
                        ->first;
  if (run.workload_flow && per_socket.count(run.workload_flow->local + " " + run.workload_flow->remote))
    key = run.workload_flow->local + " " + run.workload_flow->remote;
  std::vector<const harness::TcpInfoSample*> samples;
  for (const harness::TcpInfoSample& smp : run.tcp_info)
    if (smp.host == host && smp.local + " " + smp.remote == key) samples.push_back(&smp);
  std::stable_sort(samples.begin(), samples.end(), [](auto* a, auto* b) { return a->t_ms < b->t_ms; });

  double rto_max = 0, count_max = 0, t_lo = timeline.t_min, t_hi = timeline.t_max;
  for (auto* smp : samples) {
    rto_max = std::max(rto_max, smp->info.rto_ms);
    count_max = std::max({count_max, double(smp->info.backoff), double(smp->info.retransmits), double(smp->info.probes)});
    t_lo = std::min(t_lo, smp->t_ms);
    t_hi = std::max(t_hi, smp->t_ms);
  }
  if (!(t_hi > t_lo)) t_hi = t_lo + 1;
  Frame f;
  Scale x{t_lo, t_hi, f.left, f.right, ScaleKind::linear};
  Scale y{0, std::max(200.0, svg::nice_ceiling(rto_max)), f.bottom, f.top, ScaleKind::linear};
  Scale yc{0, std::max(2.0, svg::nice_ceiling(count_max)), f.bottom, f.top, ScaleKind::linear};

  std::string out = "<svg class=\"tcpinfo chart\" viewBox=\"0 0 " + px(f.width) + " " + px(f.height) +
                    "\" role=\"img\" aria-label=\"tcp_info over time\">";
  draw_axes(out, f, x, y, "RTO (ms)", false);
  out += "<g class=\"axis-right\">";
  for (double tick : svg::ticks(yc, 5)) {
    if (tick != std::floor(tick)) continue;
    out += "<text x=\"" + px(f.right + 6) + "\" y=\"" + px(yc(tick) + 4) + "\">" + num(tick, 0) + "</text>";
  }
  out += "</g>";
  draw_fault_windows(out, f, x, timeline.faults, false);
  struct Line {
    const char* name;
    const char* color;
    const char* dash;
    std::function<double(const TcpInfo&)> value;
    const Scale* scale;
  };
  const std::vector<Line> lines = {
      {"rto (ms, left)", "#1f77b4", "", [](const TcpInfo& i) { return i.rto_ms; }, &y},
      {"backoff (right)", "#d62728", "", [](const TcpInfo& i) { return double(i.backoff); }, &yc},
      {"retransmits (right)", "#ff7f0e", "5 3", [](const TcpInfo& i) { return double(i.retransmits); }, &yc},
      {"probes (right)", "#9467bd", "2 2", [](const TcpInfo& i) { return double(i.probes); }, &yc},
  };
  std::vector<LegendEntry> legend;
  out += "<g class=\"series\">";
  for (const Line& line : lines) {
    std::vector<double> xs, ys;
    double peak = 0;
    for (auto* smp : samples) {
      xs.push_back(x(smp->t_ms));
      ys.push_back((*line.scale)(line.value(smp->info)));
      peak = std::max(peak, line.value(smp->info));
    }
    if (line.scale != &y && peak == 0) continue;  // a count that never moved
    out += "<path d=\"" + svg::step_path(xs, ys) + "\" stroke=\"" + line.color + "\"" +
           (*line.dash ? std::string(" stroke-dasharray=\"") + line.dash + "\"" : "") + "><title>" +
           esc(std::string(line.name) + ", max " + num(peak)) + "</title></path>";
    legend.push_back({std::string(line.name) + " max " + num(peak), line.color, line.dash});
  }
  out += "</g>";
  if (!timeline.faults.empty()) legend.push_back({"fault active", "", "", LegendEntry::area});
  draw_legend(out, f.right + 34, f.top + 6, legend);
  out += "</svg><p class=\"note\">tcp_info of " + esc(host) + " " + esc(key) + ": " + std::to_string(samples.size()) +
         " sample" + (samples.size() == 1 ? "" : "s") + " (kept when state, RTO, backoff, retransmits, probes or unacked changed).</p>";
  return out;
}

// ---- the kernel's model beside the measurement -----------------------------------------------

std::string render_model(const RunResult& run) {
  if (!run.model && run.lifetime_models.empty() && !run.mechanism_basis) return "";
  std::string out = "<div class=\"model\">";
  if (run.mechanism_basis)
    out += "<p class=\"basis\"><span class=\"basis-label\">mechanism" +
           std::string(run.mechanism_from_evidence ? " (from evidence)" : " (from the configuration)") + ":</span> " +
           esc(*run.mechanism_basis) + "</p>";
  std::vector<const harness::ModelResult*> models;
  if (run.model) models.push_back(&*run.model);
  for (const auto& m : run.lifetime_models) models.push_back(&m);
  if (!models.empty()) {
    out += "<table class=\"models\"><thead><tr><th>quantity</th><th>model</th><th>measured</th><th>measured &#8722; "
           "model</th><th>holds</th><th>formula</th></tr></thead><tbody>";
    for (const harness::ModelResult* r : models) {
      const harness::Model& m = r->model;
      std::string predicted = m.count ? num(*m.count) : m.ms ? format_ms(*m.ms) : m.mechanism == "unmodelled" ? "not modelled" : "never";
      std::string measured = r->measured ? (m.count ? num(*r->measured) : format_ms(*r->measured)) : "never";
      out += "<tr class=\"" + std::string(r->check.holds ? "pass" : "fail") + "\"><td>" +
             esc(m.quantity + (m.host.empty() ? "" : " on " + m.host)) + "</td><td>" + esc(predicted) +
             (m.mechanism.empty() ? "" : " <span class=\"muted\">" + esc(m.mechanism) + "</span>") + "</td><td>" +
             esc(measured) + "</td><td>" + esc(r->check.delta_ms ? num(*r->check.delta_ms) : "-") + "</td><td title=\"" +
             esc(r->check.why) + "\">" + (r->check.holds ? "&#10003;" : "&#10007;") + "</td><td><details><summary>" +
             esc(m.formula.size() > 90 ? m.formula.substr(0, 87) + "..." : m.formula) + "</summary>";
      out += "<ul class=\"model-inputs\">";
      for (const auto& [name, in] : m.inputs)
        out += "<li><code>" + esc(name) + "</code> = " + esc(num(in.value, 3) + (in.unit.empty() ? "" : " " + in.unit)) +
               " <span class=\"muted\">" + esc(in.origin + (in.detail.empty() ? "" : ": " + in.detail)) + "</span></li>";
      out += "</ul>";
      if (!m.window.empty()) out += "<p>window [" + esc(num(m.lo_ms) + ", " + num(m.hi_ms)) + "]: " + esc(m.window) + "</p>";
      if (!m.source.empty()) out += "<p>source: " + esc(m.source) + "</p>";
      if (!r->check.why.empty()) out += "<p>" + esc(r->check.why) + "</p>";
      out += "</details></td></tr>";
    }
    out += "</tbody></table>";
  }
  out += "</div>";
  return out;
}

std::string render_run(const RunResult& run, size_t max_points) {
  RunTimeline timeline = read_timeline(run);
  std::string out = render_run_facts(run);
  out += render_peaks(run);
  if (timeline.samples.empty() && timeline.events.empty()) {
    out += "<p class=\"muted\">No timeline recorded for this run.</p>";
  } else {
    out += "<h5>socket states</h5>" + render_timeline_chart(run, timeline, max_points);
  }
  std::string model = render_model(run);
  if (!model.empty()) out += "<h5>kernel model</h5>" + model;
  std::string ladder = render_packet_ladder(run, timeline);
  if (!ladder.empty()) out += "<h5>packets</h5>" + ladder;
  std::string tcp_info = render_tcp_info_chart(run, timeline);
  if (!tcp_info.empty()) out += "<h5>tcp_info</h5>" + tcp_info;
  if (run.probes.attempted > 0 || (run.probes.series && !run.probes.series->empty())) {
    out += "<h5>probes</h5>" + render_probe_summary(run.probes) + render_probe_charts(run, timeline, max_points);
  }
  if (run.requests) {
    std::string phases = render_phases(*run.requests);
    if (!phases.empty()) out += "<h5>requests</h5>" + phases;
  }
  if (run.command) out += render_command(*run.command);
  out += render_events(timeline);
  return out;
}

std::string render_cell(const CellResult& cell, const CellDigest& d, const SocketCell& sockets,
                        const std::string& anchor, size_t max_points) {
  bool failed = d.expectations_failed > 0;
  std::string headline = sockets.shown() ? sockets.joined() : d.detection_ms ? format_ms(d.detection_ms) : "";
  std::string out = "<details class=\"cell o-" + esc(d.outcome) + (failed ? " exp-failed" : "") + "\" id=\"" + anchor +
                    "\"" + (failed ? " open" : "") + "><summary>" + outcome_badge(d.outcome, d.outcome_label) +
                    "<code class=\"cell-id\">" + esc(cell_display_id(cell)) + "</code><span class=\"det\">" +
                    esc(headline) + "</span><span class=\"err\">" + esc(d.error) + "</span>" + expectations_badge(d) +
                    "</summary><div class=\"cell-body\">";

  if (cell.params.is_object() && !cell.params.empty()) {
    out += "<table class=\"params\"><tbody>";
    for (const auto& [pointer, value] : cell.params.items()) {
      out += "<tr><th>" + esc(pointer) + "</th><td><code>" + esc(value_label(value)) + "</code></td></tr>";
    }
    out += "</tbody></table>";
  }

  if (!cell.expectations.empty()) {
    out += "<ul class=\"expectations\">";
    for (const harness::ExpectationResult& e : cell.expectations) {
      out += std::string("<li class=\"") + (e.passed ? "pass" : "fail") + "\"" +
             (e.pointer.empty() ? "" : " title=\"" + esc(e.pointer) + "\"") + "><span class=\"icon\">" +
             (e.passed ? "&#10003;" : "&#10007;") + "</span><code>" + esc(e.check) +
             "</code><span class=\"measured\">measured: " + esc(e.detail.empty() ? "-" : e.detail) + "</span></li>";
    }
    out += "</ul>";
  }

  const auto& runs = cell.runs;
  if (runs.size() > 1) {
    out += "<table class=\"runs sortable\"><caption>runs</caption><thead><tr><th>#</th><th>outcome</th>"
           "<th>detection</th><th>model</th><th>error</th><th>mechanism</th><th>duration</th></tr></thead><tbody>";
    for (size_t i = 0; i < runs.size(); ++i) {
      const RunResult& run = runs[i];
      std::string outcome = harness::name_string(run.outcome);
      out += "<tr" + std::string(i == d.representative_run ? " class=\"shown\"" : "") + "><td data-sort=\"" +
             std::to_string(i + 1) + "\">" + std::to_string(i + 1) + "</td><td>" + outcome_badge(outcome, outcome) +
             "</td><td data-sort=\"" + num(run.detection_ms.value_or(1e15)) + "\">" + esc(format_ms(run.detection_ms)) +
             "</td><td>" + esc(model_text(run)) + "</td><td>" + esc(run.error.value_or("-")) + "</td><td>" +
             esc(run.mechanism ? harness::name_string(*run.mechanism) : "-") + "</td><td>" +
             esc(format_ms(run.duration_ms)) + "</td></tr>";
    }
    out += "</tbody></table><p class=\"note\">Charts below: run " + std::to_string(d.representative_run + 1) + " of " +
           std::to_string(runs.size()) + " (nearest the median detection time).</p>";
  }
  if (!runs.empty()) {
    out += render_run(runs[d.representative_run], max_points);
  } else {
    out += "<p class=\"muted\">No runs recorded.</p>";
  }
  out += "</div></details>";
  return out;
}

std::string render_scenario(const ScenarioResult& scenario, size_t index, size_t max_points) {
  const auto& cells = scenario.cells;
  std::vector<CellDigest> digests;
  int failed_expectations = 0, errors = 0;
  for (const CellResult& cell : cells) {
    digests.push_back(digest_cell(cell));
    failed_expectations += cell.expectations_failed();
    errors += cell.errored_runs();
  }
  SocketView sockets = socket_view(scenario, digests);
  std::vector<std::string> axes = scenario_axes(scenario);

  std::string out = "<section class=\"scenario" + std::string(sockets.active ? " sockets-view" : "") + "\" id=\"s" +
                    std::to_string(index) + "\">";
  out += "<h2>" + esc(scenario.name) + "</h2>";
  out += "<p class=\"meta\">";
  if (!scenario.file.empty()) out += "<code>" + esc(scenario.file) + "</code> &#183; ";
  out += std::to_string(cells.size()) + " cell" + (cells.size() == 1 ? "" : "s");
  if (failed_expectations > 0) {
    out += " &#183; <span class=\"bad\">" + std::to_string(failed_expectations) + " expectation" +
           (failed_expectations == 1 ? "" : "s") + " failed</span>";
  }
  if (errors > 0) {
    out += " &#183; <span class=\"bad\">" + std::to_string(errors) + " run error" + (errors == 1 ? "" : "s") + "</span>";
  }
  out += "</p>";
  if (!scenario.description.empty()) out += "<p class=\"description\">" + esc(scenario.description) + "</p>";

  if (!axes.empty()) {
    out += "<p class=\"axes\">matrix: ";
    for (size_t i = 0; i < axes.size(); ++i) {
      out += (i ? " &#215; " : "") + std::string("<code>") + esc(axes[i]) + "</code>";
    }
    out += "</p>";
  }
  if (axes.size() == 2 && !cells.empty()) {
    out += render_heatmap(scenario, index, axes, digests, sockets);
  } else if (!axes.empty() && !cells.empty()) {
    out += render_matrix_table(scenario, index, axes, digests, sockets);
  } else if (!cells.empty()) {
    out += render_card(scenario, index, digests, sockets);
  } else {
    out += "<p class=\"muted\">No cells.</p>";
  }

  out += "<div class=\"cells\">";
  for (size_t i = 0; i < cells.size(); ++i) {
    out += render_cell(cells[i], digests[i], sockets.cells[i], cell_anchor(index, i), max_points);
  }
  out += "</div></section>";
  return out;
}

std::string stat(const std::string& label, const std::string& value, const std::string& cls = "") {
  return "<div class=\"stat " + cls + "\"><span class=\"stat-v\">" + esc(value) + "</span><span class=\"stat-l\">" +
         esc(label) + "</span></div>";
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::string render_summary(const Results& results) {
  const harness::Summary& sum = results.summary;
  const auto& scenarios = results.scenarios;
  int64_t failed = sum.expectations_failed, errors = sum.errors;

  std::string out = "<section id=\"summary\" class=\"summary\">";
  if (failed > 0) {
    out += "<div class=\"banner bad\">&#10007; " + std::to_string(failed) + " expectation" + (failed == 1 ? "" : "s") +
           " failed</div>";
  } else if (errors > 0) {
    out += "<div class=\"banner warn\">&#9888; " + std::to_string(errors) + " run error" + (errors == 1 ? "" : "s") +
           "</div>";
  } else {
    out += "<div class=\"banner ok\">&#10003; all expectations held</div>";
  }
  out += "<div class=\"stats\">";
  out += stat("scenarios", std::to_string(scenarios.size()));
  out += stat("cells", std::to_string(sum.cells));
  out += stat("runs", std::to_string(sum.runs));
  out += stat("expectations passed", std::to_string(sum.expectations_passed), "ok");
  out += stat("expectations failed", std::to_string(failed), failed > 0 ? "bad" : "");
  out += stat("errors", std::to_string(errors), errors > 0 ? "bad" : "");
  out += "</div><dl class=\"facts env\">";
  out += fact("kernel", or_dash(results.kernel));
  out += fact("tool", or_dash(results.version));
  out += fact("started", or_dash(results.started));
  out += "</dl>";

  if (!scenarios.empty()) {
    out += "<table class=\"toc\"><thead><tr><th>scenario</th><th>cells</th><th>detected</th>"
           "<th>undetected</th><th>errors</th><th>expectations</th></tr></thead><tbody>";
    for (size_t i = 0; i < scenarios.size(); ++i) {
      int detected = 0, undetected = 0, errs = 0, failed_here = 0, total = 0;
      for (const CellResult& cell : scenarios[i].cells) {
        CellDigest d = digest_cell(cell);
        detected += d.outcome == "detected";
        undetected += d.outcome == "undetected";
        errs += d.outcome == "error";
        failed_here += cell.expectations_failed();
        total += static_cast<int>(cell.expectations.size());
      }
      int passed = total - failed_here;
      out += "<tr" + std::string(failed_here > 0 ? " class=\"exp-failed\"" : "") + "><td><a href=\"#s" +
             std::to_string(i) + "\">" + esc(scenarios[i].name) + "</a></td><td>" +
             std::to_string(scenarios[i].cells.size()) + "</td><td>" + std::to_string(detected) + "</td><td>" +
             std::to_string(undetected) + "</td><td>" + std::to_string(errs) + "</td><td>" +
             (total == 0 ? std::string("-")
                         : std::string(failed_here > 0 ? "<span class=\"bad\">&#10007; " : "<span class=\"good\">&#10003; ") +
                               std::to_string(passed) + "/" + std::to_string(total) + "</span>") +
             "</td></tr>";
    }
    out += "</tbody></table>";
  }
  out += "</section>";
  return out;
}

std::string render_report(const Results& results, size_t max_points) {
  const auto& scenarios = results.scenarios;
  std::string title = "sockchaos report";
  if (scenarios.size() == 1) title += ": " + scenarios[0].name;

  // What the page's script reads: the summary (for the title) and the scenario index.
  const harness::Summary& sum = results.summary;
  json script_data = json::object();
  script_data["summary"] = {{"cells", sum.cells},
                            {"runs", sum.runs},
                            {"expectations_passed", sum.expectations_passed},
                            {"expectations_failed", sum.expectations_failed},
                            {"errors", sum.errors}};
  json index = json::array();
  for (size_t i = 0; i < scenarios.size(); ++i) {
    index.push_back({{"anchor", "s" + std::to_string(i)}, {"name", scenarios[i].name}});
  }
  script_data["scenarios"] = std::move(index);

  std::string out;
  out.reserve(256 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
         "<title>" + esc(title) + "</title><style>";
  out += html_assets::kStyle;
  out += "</style></head><body><header><h1>sockchaos report</h1><div class=\"controls\">"
         "<button type=\"button\" data-toggle-all=\"open\">expand all</button>"
         "<button type=\"button\" data-toggle-all=\"close\">collapse all</button>"
         "<label><input type=\"checkbox\" id=\"only-failed\"> only failed cells</label>"
         "</div></header><main>";
  out += render_summary(results);
  for (size_t i = 0; i < scenarios.size(); ++i) out += render_scenario(scenarios[i], i, max_points);
  out += "</main><footer>generated by " + esc(results.version.empty() ? "sockchaos" : results.version) + "</footer>";
  out += "<script type=\"application/json\" id=\"sockchaos-data\">" + json_for_script(script_data) + "</script><script>";
  out += html_assets::kScript;
  out += "</script></body></html>\n";
  return out;
}

}  // namespace

std::string render_html_report(const Results& results) {
  // Chart detail shrinks as cells grow: up to 30 cells get kMaxChartPoints points per series,
  // 100 cells get 100. If busy data (every series changing at every sample) still makes the
  // report larger than kTargetReportBytes, it is rendered again with fewer points.
  size_t cell_count = 0;
  for (const ScenarioResult& scenario : results.scenarios) cell_count += scenario.cells.size();
  size_t max_points = std::clamp<size_t>(kMaxChartPoints * 30 / std::max<size_t>(cell_count, 1), kMinChartPoints,
                                         kMaxChartPoints);
  std::string html = render_report(results, max_points);
  while (html.size() > kTargetReportBytes && max_points > kFloorChartPoints) {
    max_points = std::max(kFloorChartPoints, max_points * 6 / 10);
    html = render_report(results, max_points);
  }
  return html;
}

}  // namespace sockchaos::reports
