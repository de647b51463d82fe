// Minimal SVG charting for the HTML report: scales, ticks, compact path strings and a palette.
// Drawn in C++ so the report is deterministic, dependency-free and small.
#pragma once
#include <string>
#include <vector>

namespace sockchaos::reports::svg {

enum class ScaleKind {
  linear,
  symlog,  // log10(1 + v): counts spanning 0..30000 with small series still visible
  log,     // log10(v), v > 0: latencies, detection times
};

struct Scale {
  double lo = 0, hi = 1;        // domain
  double px_lo = 0, px_hi = 1;  // range
  ScaleKind kind = ScaleKind::linear;

  double operator()(double value) const;
  // Position in [0, 1] of `value` in the domain (clamped).
  double fraction(double value) const;
};

// Tick values inside [lo, hi] suited to the scale kind (about `target` of them).
std::vector<double> ticks(const Scale& scale, int target = 5);
// A "nice" upper bound >= value for linear axes (1, 2, 5 x 10^n steps).
double nice_ceiling(double value);

// Compact path data: coordinates rounded to one decimal (integers print without one).
std::string coordinate(double px);
// Data paths use whole pixels (the charts' viewBox is ~1000 units wide) to stay small.
std::string whole(double px);
// Step line (value holds until the next sample): "M x y H x V y ...", emitting only changes.
std::string step_path(const std::vector<double>& xs, const std::vector<double>& ys);
// Straight segments: "M x y L x y x y ...".
std::string line_path(const std::vector<double>& xs, const std::vector<double>& ys);

// Sequential palette (viridis reversed: 0 = light yellow, 1 = dark purple) as "#rrggbb".
std::string sequential_color(double fraction);
// Black or white, whichever reads better on sequential_color(fraction).
std::string sequential_text_color(double fraction);

}  // namespace sockchaos::reports::svg
