#include "harness/session/session.hpp"

#include <optional>
#include <regex>
#include <stdexcept>

#include "common/limits.hpp"
#include "harness/world/process.hpp"
#include "harness/verdict/results.hpp"
#include "harness/world/environment.hpp"
#include "harness/world/scratch.hpp"
#include "harness/session/resources.hpp"

namespace sockchaos::harness {

Results run_session(const std::vector<Scenario>& scenarios, const SessionOptions& options) {
  raise_open_file_limit();
  sweep_dead_scratch();  // what killed runs (and their reapers) left behind
  std::optional<std::regex> re;
  if (!options.filter.empty()) {
    try {
      re.emplace(options.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw std::invalid_argument(std::string("--filter: not a valid regular expression: ") + e.what());
    }
  }
  if (options.shard_n < 1 || options.shard_k < 1 || options.shard_k > options.shard_n)
    throw std::invalid_argument("--shard: expected K/N with 1 <= K <= N");
  std::vector<PlannedCell> cells;
  for (size_t i = 0; i < scenarios.size(); ++i)
    for (auto& c : expand_cells(scenarios[i])) {
      if (re && !std::regex_search(c.full_id(), *re)) continue;
      cells.push_back({i, std::move(c)});
    }
  cells = select_shard(std::move(cells), options.shard_k, options.shard_n);
  if (cells.empty()) throw std::invalid_argument("no cell to run (check the filter / shard)");

  // Refused up front when a cell cannot fit at all; parallel cells limited to what fits.
  const ResourcePlan plan = plan_resources(cells, options.jobs > 0 ? options.jobs : default_jobs(cells, machine_budget()),
                                           MachineLimits::current());
  if (!plan.problems.empty()) {
    std::string what = std::to_string(plan.problems.size()) + " cell(s) need more than this machine gives; nothing was run:";
    for (size_t i = 0; i < plan.problems.size() && i < 10; ++i) what += "\n  " + plan.problems[i];
    if (plan.problems.size() > 10) what += "\n  (and " + std::to_string(plan.problems.size() - 10) + " more)";
    throw EnvironmentError(what, plan.advice);
  }

  ScheduleOptions sched;
  sched.jobs = plan.jobs;
  sched.run.agent_path = options.agent_path.empty() ? find_agent_path() : options.agent_path;
  sched.run.cancel_fd = options.cancel_fd;
  sched.run.results_dir = options.results_dir;
  sched.on_progress = options.on_progress;
  if (options.on_cell_done)
    sched.on_cell_done = [&](const PlannedCell& pc, const CellResult& cell, const Progress& p) {
      options.on_cell_done(scenarios[pc.scenario_index], cell, p);
    };
  std::string started = iso8601_utc_now();
  std::vector<CellResult> results = run_cells(cells, sched);

  std::vector<std::vector<CellResult>> per(scenarios.size());
  for (size_t i = 0; i < cells.size(); ++i) per[cells[i].scenario_index].push_back(std::move(results[i]));
  std::vector<ScenarioResult> ran;
  for (size_t i = 0; i < per.size(); ++i)
    if (!per[i].empty()) ran.push_back(scenario_result(scenarios[i], std::move(per[i])));
  return make_results(std::move(ran), started);
}

}  // namespace sockchaos::harness
