// results.json -> one self-contained HTML report (inline CSS, JS and SVG; no other host is
// contacted, it opens from disk).
//
// Layout: a summary (#summary), then per scenario an overview of its matrix - a heatmap
// (table.heatmap, log colour scale of detection time) for two axes, a sortable table with
// inline bars for one or more than two axes, a card without a matrix - and per cell a
// collapsible <details> with expectations, runs, a socket-state timeline (svg.timeline),
// probe or request charts/tables, the command's output and the event list.
//
// Every string from the results is escaped; long timelines are downsampled to
// kMaxChartPoints per series (events are all kept), so a 100-cell run stays well under 2 MB.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace sockchaos::reports {

inline constexpr size_t kMaxChartPoints = 300;

std::string render_html_report(const nlohmann::ordered_json& results);

}  // namespace sockchaos::reports
