// Console output: one line per finished cell, a summary table at the end, and a live progress
// line for terminals. All text taken from results is stripped of control characters so a
// scenario name or a command's output cannot move the cursor or change the terminal.
#pragma once
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>

#include "harness/verdict/results.hpp"

namespace sockchaos::reports {

// "half-open/tcp_user_timeout=2s keepalive=off: detected 2208.4 ms ETIMEDOUT; model 2200.0 ms ok, expectations
// 1/1 passed" - plain text, no colour, no newline.
std::string format_cell_line(std::string_view scenario_name, const harness::CellResult& cell);
std::string format_cell_line(const harness::ScenarioResult& scenario, const harness::CellResult& cell);

// Aligned table (cell, outcome, detection, model, errno, expectations) of every cell, then the totals
// of results.summary. `color` adds ANSI colours (only when the output is a terminal).
std::string format_summary_table(const harness::Results& results, bool color);

// A single status line rewritten in place with '\r' (for stderr when it is a TTY):
// "[#######.......] 12/40 done  4 running  1 failed  0:35 elapsed  ~1:20 left".
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::ostream& out, int width = 80);
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // eta_s < 0 means unknown. Thread-safe.
  void update(int done, int running, int failed, int total, double elapsed_s, double eta_s);
  // Ends the status line with a newline (if one was drawn), so later output starts clean.
  void finish();

  // The text update() draws, without '\r' and the erase-to-end-of-line sequence.
  static std::string status_text(int done, int running, int failed, int total, double elapsed_s,
                                 double eta_s, int width);

 private:
  std::ostream& out_;
  int width_;
  bool drawn_ = false;
  std::mutex mutex_;
};

}  // namespace sockchaos::reports
