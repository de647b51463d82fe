// results.json -> one self-contained HTML report (inline CSS, JS and SVG; no other host is
// contacted, it opens from disk).
//
// Layout: a summary (#summary), then per scenario an overview of its matrix - a heatmap
// (table.heatmap, log colour scale of detection time) for two axes, a sortable table with
// inline bars for one or more than two axes, a card without a matrix - and per cell a
// collapsible <details> with expectations, runs, a socket-state timeline (svg.timeline),
// probe or request charts/tables, the command's output and the event list.
//
// Every string from the results is escaped; long timelines are downsampled (maximum per
// interval; events are all kept), so a 100-cell run stays well under 2 MB.
#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace sockchaos::reports {

// Points per chart series: kMaxChartPoints for up to 30 cells, fewer for more cells (100 for a
// 100-cell run), never under kMinChartPoints.
inline constexpr size_t kMaxChartPoints = 300;
inline constexpr size_t kMinChartPoints = 100;
// Reports above this size are rendered again with fewer points (down to kFloorChartPoints).
inline constexpr size_t kTargetReportBytes = 1800 * 1024;
inline constexpr size_t kFloorChartPoints = 40;

std::string render_html_report(const nlohmann::ordered_json& results);

}  // namespace sockchaos::reports
