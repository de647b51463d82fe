#include "reports/console.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <vector>

#include "reports/report_util.hpp"

namespace sockchaos::reports {

namespace {

std::string terminal_safe(std::string_view text) {
  return sanitize_text(text, SanitizeOptions{.keep_newlines = false, .drop_c1 = true});
}

std::string detection_text(const CellDigest& digest) {
  if (!digest.detection_ms) return "-";
  std::string text = format_ms(digest.detection_ms);
  if (digest.detected > 1 && digest.detection_min_ms && digest.detection_max_ms &&
      *digest.detection_min_ms != *digest.detection_max_ms) {
    text += " (" + format_number(*digest.detection_min_ms) + "-" +
            format_number(*digest.detection_max_ms) + ")";
  }
  return text;
}

std::string expectations_text(const CellDigest& digest) {
  if (digest.expectations_total == 0) return "-";
  return std::to_string(digest.expectations_passed()) + "/" +
         std::to_string(digest.expectations_total) + " passed";
}

std::string clock_text(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  long total = std::lround(seconds);
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  }
  return buffer;
}

std::string pad(const std::string& text, size_t width) {
  size_t shown = display_width(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kBoldRed = "\x1b[1;31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kMagenta = "\x1b[35m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kBold = "\x1b[1m";

const char* outcome_color(const std::string& outcome) {
  if (outcome == "detected") return kGreen;
  if (outcome == "undetected") return kYellow;
  if (outcome == "error") return kMagenta;
  if (outcome == "mixed") return kYellow;
  return kDim;
}

}  // namespace

std::string format_cell_line(std::string_view scenario_name, const harness::CellResult& cell) {
  CellDigest digest = digest_cell(cell);
  std::string line = terminal_safe(scenario_name) + "/" + terminal_safe(cell_display_id(cell)) + ": " +
                     digest.outcome_label;
  if (digest.detection_ms) line += " " + detection_text(digest);
  if (!digest.error.empty()) line += " " + terminal_safe(digest.error);
  if (digest.outcome == "error" && !digest.error_detail.empty()) {
    line += " (" + terminal_safe(digest.error_detail) + ")";
  }
  if (cell_model(cell, digest)) line += "; model " + model_text(cell, digest);
  if (digest.expectations_total > 0) {
    line += ", expectations " + expectations_text(digest);
    if (digest.expectations_failed > 0) {
      line += " (" + std::to_string(digest.expectations_failed) + " FAILED)";
    }
  }
  return line;
}

std::string format_cell_line(const harness::ScenarioResult& scenario, const harness::CellResult& cell) {
  return format_cell_line(scenario.name, cell);
}

std::string format_summary_table(const harness::Results& results, bool color) {
  struct Row {
    std::string cell, outcome, detection, model, error, expectations;
    std::string outcome_kind;
    bool failed = false;
  };
  std::vector<Row> rows;
  for (const harness::ScenarioResult& scenario : results.scenarios) {
    std::string name = terminal_safe(scenario.name);
    for (const harness::CellResult& cell : scenario.cells) {
      CellDigest digest = digest_cell(cell);
      Row row;
      row.cell = name + "/" + terminal_safe(cell_display_id(cell));
      row.outcome = digest.outcome_label;
      row.outcome_kind = digest.outcome;
      row.detection = detection_text(digest);
      row.model = model_text(cell, digest);
      row.error = digest.error.empty() ? "-" : terminal_safe(digest.error);
      row.expectations = expectations_text(digest);
      row.failed = digest.expectations_failed > 0;
      if (row.failed) row.expectations += " FAIL";
      rows.push_back(std::move(row));
    }
  }

  const std::vector<std::string> headers = {"cell", "outcome", "detection", "model", "errno", "expectations"};
  std::vector<size_t> widths;
  for (const auto& header : headers) widths.push_back(header.size());
  for (const Row& row : rows) {
    const std::string* fields[] = {&row.cell, &row.outcome, &row.detection, &row.model, &row.error, &row.expectations};
    for (size_t i = 0; i < 6; ++i) widths[i] = std::max(widths[i], display_width(*fields[i]));
  }

  auto paint = [&](const std::string& text, const char* code) {
    return color ? std::string(code) + text + kReset : text;
  };

  std::string out;
  std::string header_line;
  for (size_t i = 0; i < headers.size(); ++i) {
    header_line += (i ? "  " : "") + (i + 1 < headers.size() ? pad(headers[i], widths[i]) : headers[i]);
  }
  out += paint(header_line, kBold) + "\n";
  for (const Row& row : rows) {
    std::string line = pad(row.cell, widths[0]) + "  " +
                       paint(pad(row.outcome, widths[1]), outcome_color(row.outcome_kind)) + "  " +
                       pad(row.detection, widths[2]) + "  " + pad(row.model, widths[3]) + "  " +
                       pad(row.error, widths[4]) + "  " +
                       paint(row.expectations, row.failed ? kBoldRed : kGreen);
    // trailing blanks of padded columns are harmless but trim them for clean diffs
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }

  const harness::Summary& sum = results.summary;
  std::string totals = std::to_string(sum.cells) + " cells, " + std::to_string(sum.runs) + " runs; " +
                       "expectations: " + std::to_string(sum.expectations_passed) + " passed, ";
  totals += paint(std::to_string(sum.expectations_failed) + " failed", sum.expectations_failed > 0 ? kBoldRed : kGreen);
  totals += "; errors: " + paint(std::to_string(sum.errors), sum.errors > 0 ? kRed : kGreen);
  out += totals + "\n";
  return out;
}

ProgressDisplay::ProgressDisplay(std::ostream& out, int width)
    : out_(out), width_(std::max(width, 20)) {}

std::string ProgressDisplay::status_text(int done, int running, int failed, int total,
                                         double elapsed_s, double eta_s, int width) {
  std::string tail = " " + std::to_string(done) + "/" + std::to_string(total) + " done  " +
                     std::to_string(running) + " running  " + std::to_string(failed) +
                     " failed  " + clock_text(elapsed_s) + " elapsed";
  if (eta_s >= 0 && std::isfinite(eta_s)) tail += "  ~" + clock_text(eta_s) + " left";

  // The bar takes what the numbers leave, between 10 and 30 columns; dropped if too narrow.
  int bar_width = std::min(30, width - 1 - static_cast<int>(tail.size()) - 2);
  std::string text;
  if (bar_width >= 10) {
    int filled = total > 0 ? static_cast<int>(std::lround(
                                 bar_width * std::clamp(done / double(total), 0.0, 1.0)))
                           : 0;
    text = "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "]";
  }
  text += tail;
  if (static_cast<int>(text.size()) > width - 1) text.resize(std::max(0, width - 1));
  return text;
}

void ProgressDisplay::update(int done, int running, int failed, int total, double elapsed_s,
                             double eta_s) {
  std::lock_guard lock(mutex_);
  out_ << '\r' << status_text(done, running, failed, total, elapsed_s, eta_s, width_)
       << "\x1b[K" << std::flush;
  drawn_ = true;
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mutex_);
  if (drawn_) out_ << '\n' << std::flush;
  drawn_ = false;
}

}  // namespace sockchaos::reports
