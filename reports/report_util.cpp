#include "reports/report_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "harness/metrics/stats.hpp"

namespace sockchaos::reports {

std::string value_label(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number_float()) return format_number(value.get<double>(), 6);
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at s[i] and its code point, or 0 when invalid.
size_t decode_utf8(std::string_view s, size_t i, char32_t* code_point) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t length;
  char32_t cp;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return length;
}

std::string escape_markup(std::string_view text) {
  std::string clean = sanitize_text(text);
  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string sanitize_text(std::string_view text, SanitizeOptions options) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    size_t length = decode_utf8(text, i, &cp);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (cp == '\n' || cp == '\r' || cp == '\t') {
      out += options.keep_newlines ? static_cast<char>(cp) : ' ';
    } else if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) {
      // dropped: not allowed in XML 1.0, and escape sequences must not reach a terminal
    } else if (options.drop_c1 && (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))) {
      // dropped
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::string html_escape(std::string_view text) { return escape_markup(text); }
std::string xml_escape(std::string_view text) { return escape_markup(text); }

std::string json_for_script(const json& value) {
  std::string dumped = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size() + 16);
  for (size_t i = 0; i < dumped.size(); ++i) {
    char c = dumped[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
               (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9')) {
      out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

size_t display_width(std::string_view utf8) {
  size_t width = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string format_number(double value, int max_decimals) {
  if (!std::isfinite(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", std::clamp(max_decimals, 0, 9), value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

std::string format_ms(std::optional<double> ms, const std::string& none) {
  if (!ms) return none;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f ms", *ms);
  return buffer;
}

std::string format_ms_compact(double ms) {
  char buffer[64];
  if (std::fabs(ms) < 1000) {
    std::snprintf(buffer, sizeof buffer, "%.0f ms", ms);
  } else if (std::fabs(ms) < 10000) {
    std::snprintf(buffer, sizeof buffer, "%.2f s", ms / 1000);
  } else if (std::fabs(ms) < 100000) {
    std::snprintf(buffer, sizeof buffer, "%.1f s", ms / 1000);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f s", ms / 1000);
  }
  return buffer;
}

namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return harness::median_sorted(values);
}

}  // namespace

CellDigest digest_cell(const harness::CellResult& cell) {
  using harness::Outcome;
  CellDigest digest;
  const auto& runs = cell.runs;
  std::vector<double> detections;
  std::map<std::string, int> error_counts;
  std::vector<std::string> error_order;
  for (const harness::RunResult& run : runs) {
    ++digest.runs;
    switch (run.outcome) {
      case Outcome::detected:
        ++digest.detected;
        if (run.detection_ms) detections.push_back(*run.detection_ms);
        break;
      case Outcome::undetected: ++digest.undetected; break;
      case Outcome::error:
        if (digest.error_detail.empty() && run.error_detail) digest.error_detail = *run.error_detail;
        break;
      case Outcome::skipped: break;
    }
    if (run.error && !run.error->empty()) {
      if (error_counts[*run.error]++ == 0) error_order.push_back(*run.error);
    }
    digest.duration_ms += run.duration_ms;
  }
  digest.errors = cell.errored_runs();
  digest.skipped = cell.skipped_runs();

  int effective = digest.runs - digest.skipped;
  if (digest.runs == 0) {
    digest.outcome = "none";
  } else if (digest.errors > 0) {
    digest.outcome = "error";
  } else if (effective == 0) {
    digest.outcome = "skipped";
  } else if (digest.detected == effective) {
    digest.outcome = "detected";
  } else if (digest.detected == 0) {
    digest.outcome = "undetected";
  } else {
    digest.outcome = "mixed";
  }
  digest.outcome_label = digest.outcome;
  if (digest.outcome == "mixed") {
    digest.outcome_label = "detected " + std::to_string(digest.detected) + "/" + std::to_string(effective);
  } else if (digest.outcome == "error" && digest.errors < digest.runs) {
    digest.outcome_label = "error " + std::to_string(digest.errors) + "/" + std::to_string(digest.runs);
  }

  if (cell.summary.detection_ms) {
    digest.detection_ms = cell.summary.detection_ms->median;
    digest.detection_min_ms = cell.summary.detection_ms->min;
    digest.detection_max_ms = cell.summary.detection_ms->max;
  } else if (!detections.empty()) {
    digest.detection_ms = median_of(detections);
    digest.detection_min_ms = *std::min_element(detections.begin(), detections.end());
    digest.detection_max_ms = *std::max_element(detections.begin(), detections.end());
  }

  int best_count = 0;
  for (const std::string& error : error_order) {
    if (error_counts[error] > best_count) {
      best_count = error_counts[error];
      digest.error = error;
    }
  }

  double best_distance = INFINITY;
  bool found = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].outcome != Outcome::detected || !runs[i].detection_ms || !digest.detection_ms) continue;
    double distance = std::fabs(*runs[i].detection_ms - *digest.detection_ms);
    if (distance < best_distance) {
      best_distance = distance;
      digest.representative_run = i;
      found = true;
    }
  }
  if (!found) {
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].outcome != Outcome::skipped) {
        digest.representative_run = i;
        break;
      }
    }
  }
  if (!runs.empty() && runs[digest.representative_run].mechanism) {
    digest.mechanism = harness::name_string(*runs[digest.representative_run].mechanism);
  }

  digest.expectations_total = static_cast<int>(cell.expectations.size());
  digest.expectations_failed = cell.expectations_failed();
  digest.passed = cell.passed();
  return digest;
}

std::string cell_display_id(const harness::CellResult& cell) { return cell.id.empty() ? "default" : cell.id; }

std::vector<std::string> scenario_axes(const harness::ScenarioResult& scenario) {
  std::vector<std::string> axes;
  auto add = [&](const std::string& axis) {
    if (std::find(axes.begin(), axes.end(), axis) == axes.end()) axes.push_back(axis);
  };
  for (const std::string& axis : scenario.matrix_axes) add(axis);
  if (axes.empty()) {
    for (const harness::CellResult& cell : scenario.cells) {
      if (!cell.params.is_object()) continue;
      for (const auto& [key, value] : cell.params.items()) add(key);
    }
  }
  return axes;
}

const harness::ModelResult* cell_model(const harness::CellResult& cell, const CellDigest& digest) {
  if (digest.representative_run >= cell.runs.size()) return nullptr;
  const auto& model = cell.runs[digest.representative_run].model;
  return model ? &*model : nullptr;
}

namespace {
std::string model_text_of(const harness::ModelResult& r, bool compact) {
  const harness::Model& m = r.model;
  std::string value;
  if (m.count) value = format_number(*m.count, 1);
  else if (m.ms) value = compact ? format_ms_compact(*m.ms) : format_ms(*m.ms);
  else if (m.mechanism == "unmodelled") return "not modelled";
  else value = "never";
  if (r.check.holds) return value + " ok";
  std::string out = value + " off";
  if (r.check.delta_ms) out += std::string(" ") + (*r.check.delta_ms >= 0 ? "+" : "") + format_number(*r.check.delta_ms, 1);
  return out;
}
}  // namespace

std::string model_text(const harness::RunResult& run, bool compact) {
  return run.model ? model_text_of(*run.model, compact) : "-";
}

std::string model_text(const harness::CellResult& cell, const CellDigest& digest, bool compact) {
  const harness::ModelResult* m = cell_model(cell, digest);
  return m ? model_text_of(*m, compact) : "-";
}

}  // namespace sockchaos::reports
