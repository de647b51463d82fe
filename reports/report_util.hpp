// Shared helpers for the report writers: tolerant access to results.json, text sanitising and
// escaping, number formatting, and a per-cell digest (outcome, detection time, errno,
// expectations) that the HTML, JUnit and console writers all agree on.
//
// Convention: results are read-only input written by another process (or edited by hand, or
// merged from shards), so every accessor tolerates a missing key or a value of the wrong type
// and returns a neutral default instead of throwing.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sockchaos::reports {

using Json = nlohmann::ordered_json;

// nullptr when `object` is not an object, lacks `key`, or the value is null.
const Json* member(const Json& object, const char* key);
std::string string_member(const Json& object, const char* key, const std::string& fallback = "");
std::optional<double> number_member(const Json& object, const char* key);
// A static empty array / object when missing or of another type.
const Json& array_member(const Json& object, const char* key);
const Json& object_member(const Json& object, const char* key);

// Text for a JSON value as a user wrote it: strings bare, numbers short, the rest compact JSON.
std::string value_label(const Json& value);

struct SanitizeOptions {
  bool keep_newlines = true;  // keep \n, \r and \t; otherwise they become spaces
  bool drop_c1 = false;       // drop U+0080..U+009F (terminals may read U+009B as CSI)
};
// Valid UTF-8 without C0 controls (except, optionally, newline/tab) and without U+FFFE/U+FFFF:
// invalid sequences become U+FFFD. Safe for XML 1.0, HTML and terminals.
std::string sanitize_text(std::string_view text, SanitizeOptions options = {});
std::string html_escape(std::string_view text);  // sanitised; & < > " ' escaped
std::string xml_escape(std::string_view text);   // sanitised; & < > " ' escaped
// JSON for a <script type="application/json"> block: < > & U+2028 U+2029 as \uXXXX escapes.
std::string json_for_script(const Json& value);
// Number of code points: the display width used to align console tables.
size_t display_width(std::string_view utf8);

// printf-style "%.Nf" with trailing zeros trimmed ("2208.4", "3", "0.25").
std::string format_number(double value, int max_decimals = 1);
// "2208.4 ms" (always one decimal), or `none` when absent.
std::string format_ms(std::optional<double> ms, const std::string& none = "-");
// Short form for dense displays: "812 ms", "2.21 s", "12.3 s", "95 s".
std::string format_ms_compact(double ms);

struct CellDigest {
  std::string outcome = "none";  // detected | undetected | error | skipped | mixed | none
  std::string outcome_label;     // outcome, or "detected 3/5" for mixed repeats
  int runs = 0, detected = 0, undetected = 0, errors = 0, skipped = 0;
  std::optional<double> detection_ms;  // median of the detected runs
  std::optional<double> detection_min_ms, detection_max_ms;
  std::string error;       // most frequent client error name ("ETIMEDOUT", "app_timeout", ...)
  std::string mechanism;   // of the representative run
  std::string error_detail;  // first run's error_detail when a run errored
  int expectations_total = 0, expectations_passed = 0;
  double duration_ms = 0;     // sum of the runs' duration_ms
  size_t representative_run = 0;  // index of the run the charts show (median detection)

  int expectations_failed() const { return expectations_total - expectations_passed; }
};
CellDigest digest_cell(const Json& cell);

// The cell's display id: its "id", or "default" for a scenario without a matrix.
std::string cell_display_id(const Json& cell);

// Matrix axes of a scenario: "matrix_axes" if present, else the union of the cells' params keys.
std::vector<std::string> scenario_axes(const Json& scenario);

}  // namespace sockchaos::reports
