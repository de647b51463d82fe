#include "harness/scheduler.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace sockchaos::harness {

int default_jobs(size_t cells) {
  // Cells wait on kernel timers far more than they compute: overlap up to 64 of them.
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(cells, 64)));
}

std::vector<json> run_cells(const std::vector<PlannedCell>& cells, const ScheduleOptions& options) {
  std::vector<json> results(cells.size());
  int jobs = options.jobs > 0 ? options.jobs : default_jobs(cells.size());
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(std::max<size_t>(1, cells.size()))));
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Progress progress;
  progress.total = static_cast<int>(cells.size());
  std::exception_ptr env_error;

  auto worker = [&] {
    for (;;) {
      if (stop.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= cells.size()) return;
      {
        std::lock_guard lock(mu);
        progress.running++;
        if (options.on_progress) options.on_progress(progress);
      }
      json r;
      try {
        r = run_cell(cells[i].cell, options.run);
      } catch (const EnvironmentError&) {
        std::lock_guard lock(mu);
        if (!env_error) env_error = std::current_exception();
        stop = true;
        progress.running--;
        return;
      } catch (const std::exception& e) {
        r = json::object();
        r["id"] = cells[i].cell.id;
        r["params"] = cells[i].cell.params;
        r["runs"] = json::array({json{{"outcome", "error"}, {"error_detail", e.what()}}});
        r["expectations"] = json::array();
      }
      std::lock_guard lock(mu);
      results[i] = r;
      progress.running--;
      progress.done++;
      bool failed = false;
      for (const auto& run : r["runs"])
        if (run.value("outcome", "") == "error") failed = true;
      for (const auto& e : r["expectations"])
        if (!e.value("passed", true)) failed = true;
      if (failed) progress.failed++;
      if (options.on_cell_done) options.on_cell_done(cells[i], r, progress);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (env_error) std::rethrow_exception(env_error);
  return results;
}

std::vector<PlannedCell> select_shard(std::vector<PlannedCell> cells, int k, int n) {
  std::vector<PlannedCell> out;
  for (size_t i = 0; i < cells.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(n)) == k - 1) out.push_back(std::move(cells[i]));
  return out;
}

}  // namespace sockchaos::harness
