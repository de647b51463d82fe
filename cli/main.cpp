// sockchaos: run scenario files, validate them, merge results into reports, check the machine.
// Exit codes: 0 all expectations held; 1 an expectation failed (or a run errored);
// 2 invalid input or usage; 3 the environment cannot run it; 130 interrupted.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "harness/world/doctor.hpp"
#include "harness/world/environment.hpp"
#include "harness/world/process.hpp"
#include "harness/verdict/results.hpp"
#include "harness/verdict/results_json.hpp"
#include "harness/run/runner.hpp"
#include "harness/model/load.hpp"
#include "harness/session/scheduler.hpp"
#include "harness/session/session.hpp"
#include "reports/console.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"

namespace fs = std::filesystem;
using namespace sockchaos;
using harness::json;

namespace {

int g_cancel_write = -1;
volatile sig_atomic_t g_interrupted = 0;

void on_signal(int sig) {
  g_interrupted = 1;
  if (g_cancel_write >= 0) {
    ::close(g_cancel_write);  // async-signal-safe: every cell's ppoll wakes on the read end
    g_cancel_write = -1;
  }
  ::signal(sig, SIG_DFL);  // a second Ctrl-C kills outright (agents die with us)
}

bool write_file(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f << text;
  return static_cast<bool>(f);
}

void print_issues(const harness::ScenarioError& e) {
  for (const auto& issue : e.issues()) std::cerr << "error: " << issue.str() << "\n";
}

// Every file of every path, every issue of every file printed.
harness::LoadedScenarios load_all(const std::vector<std::string>& paths) {
  auto loaded = harness::load_scenario_paths(paths);
  for (const auto& issue : loaded.issues) std::cerr << "error: " << issue.str() << "\n";
  return loaded;
}

int cmd_validate(const std::vector<std::string>& paths) {
  auto loaded = load_all(paths);
  if (!loaded.issues.empty()) {
    std::cerr << loaded.issues.size() << " error(s)\n";
    return 2;
  }
  size_t cells = 0;
  for (const auto& s : loaded.scenarios) {
    auto c = harness::expand_cells(s);
    cells += c.size();
    std::cout << s.file << ": ok (" << s.name << ", " << c.size() << " cell" << (c.size() == 1 ? "" : "s")
              << ")\n";
  }
  std::cout << loaded.scenarios.size() << " scenario(s), " << cells << " cell(s), no errors\n";
  return 0;
}

int cmd_doctor() {
  auto checks = harness::run_doctor(harness::find_agent_path());
  bool essential_missing = false;
  for (const auto& c : checks) {
    std::cout << (c.ok ? "ok      " : (c.essential ? "MISSING " : "warning ")) << c.name << ": " << c.detail << "\n";
    if (!c.ok) std::cout << "        fix: " << c.fix << "\n";
    if (!c.ok && c.essential) essential_missing = true;
  }
  if (essential_missing) {
    std::cerr << "sockchaos cannot run scenarios here: " << harness::doctor_advice(checks) << "\n";
    return 3;
  }
  std::cout << "everything sockchaos needs is here\n";
  return 0;
}

int write_outputs(const harness::Results& typed, const std::string& out_dir, const std::string& junit) {
  const json results = harness::to_json(typed);
  fs::path dir(out_dir);
  bool ok = write_file(dir / "results.json", results.dump(2) + "\n");
  ok &= write_file(dir / "report.html", reports::render_html_report(typed));
  std::string xml = reports::render_junit(typed);
  ok &= write_file(dir / "junit.xml", xml);
  if (!junit.empty()) ok &= write_file(junit, xml);
  if (!ok) {
    std::cerr << "error: cannot write results to " << out_dir << "\n";
    return 2;
  }
  std::cerr << "results: " << (dir / "results.json").string() << "\nreport:  " << (dir / "report.html").string()
            << "\n";
  return 0;
}

int cmd_run(const std::vector<std::string>& paths, int jobs, const std::string& out_dir,
            const std::string& junit, const std::string& filter, const std::string& shard) {
  harness::SessionOptions opts;
  opts.jobs = jobs;
  opts.filter = filter;
  if (!shard.empty()) {
    char slash = 0;
    std::istringstream in(shard);
    if (!(in >> opts.shard_k >> slash >> opts.shard_n) || slash != '/' || !in.eof() || opts.shard_n < 1 ||
        opts.shard_k < 1 || opts.shard_k > opts.shard_n) {
      std::cerr << "error: --shard: expected K/N with 1 <= K <= N, e.g. 2/4; got \"" << shard << "\"\n";
      return 2;
    }
  }
  auto loaded = load_all(paths);
  if (!loaded.issues.empty()) {
    std::cerr << loaded.issues.size() << " error(s); nothing was run\n";
    return 2;
  }
  opts.results_dir = out_dir;
  {
    // A new run's captures replace the last run's (their names are per cell and run).
    std::error_code ec;
    fs::remove_all(fs::path(out_dir) / "captures", ec);
  }

  int cancel_pipe[2];
  if (::pipe2(cancel_pipe, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    return 3;
  }
  g_cancel_write = cancel_pipe[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  opts.cancel_fd = cancel_pipe[0];

  bool tty = ::isatty(2);
  reports::ProgressDisplay progress(std::cerr);
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto draw = [&](const harness::Progress& p) {
    double el = elapsed();
    progress.update(p.done, p.running, p.failed, p.total, el, p.done > 0 ? el / p.done * (p.total - p.done) : -1);
  };
  opts.on_progress = [&](const harness::Progress& p) {
    if (tty) draw(p);
  };
  opts.on_cell_done = [&](const harness::Scenario& s, const harness::CellResult& cell, const harness::Progress& p) {
    std::string line = reports::format_cell_line(s.name, cell);
    if (tty) progress.finish();
    std::cerr << line << "\n";
    if (tty) draw(p);
  };

  harness::Results results;
  try {
    results = harness::run_session(loaded.scenarios, opts);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const harness::EnvironmentError& e) {
    if (tty) progress.finish();
    std::cerr << "error: " << e.what() << "\nwhat to do: " << e.advice() << "\n";
    return 3;
  }
  if (tty) progress.finish();
  if (int rc = write_outputs(results, out_dir, junit); rc != 0) return rc;
  std::cout << reports::format_summary_table(results, ::isatty(1));
  if (g_interrupted) {
    std::cerr << "interrupted: partial results written\n";
    return 130;
  }
  return results.passed() ? 0 : 1;
}

int cmd_report(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<harness::Results> parts;
  int errors = 0;
  for (const auto& path : inputs) {
    try {
      parts.push_back(harness::load_results_file(path));
    } catch (const harness::ScenarioError& e) {
      print_issues(e);
      errors += static_cast<int>(e.issues().size());
    }
  }
  if (errors > 0) {
    std::cerr << errors << " error(s) in the results given; no report written\n";
    return 2;
  }
  const harness::Results merged = harness::merge_results(parts);
  fs::path out(output);
  bool ok = write_file(out, reports::render_html_report(merged));
  ok &= write_file(out.parent_path() / "results.json", harness::to_json(merged).dump(2) + "\n");
  if (!ok) {
    std::cerr << "error: cannot write " << output << "\n";
    return 2;
  }
  std::cerr << "report: " << output << "\nmerged results: " << (out.parent_path() / "results.json").string() << "\n";
  std::cout << reports::format_summary_table(merged, ::isatty(1));
  return merged.passed() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sockchaos: how long until a TCP client notices a dead peer, and what its socket options change"};
  app.require_subcommand(1);
  app.set_version_flag("--version", harness::tool_version());

  std::vector<std::string> run_paths, validate_paths, report_inputs;
  int jobs = 0;
  std::string out_dir = "reports/out", junit, filter, shard, report_out = "reports/out/report.html";

  auto* run = app.add_subcommand("run", "run scenario files or folders of them");
  run->add_option("paths", run_paths, "scenario files or folders")->required();
  run->add_option("-j,--jobs", jobs, "cells in parallel (default: every cell, as many as the open-file limit and memory allow)")->check(CLI::Range(1, 1024));
  run->add_option("-o,--out", out_dir, "folder for results.json, report.html, junit.xml");
  run->add_option("--junit", junit, "also write JUnit XML to FILE");
  run->add_option("--filter", filter, "only cells whose \"scenario/cell-id\" matches REGEX");
  run->add_option("--shard", shard, "run the K-th of N slices of all cells (K/N)");

  auto* validate = app.add_subcommand("validate", "check files, print every error, run nothing");
  validate->add_option("paths", validate_paths, "scenario files or folders")->required();

  auto* report = app.add_subcommand("report", "merge results (e.g. shards) into one report");
  report->add_option("results", report_inputs, "results.json files")->required();
  report->add_option("-o,--out", report_out, "report file to write");

  app.add_subcommand("doctor", "check privileges and kernel features; say how to fix what lacks");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*run) return cmd_run(run_paths, jobs, out_dir, junit, filter, shard);
    if (*validate) return cmd_validate(validate_paths);
    if (*report) return cmd_report(report_inputs, report_out);
    return cmd_doctor();
  } catch (const harness::ScenarioError& e) {
    print_issues(e);
    return 2;
  } catch (const harness::EnvironmentError& e) {
    std::cerr << "error: " << e.what() << "\nwhat to do: " << e.advice() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
