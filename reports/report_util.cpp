#include "reports/report_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace sockchaos::reports {

const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_member(const Json& object, const char* key, const std::string& fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (value->is_string()) return value->get<std::string>();
  return value_label(*value);
}

std::optional<double> number_member(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  double number = value->get<double>();
  if (!std::isfinite(number)) return std::nullopt;
  return number;
}

const Json& array_member(const Json& object, const char* key) {
  static const Json empty_array = Json::array();
  const Json* value = member(object, key);
  return (value != nullptr && value->is_array()) ? *value : empty_array;
}

const Json& object_member(const Json& object, const char* key) {
  static const Json empty_object = Json::object();
  const Json* value = member(object, key);
  return (value != nullptr && value->is_object()) ? *value : empty_object;
}

std::string value_label(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number_float()) return format_number(value.get<double>(), 6);
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
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

std::string json_for_script(const Json& value) {
  std::string dumped = value.dump(-1, ' ', false, Json::error_handler_t::replace);
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
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

CellDigest digest_cell(const Json& cell) {
  CellDigest digest;
  const Json& runs = array_member(cell, "runs");
  std::vector<double> detections;
  std::map<std::string, int> error_counts;
  std::vector<std::string> error_order;
  for (const Json& run : runs) {
    ++digest.runs;
    std::string outcome = string_member(run, "outcome");
    if (outcome == "detected") {
      ++digest.detected;
      if (auto ms = number_member(run, "detection_ms")) detections.push_back(*ms);
    } else if (outcome == "undetected") {
      ++digest.undetected;
    } else if (outcome == "error") {
      ++digest.errors;
      if (digest.error_detail.empty()) digest.error_detail = string_member(run, "error_detail");
    } else {
      ++digest.skipped;  // "skipped" and anything unknown
    }
    std::string error = string_member(run, "error");
    if (!error.empty()) {
      if (error_counts[error]++ == 0) error_order.push_back(error);
    }
    if (auto ms = number_member(run, "duration_ms")) digest.duration_ms += *ms;
  }

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
    digest.outcome_label =
        "detected " + std::to_string(digest.detected) + "/" + std::to_string(effective);
  } else if (digest.outcome == "error" && digest.errors < digest.runs) {
    digest.outcome_label =
        "error " + std::to_string(digest.errors) + "/" + std::to_string(digest.runs);
  }

  if (!detections.empty()) {
    digest.detection_ms = median_of(detections);
    digest.detection_min_ms = *std::min_element(detections.begin(), detections.end());
    digest.detection_max_ms = *std::max_element(detections.begin(), detections.end());
  }
  // The orchestrator's own summary wins when it has one (it may aggregate more than we see).
  const Json& summary_detection = object_member(object_member(cell, "summary"), "detection_ms");
  if (auto median = number_member(summary_detection, "median")) digest.detection_ms = *median;
  if (auto low = number_member(summary_detection, "min")) digest.detection_min_ms = *low;
  if (auto high = number_member(summary_detection, "max")) digest.detection_max_ms = *high;

  int best_count = 0;
  for (const std::string& error : error_order) {
    if (error_counts[error] > best_count) {
      best_count = error_counts[error];
      digest.error = error;
    }
  }

  // Representative run: the detected run nearest the median, else the first non-skipped one.
  double best_distance = INFINITY;
  bool found = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto ms = number_member(runs[i], "detection_ms");
    if (digest.detection_ms && ms && string_member(runs[i], "outcome") == "detected") {
      double distance = std::fabs(*ms - *digest.detection_ms);
      if (distance < best_distance) {
        best_distance = distance;
        digest.representative_run = i;
        found = true;
      }
    }
  }
  if (!found) {
    for (size_t i = 0; i < runs.size(); ++i) {
      if (string_member(runs[i], "outcome") != "skipped") {
        digest.representative_run = i;
        break;
      }
    }
  }
  if (!runs.empty()) digest.mechanism = string_member(runs[digest.representative_run], "mechanism");

  for (const Json& expectation : array_member(cell, "expectations")) {
    ++digest.expectations_total;
    const Json* passed = member(expectation, "passed");
    if (passed != nullptr && passed->is_boolean() && passed->get<bool>()) {
      ++digest.expectations_passed;
    }
  }
  return digest;
}

std::string cell_display_id(const Json& cell) {
  std::string id = string_member(cell, "id");
  return id.empty() ? "default" : id;
}

std::vector<std::string> scenario_axes(const Json& scenario) {
  std::vector<std::string> axes;
  auto add = [&](const std::string& axis) {
    if (std::find(axes.begin(), axes.end(), axis) == axes.end()) axes.push_back(axis);
  };
  for (const Json& axis : array_member(scenario, "matrix_axes")) {
    if (axis.is_string()) add(axis.get<std::string>());
  }
  if (axes.empty()) {
    for (const Json& cell : array_member(scenario, "cells")) {
      for (const auto& [key, value] : object_member(cell, "params").items()) add(key);
    }
  }
  return axes;
}

}  // namespace sockchaos::reports
