#include "harness/session/scheduler.hpp"

#include "harness/metrics/metrics.hpp"
#include "harness/world/environment.hpp"
#include "netns/nft.hpp"

#include <poll.h>

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <mutex>
#include <thread>

namespace sockchaos::harness {

CellCost cell_cost(const Cell& cell) {
  const Scenario& s = cell.scenario;
  const int64_t hosts = static_cast<int64_t>(std::max<size_t>(2, s.hosts.size()));
  int64_t interfaces = 0, emulated = 0;
  for (const auto& l : s.links) {
    interfaces += 2;
    if (l.emulated()) ++emulated;
  }
  for (const auto& f : s.faults)
    if (!f.impair.empty()) emulated += static_cast<int64_t>(f.impair.size());
  const int64_t agents = s.upstream_server ? 3 : 2;
  CellCost n;
  // Per host: its namespace fd and an inet_diag socket, and while the network is built its
  // route socket and that socket's link-notification socket; per interface a packet socket
  // (when capturing); per agent stdout, stderr and a pidfd; one spawn's 6 transient pipe ends;
  // an nftables context per host faults touch; an emulated link's TAP fds, wire namespace and
  // its thread's eventfd (8, generous).
  n.fds = static_cast<int>(hosts * 4 + (s.capture.enabled ? interfaces : 0) + agents * 3 + 6 +
                           (s.faults.empty() ? 0 : hosts) + emulated * 8);
  // Plus what the items above leave out (a running orchestrator was measured, `ls /proc/<pid>/fd`
  // in bench/soak.sh, at about 30 for a plain two-host cell: 8 more than the items).
  n.fds += 8;
  constexpr int64_t kMiB = 1 << 20;
  // An agent locks its pages (mlockall): ~3 MiB resident each; the kernel's namespace, veth
  // and 32768-bucket TCP hash ~1 MiB a host; a capture keeps up to max_bytes a host.
  n.memory = agents * 3 * kMiB + hosts * kMiB + (s.capture.enabled ? hosts * s.capture.max_bytes : 0);
  n.nft_contexts = s.faults.empty() ? 0 : static_cast<int>(hosts);
  return n;
}

MachineBudget machine_budget() {
  MachineBudget b;
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    b.open_files = nofile.rlim_cur == RLIM_INFINITY ? INT64_MAX / 2 : static_cast<int64_t>(nofile.rlim_cur);
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") {
      b.memory_available = kb * 1024;
      break;
    }
  rlimit nproc{};
  if (::getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY)
    b.threads = static_cast<int64_t>(nproc.rlim_cur);
  return b;
}

int most_nft_contexts(const std::vector<PlannedCell>& cells) {
  int most = 0;
  for (const auto& c : cells) most = std::max(most, cell_cost(c.cell).nft_contexts);
  return most;
}

int fd_set_jobs_cap(const std::vector<PlannedCell>& cells, int low_fds) {
  const int most = most_nft_contexts(cells);
  return most > 0 ? std::max(1, low_fds / most) : static_cast<int>(std::max<size_t>(1, cells.size()));
}

int default_jobs(const std::vector<PlannedCell>& cells, const MachineBudget& budget) {
  CellCost most;
  for (const auto& c : cells) {
    const CellCost n = cell_cost(c.cell);
    most.fds = std::max(most.fds, n.fds);
    most.memory = std::max(most.memory, n.memory);
  }
  int64_t jobs = std::min<int64_t>(static_cast<int64_t>(cells.size()), kMaxDefaultJobs);
  if (most.fds > 0) jobs = std::min<int64_t>(jobs, (budget.open_files - budget.open_files / 4) / most.fds);
  if (budget.memory_available > 0 && most.memory > 0)
    jobs = std::min<int64_t>(jobs, budget.memory_available / 2 / most.memory);
  // A worker thread and a cell's agents each count against RLIMIT_NPROC.
  if (budget.threads > 0) jobs = std::min<int64_t>(jobs, budget.threads / 8);
  jobs = std::min<int64_t>(jobs, fd_set_jobs_cap(cells));
  return static_cast<int>(std::max<int64_t>(1, jobs));
}

bool is_cpu_bound(const Cell& cell) {
  const Workload& w = cell.scenario.client.workload;
  switch (w.kind) {
    case WorkloadKind::probe: return (w.per_second == 0 || w.per_second >= 1000) && w.count >= 2000;
    case WorkloadKind::request: return w.per_second == 0 || w.per_second >= 1000;
    case WorkloadKind::stream: return w.bytes_per_second == 0;
    case WorkloadKind::idle:
    case WorkloadKind::command: return false;
  }
  return false;
}

std::vector<CellResult> run_cells(const std::vector<PlannedCell>& cells, const ScheduleOptions& options) {
  std::vector<CellResult> results(cells.size());
  int jobs = options.jobs > 0 ? std::min(options.jobs, fd_set_jobs_cap(cells)) : default_jobs(cells, machine_budget());
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(std::max<size_t>(1, cells.size()))));
  // A low fd for every nftables context the parallel cells may hold (netns/nft.hpp); fewer
  // cells at once if the process could not reserve that many.
  const int contexts = most_nft_contexts(cells);
  netns::LowFdReservation low_fds(contexts * jobs);
  if (contexts > 0) jobs = std::max(1, std::min(jobs, low_fds.slots() / contexts));
  // Two queues: timer-bound cells for every worker, CPU-bound cells for one lane at a time.
  std::vector<size_t> light, heavy;
  for (size_t i = 0; i < cells.size(); ++i) (is_cpu_bound(cells[i].cell) ? heavy : light).push_back(i);
  std::mutex mu;
  size_t next_light = 0, next_heavy = 0;
  bool heavy_running = false;
  bool stop = false;
  Progress progress;
  progress.total = static_cast<int>(cells.size());
  std::exception_ptr env_error;
  std::condition_variable cv;

  std::vector<bool> started(cells.size(), false);
  // The session was interrupted (the cancel pipe's write end closed): no new cell starts.
  auto interrupted = [&] {
    if (options.run.cancel_fd < 0) return false;
    pollfd p{options.run.cancel_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  };
  // Under the lock: the next cell this worker may take, or npos.
  auto take = [&](bool& took_heavy) -> size_t {
    took_heavy = false;
    if (!stop && interrupted()) {
      stop = true;
      cv.notify_all();
    }
    if (stop) return SIZE_MAX;
    if (!heavy_running && next_heavy < heavy.size()) {
      heavy_running = took_heavy = true;
      return heavy[next_heavy++];
    }
    if (next_light < light.size()) return light[next_light++];
    return SIZE_MAX;
  };
  auto worker = [&] {
    std::unique_lock lock(mu);
    for (;;) {
      bool is_heavy = false;
      size_t i = take(is_heavy);
      if (i == SIZE_MAX) {
        // Heavy cells may still be queued behind the one running: wait for the lane.
        if (stop || next_heavy >= heavy.size()) return;
        cv.wait(lock);
        continue;
      }
      started[i] = true;
      progress.running++;
      if (options.on_progress) options.on_progress(progress);
      lock.unlock();
      CellResult r;
      bool env_failed = false;
      // The lane frees up as soon as the busy part (the workload) is over; observation
      // afterwards only samples.
      RunOptions run_options = options.run;
      bool released = !is_heavy;
      run_options.on_workload_end = [&] {
        std::lock_guard g(mu);
        if (!released) {
          released = true;
          heavy_running = false;
          cv.notify_all();
        }
      };
      try {
        r = judge_cell(cells[i].cell, run_cell(cells[i].cell, run_options));
      } catch (const EnvironmentError&) {
        env_failed = true;
        lock.lock();
        if (!env_error) env_error = std::current_exception();
        stop = true;
        lock.unlock();
      } catch (const std::exception& e) {
        r = judge_cell(cells[i].cell, {error_run(e.what())});
      }
      lock.lock();
      progress.running--;
      if (!released) heavy_running = false;
      cv.notify_all();
      if (env_failed) return;
      results[i] = std::move(r);
      progress.done++;
      if (!results[i].passed()) progress.failed++;
      if (options.on_cell_done) options.on_cell_done(cells[i], results[i], progress);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (env_error) std::rethrow_exception(env_error);
  // Interrupted: the cells that never started are in the results as such (partial results
  // list every selected cell).
  for (size_t i = 0; i < cells.size(); ++i)
    if (!started[i]) {
      RunResult skipped;
      skipped.outcome = Outcome::skipped;
      skipped.error_detail = kNotStartedDetail;
      results[i] = judge_cell(cells[i].cell, {skipped});
      progress.done++;
      progress.failed++;
      if (options.on_cell_done) options.on_cell_done(cells[i], results[i], progress);
    }
  return results;
}

std::vector<PlannedCell> select_shard(std::vector<PlannedCell> cells, int k, int n) {
  std::vector<PlannedCell> out;
  for (size_t i = 0; i < cells.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(n)) == k - 1) out.push_back(std::move(cells[i]));
  return out;
}

}  // namespace sockchaos::harness
