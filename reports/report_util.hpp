// Shared helpers for the report writers: text sanitising and escaping, number formatting, and a
// per-cell digest (outcome, detection time, errno, representative run) that the HTML, JUnit and
// console writers all agree on.
//
// Convention: the writers read the typed results (harness/verdict/results.hpp), already checked
// where they were read (harness::results_from_json). What a type makes optional is shown as
// absent ("-"), never guessed. Whether a cell passed is CellResult::passed(), its counts are
// CellResult's and the run's totals harness::Summary: nothing here recounts them.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "harness/verdict/results.hpp"

namespace sockchaos::reports {

// Text for a JSON value as a user wrote it (a matrix parameter): strings bare, numbers short,
// the rest compact JSON.
std::string value_label(const json& value);

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
std::string json_for_script(const json& value);
// Number of code points: the display width used to align console tables.
size_t display_width(std::string_view utf8);

// printf-style "%.Nf" with trailing zeros trimmed ("2208.4", "3", "0.25").
std::string format_number(double value, int max_decimals = 1);
// "2208.4 ms" (always one decimal), or `none` when absent.
std::string format_ms(std::optional<double> ms, const std::string& none = "-");
// Short form for dense displays: "812 ms", "2.21 s", "12.3 s", "95 s".
std::string format_ms_compact(double ms);

// What a cell's runs add up to, for display. Counts of errors and failed expectations are the
// cell's own (CellResult::errored_runs, expectations_failed); this adds what the displays need.
struct CellDigest {
  std::string outcome = "none";  // detected | undetected | error | skipped | mixed | none
  std::string outcome_label;     // outcome, or "detected 3/5" / "error 1/3" for mixed repeats
  int runs = 0, detected = 0, undetected = 0, errors = 0, skipped = 0;
  // Median / min / max of the detected runs: the verdict's CellSummary when the results carry
  // one, else computed from the runs the same way.
  std::optional<double> detection_ms, detection_min_ms, detection_max_ms;
  std::string error;         // most frequent client error name ("ETIMEDOUT", "app_timeout", ...)
  std::string mechanism;     // of the representative run
  std::string error_detail;  // the first errored run's error_detail
  int expectations_total = 0, expectations_failed = 0;
  bool passed = true;             // CellResult::passed()
  double duration_ms = 0;         // sum of the runs' duration_ms
  size_t representative_run = 0;  // the run the charts show: the detected run nearest the median
                                  // detection, else the first run that was not skipped

  int expectations_passed() const { return expectations_total - expectations_failed; }
};
CellDigest digest_cell(const harness::CellResult& cell);

// The kernel's model of a run beside its measurement, for tables: "2200.0 ms ok" (the
// measurement is inside the model's window), "2200.0 ms off +48.2" (measured - model, outside),
// "never ok" (undetected, as predicted), "not modelled", or "-" (the run carries no model).
// `compact` uses format_ms_compact.
std::string model_text(const harness::RunResult& run, bool compact = false);
// The same for a cell: its representative run's model.
std::string model_text(const harness::CellResult& cell, const CellDigest& digest, bool compact = false);
// The representative run's model, if any.
const harness::ModelResult* cell_model(const harness::CellResult& cell, const CellDigest& digest);

// The cell's display id: its id, or "default" for a scenario without a matrix.
std::string cell_display_id(const harness::CellResult& cell);

// Matrix axes of a scenario: matrix_axes, else the union of the cells' params keys.
std::vector<std::string> scenario_axes(const harness::ScenarioResult& scenario);

}  // namespace sockchaos::reports
