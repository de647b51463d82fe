// Typed results -> one self-contained HTML report (inline CSS, JS and SVG; no other host is
// contacted, it opens from disk).
//
// Layout: a summary (#summary), then per scenario an overview of its matrix - a heatmap
// (table.heatmap, log colour scale of detection time) for two axes, a sortable table with
// inline bars for one or more than two axes, a card without a matrix - and per cell a
// collapsible <details> with expectations, runs, a socket-state timeline (svg.timeline),
// probe or request charts/tables, the command's output and the event list.
//
// Socket scenarios. A scenario is shown by its sockets when its cells carry at least one
// socket check and none about detection time. Checks are told apart by their key, the first
// word of ExpectationResult::check (harness/verdict/expectations.hpp):
//   socket checks:    time_wait_max/min, states_max/min, time_wait_cleared_after/within,
//                     probe_failures_max/min ("time_wait_max 0 (client)": host in parentheses,
//                     "states_max CLOSE_WAIT 0 (server)": the state second);
//   detection checks: detected_within, detected_after.
// ("undetected", "error" and "mechanism" checks do not decide it: a TIME_WAIT scenario may
// also expect no error, a port-exhaustion one EADDRNOTAVAIL.) In such a scenario each cell
// whose runs could be judged (outcome detected, undetected or mixed) shows, instead of its
// detection time or "never", what each of its socket checks measured, once per metric, in the
// order of its checks but probe failures last: "TIME_WAIT peak 15000", "CLOSE_WAIT 200
// (server)", "cleared 61.0 s", "probe failures 0" (the host is named when it is not the
// client; repeated runs give a "min-max" range). The first is the headline: the heatmap cell's
// value, the card's big number, the table's bar and sort key ("sockets" column), coloured on a
// log scale from 0 to the largest value of that metric in the scenario. These elements carry
// class "sock-metric", and the scenario's <section> class "sockets-view". Cells whose runs
// errored or were skipped show that as everywhere else.
//
// Every string from the results is escaped; long timelines are downsampled (maximum per
// interval; events are all kept), so a 100-cell run stays well under 2 MB. The results are
// rendered as they are: whether a cell passed is CellResult::passed(), the totals are
// Results::summary.
#pragma once
#include <cstddef>
#include <string>

#include "harness/verdict/results.hpp"

namespace sockchaos::reports {

// Points per chart series: kMaxChartPoints for up to 30 cells, fewer for more cells (100 for a
// 100-cell run), never under kMinChartPoints.
inline constexpr size_t kMaxChartPoints = 300;
inline constexpr size_t kMinChartPoints = 100;
// Reports above this size are rendered again with fewer points (down to kFloorChartPoints).
inline constexpr size_t kTargetReportBytes = 1800 * 1024;
inline constexpr size_t kFloorChartPoints = 40;

std::string render_html_report(const harness::Results& results);

}  // namespace sockchaos::reports
