// sockchaos: run scenario files, validate them, explain their kernel model, merge results into
// reports, check the machine; advise options for a detection bound; audit a user's program
// across failure modes.
// Exit codes: 0 all expectations held; 1 an expectation failed (or a run errored; advise: the
// verification missed the bound; audit: a mode was not noticed within the bound);
// 2 invalid input or usage; 3 the environment cannot run it (or a scenario needs more open
// files or memory than the machine gives); 4 advise: the bound cannot be met in some mode (the
// best achievable is printed); 128+N stopped by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129)
// with partial results written: the cells that finished, the others "interrupted".
// Skipped cells (a program the scenario "requires" is missing) are not judged: the run still
// exits 0 when everything that ran held, but the last line says "N cell(s) SKIPPED" with the
// packages to install, JUnit marks them <skipped/>, and --require-all makes them exit 1.
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <algorithm>

#include "harness/metrics/kernel_model.hpp"
#include "common/duration.hpp"
#include "netns/netns.hpp"

#include "harness/advise/advise.hpp"
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
#include "netns/netns.hpp"
#include "reports/junit.hpp"

namespace fs = std::filesystem;
using namespace sockchaos;
using harness::json;

namespace {

int g_cancel_write = -1;
volatile sig_atomic_t g_interrupted = 0;  // the signal's number

void on_signal(int sig) {
  g_interrupted = sig;
  if (g_cancel_write >= 0) {
    ::close(g_cancel_write);  // async-signal-safe: every cell's ppoll wakes on the read end
    g_cancel_write = -1;
  }
  ::signal(sig, SIG_DFL);  // a second Ctrl-C kills outright (agents die with us)
}

bool write_all(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// All or nothing: a reader (or a kill at any moment) sees the old file or the new one, never a
// part. The text goes to an unnamed O_TMPFILE in the target's folder, gets a name only when
// complete (linkat) and replaces the file by rename; where the filesystem has no O_TMPFILE, a
// named temporary file instead.
bool write_file(const fs::path& path, const std::string& text) {
  std::error_code ec;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(dir, ec);
  const fs::path temp = dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  bool named = false;
  if (fd < 0) {
    fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    named = true;
  }
  bool ok = write_all(fd, text);
  if (ok && !named) {
    // /proc/self/fd/N with AT_SYMLINK_FOLLOW: linkat(2)'s way without CAP_DAC_READ_SEARCH.
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    ::unlink(temp.c_str());
    ok = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) == 0;
    named = ok;
  }
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok && named) ::unlink(temp.c_str());
  return ok;
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

// The kernel the model is about: this kernel's defaults as a fresh network namespace reads them
// (needs the privilege to create one: root, or inside `unshare -Urn`), else Linux 6.18's.
struct ExplainEnvironment {
  harness::KernelEnvironment env = harness::KernelEnvironment::linux_defaults();
  std::string origin;
};
ExplainEnvironment explain_environment() {
  ExplainEnvironment out;
  const auto fresh = netns::fresh_namespace_sysctls(harness::KernelEnvironment::keys());
  for (const auto& [k, v] : fresh) out.env.sysctl[k] = v;
  const auto hz = netns::kernel_hz();
  out.env.hz = hz.value_or(250);
  out.origin = fresh.empty() ? "Linux 6.18 defaults (assumed: no network namespace could be created to read this kernel's)"
                             : "this kernel's defaults, read from a fresh network namespace";
  out.origin += hz ? ", HZ " + std::to_string(*hz) : ", HZ 250 (assumed)";
  return out;
}

int cmd_explain(const std::vector<std::string>& paths, const std::string& format) {
  auto loaded = load_all(paths);
  if (!loaded.issues.empty()) {
    std::cerr << loaded.issues.size() << " error(s)\n";
    return 2;
  }
  const ExplainEnvironment kernel = explain_environment();
  json out_json = {{"version", harness::tool_version()},
                   {"kernel", harness::kernel_release()},
                   {"environment", kernel.origin},
                   {"hz", kernel.env.hz},
                   {"scenarios", json::array()}};
  if (format == "text")
    std::cout << "kernel " << harness::kernel_release() << ": " << kernel.origin
              << "\n(predictions without measurements: a run refines them with the measured RTO and capture times)\n";
  for (const auto& s : loaded.scenarios) {
    json cells = json::array();
    for (const auto& cell : harness::expand_cells(s)) {
      const harness::CellModel model = harness::predict_cell(cell.scenario, kernel.env);
      if (format == "json") {
        json lifetimes = json::array();
        for (const auto& m : model.lifetimes) lifetimes.push_back(harness::to_json(m));
        cells.push_back({{"id", cell.id},
                         {"params", cell.params},
                         {"model", harness::to_json(model.detection)},
                         {"lifetime_models", lifetimes}});
        continue;
      }
      std::cout << "\n" << s.name << "/" << (cell.id.empty() ? "default" : cell.id) << "\n";
      const auto lines = harness::explain_cell(cell.scenario, model);
      for (size_t i = 1; i < lines.size(); ++i) std::cout << "  " << lines[i] << "\n";
    }
    if (format == "json") out_json["scenarios"].push_back({{"name", s.name}, {"file", s.file}, {"cells", cells}});
  }
  if (format == "json") std::cout << out_json.dump(2) << "\n";
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

// Cells whose every run was skipped, with the first reason of each.
std::vector<std::string> skipped_cells(const harness::Results& results) {
  std::vector<std::string> out;
  for (const auto& s : results.scenarios)
    for (const auto& c : s.cells)
      if (!c.runs.empty() && c.skipped_runs() == static_cast<int>(c.runs.size()))
        out.push_back(s.name + (c.id.empty() ? "" : "/" + c.id) + ": " + c.runs.front().error_detail.value_or("skipped"));
  return out;
}

int cmd_run(const std::vector<std::string>& paths, int jobs, const std::string& out_dir,
            const std::string& junit, const std::string& filter, const std::string& shard, bool require_all) {
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
    if (cell.skipped_runs() > 0 && !cell.runs.empty() && cell.runs.front().error_detail)
      line += " (" + *cell.runs.front().error_detail + ")";
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
  const auto skipped = skipped_cells(results);
  if (!skipped.empty()) {
    std::cout << skipped.size() << " cell(s) SKIPPED, not judged (" << (require_all ? "--require-all: exit 1" : "exit 0 "
              "unless --require-all") << "):\n";
    for (const auto& line : skipped) std::cout << "  " << line << "\n";
  }
  if (g_interrupted) {
    std::cerr << "interrupted by " << ::strsignal(g_interrupted) << ": partial results written (cells that had not finished are marked \"interrupted\")\n";
    return 128 + g_interrupted;
  }
  if (require_all && !skipped.empty()) return 1;
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


// The kernel's defaults as a fresh namespace reads them; the model's 6.18 values when no
// namespace can be made here.
harness::KernelEnvironment kernel_environment() {
  harness::KernelEnvironment env = harness::KernelEnvironment::linux_defaults();
  try {
    for (auto& [k, v] : netns::fresh_namespace_sysctls(harness::KernelEnvironment::keys())) env.sysctl[k] = v;
  } catch (const std::exception&) {
  }
  return env;
}

std::optional<double> parse_ms(const std::string& text, const std::string& flag, std::string& err) {
  std::string why;
  auto d = parse_duration(text, &why);
  if (!d) {
    err = flag + ": " + why;
    return std::nullopt;
  }
  return static_cast<double>(d->count()) / 1e6;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

struct LinkArgs {
  std::string profile, rtt, loss;
};

bool parse_link(const LinkArgs& args, harness::LinkChoice& link, std::string& err) {
  link.profile = args.profile;
  if (!args.rtt.empty()) {
    auto v = parse_ms(args.rtt, "--rtt", err);
    if (!v) return false;
    link.rtt_ms = *v;
  }
  if (!args.loss.empty()) {
    char* end = nullptr;
    std::string l = args.loss;
    bool pct = !l.empty() && l.back() == '%';
    if (pct) l.pop_back();
    double v = std::strtod(l.c_str(), &end);
    if (l.empty() || *end != '\0') {
      err = "--loss: expected a probability (0.01) or a percentage (1%), got \"" + args.loss + "\"";
      return false;
    }
    link.loss = pct ? v / 100 : v;
  }
  if (!link.profile.empty() && (link.rtt_ms || link.loss)) {
    err = "--link and --rtt/--loss exclude each other";
    return false;
  }
  return true;
}

// Runs generated scenario documents as one session, cells in parallel.
harness::Results run_documents(const std::vector<json>& docs, int jobs, const std::string& out_dir) {
  std::vector<harness::Scenario> scenarios;
  for (const auto& d : docs) scenarios.push_back(harness::load_scenario_json(d, d["name"].get<std::string>()));
  harness::SessionOptions opts;
  opts.jobs = jobs > 0 ? jobs : static_cast<int>(docs.size());
  opts.results_dir = out_dir;
  opts.on_cell_done = [](const harness::Scenario& s, const harness::CellResult& cell, const harness::Progress&) {
    std::cerr << reports::format_cell_line(s.name, cell) << "\n";
  };
  harness::Results results = harness::run_session(scenarios, opts);
  if (!out_dir.empty()) write_outputs(results, out_dir, "");
  return results;
}

int cmd_advise(const std::string& within, const std::string& modes, const LinkArgs& link_args,
               const std::vector<std::string>& keeps, const std::string& format, bool allow_sysctl, bool no_verify,
               const std::string& burst, int jobs, const std::string& out_dir) {
  std::string err;
  harness::AdviseRequest req;
  auto w = parse_ms(within, "--within", err);
  if (!w) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  req.within_ms = *w;
  req.modes = split(modes, ',');
  if (!parse_link(link_args, req.link, err)) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  for (const auto& k : keeps)
    if (auto e = harness::add_pin(req.pins, k); !e.empty()) {
      std::cerr << "error: " << e << "\n";
      return 2;
    }
  if (!burst.empty()) {
    auto b = parse_ms(burst, "--burst", err);
    if (!b) {
      std::cerr << "error: " << err << "\n";
      return 2;
    }
    req.wanted_burst_ms = *b;
  }
  req.allow_sysctl = allow_sysctl;
  if (format != "text" && format != "json" && format != "html") {
    std::cerr << "error: --format: text, json or html, got \"" << format << "\"\n";
    return 2;
  }
  if (auto e = harness::validate_request(req); !e.empty()) {
    std::cerr << "error: " << e << "\n";
    return 2;
  }
  const auto env = kernel_environment();
  const harness::Advice advice = harness::advise(req, env);
  std::vector<harness::Verified> verified;
  if (!no_verify) {
    std::vector<json> docs;
    for (const auto& mode : req.modes) {
      harness::ModeScenarioInput in;
      in.mode = mode;
      in.link = req.link;
      in.options = advice.options;
      in.within_ms = req.within_ms;
      docs.push_back(harness::build_mode_scenario(in, "advise-" + mode));
    }
    const harness::Results results = run_documents(docs, jobs, out_dir);
    verified = harness::compare_verification(advice, results);
  }
  const harness::Snippets snippets = harness::make_snippets(advice);
  if (format == "json") std::cout << harness::advice_json(advice, verified, snippets).dump(2) << "\n";
  else if (format == "html") std::cout << harness::advice_html(advice, verified, snippets);
  else std::cout << harness::advice_text(advice, verified, snippets) << "\n";
  if (!advice.achievable) return 4;
  for (const auto& v : verified)
    if (!v.within) return 1;
  return 0;
}

int cmd_audit(const std::vector<std::string>& command, const std::string& server, const std::string& within,
              const std::string& modes, const LinkArgs& link_args, int port, const std::string& format, int jobs,
              const std::string& out_dir) {
  std::string err;
  auto w = parse_ms(within, "--within", err);
  if (!w) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  harness::LinkChoice link;
  if (!parse_link(link_args, link, err)) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  if (command.empty()) {
    std::cerr << "error: audit needs the client command after --, e.g. sockchaos audit -- curl -sS "
                 "http://{server}:{port}/\n";
    return 2;
  }
  if (format != "text" && format != "json") {
    std::cerr << "error: --format: text or json, got \"" << format << "\"\n";
    return 2;
  }
  std::vector<std::string> mode_list = split(modes, ',');
  const auto& known = harness::mode_names();
  const auto& extra = harness::audit_only_mode_names();
  for (const auto& m : mode_list)
    if (std::find(known.begin(), known.end(), m) == known.end() && std::find(extra.begin(), extra.end(), m) == extra.end()) {
      std::string all;
      for (const auto& n : known) all += (all.empty() ? "" : ", ") + n;
      for (const auto& n : extra) all += ", " + n;
      std::cerr << "error: unknown mode \"" << m << "\" (known: " << all << ")\n";
      return 2;
    }
  std::vector<json> docs;
  for (const auto& mode : mode_list) {
    if (std::find(extra.begin(), extra.end(), mode) != extra.end()) continue;
    harness::ModeScenarioInput in;
    in.mode = mode;
    in.link = link;
    in.within_ms = *w;
    in.client_command = command;
    in.server_command = split(server, ' ');
    in.port = port;
    in.deadline_ms = *w + 5000;
    docs.push_back(harness::build_mode_scenario(in, "audit-" + mode));
  }
  harness::Results results;
  if (!docs.empty()) results = run_documents(docs, jobs, out_dir);
  auto rows = harness::audit_rows(mode_list, results, *w, kernel_environment(), link);
  for (auto& r : rows)
    if (r.mode == "port-exhaustion")
      r.skipped = "not run: exhausting ports needs a program that opens connections in a loop; see "
                  "scenarios/port-exhaustion-tw-reuse.json for the probe shape";
  if (format == "json") std::cout << harness::audit_json(rows, *w).dump(2) << "\n";
  else std::cout << harness::audit_text(rows, *w);
  for (const auto& r : rows)
    if (r.ran && !r.within) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sockchaos: how long until a TCP client notices a dead peer, and what its socket options change"};
  app.require_subcommand(1);
  app.set_version_flag("--version", harness::tool_version());

  std::vector<std::string> run_paths, validate_paths, report_inputs;
  int jobs = 0;
  std::string out_dir = "reports/out", junit, filter, shard, report_out = "reports/out/report.html";
  bool require_all = false;

  auto* run = app.add_subcommand("run", "run scenario files or folders of them");
  run->add_option("paths", run_paths, "scenario files or folders")->required();
  run->add_option("-j,--jobs", jobs, "cells in parallel (default: every cell, as many as the open-file limit, memory and the nftables low-fd reserve allow)")->check(CLI::Range(1, 1024));
  run->add_option("-o,--out", out_dir, "folder for results.json, report.html, junit.xml");
  run->add_option("--junit", junit, "also write JUnit XML to FILE");
  run->add_option("--filter", filter, "only cells whose \"scenario/cell-id\" matches REGEX");
  run->add_option("--shard", shard, "run the K-th of N slices of all cells (K/N)");
  run->add_flag("--require-all", require_all,
                "fail (exit 1) when a cell was skipped because a program it requires is missing");

  auto* validate = app.add_subcommand("validate", "check files, print every error, run nothing");
  validate->add_option("paths", validate_paths, "scenario files or folders")->required();

  std::vector<std::string> explain_paths;
  std::string explain_format = "text";
  auto* explain = app.add_subcommand("explain", "print the kernel's model of every cell (formula, inputs, prediction); run nothing");
  explain->add_option("paths", explain_paths, "scenario files or folders")->required();
  explain->add_option("--format", explain_format, "text or json")->check(CLI::IsMember({"text", "json"}));

  auto* report = app.add_subcommand("report", "merge results (e.g. shards) into one report");
  report->add_option("results", report_inputs, "results.json files")->required();
  report->add_option("-o,--out", report_out, "report file to write");

  app.add_subcommand("doctor", "check privileges and kernel features; say how to fix what lacks");

  std::string adv_within, adv_modes = "idle,busy,zero-window", adv_format = "text", adv_burst;
  std::vector<std::string> adv_keep;
  LinkArgs adv_link;
  bool adv_sysctl = false, adv_no_verify = false;
  std::string adv_out;
  auto* advise = app.add_subcommand("advise", "options that notice a dead peer within a bound, verified by running");
  advise->add_option("--within", adv_within, "the detection bound, e.g. 8s")->required();
  advise->add_option("--modes", adv_modes, "comma-separated: idle,busy,zero-window,syn-sent,crash,reboot,rst");
  advise->add_option("--link", adv_link.profile, "a link profile (lan, wan-20ms, wan-80ms, lossy-wifi, ...)");
  advise->add_option("--rtt", adv_link.rtt, "the link's round-trip time, e.g. 40ms");
  advise->add_option("--loss", adv_link.loss, "the link's loss, 0.01 or 1%");
  advise->add_option("--keep", adv_keep, "pin KEY=VALUE (keepalive.idle, keepalive.interval, keepalive.count, "
                                         "tcp_user_timeout, syn_count, app_timeout, keepalive=off)");
  advise->add_option("--format", adv_format, "text, json or html");
  advise->add_flag("--allow-sysctl", adv_sysctl, "also set per-namespace sysctls (keepalive defaults, syn retries)");
  advise->add_option("--burst", adv_burst, "the loss burst a healthy connection must survive (default 1s)");
  advise->add_flag("--no-verify", adv_no_verify, "the model's answer only: do not run the verification cells");
  advise->add_option("-j,--jobs", jobs, "cells in parallel (default: all)")->check(CLI::Range(1, 1024));
  advise->add_option("-o,--out", adv_out, "also write the verification's results.json/report.html here");

  std::vector<std::string> aud_command;
  std::string aud_server, aud_within = "10s", aud_modes = "idle,busy,zero-window,syn-sent,rst,crash,reboot,port-exhaustion",
                          aud_format = "text", aud_out;
  LinkArgs aud_link;
  int aud_port = 8080;
  auto* audit = app.add_subcommand("audit", "run YOUR client command against every failure mode: sockchaos audit -- CMD...");
  audit->add_option("command", aud_command, "the client command (after --); {server} {port} {dir} expand");
  audit->add_option("--server", aud_server, "your server command instead of the agent (words split on spaces)");
  audit->add_option("--within", aud_within, "the bound a mode must be noticed in (default 10s)");
  audit->add_option("--modes", aud_modes, "comma-separated modes");
  audit->add_option("--link", aud_link.profile, "a link profile");
  audit->add_option("--rtt", aud_link.rtt, "the link's round-trip time");
  audit->add_option("--loss", aud_link.loss, "the link's loss");
  audit->add_option("--port", aud_port, "the server's port (default 8080)")->check(CLI::Range(1, 65535));
  audit->add_option("--format", aud_format, "text or json");
  audit->add_option("-j,--jobs", jobs, "cells in parallel (default: all)")->check(CLI::Range(1, 1024));
  audit->add_option("-o,--out", aud_out, "also write results.json/report.html here");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*run) return cmd_run(run_paths, jobs, out_dir, junit, filter, shard, require_all);
    if (*validate) return cmd_validate(validate_paths);
    if (*explain) return cmd_explain(explain_paths, explain_format);
    if (*report) return cmd_report(report_inputs, report_out);
    if (*advise)
      return cmd_advise(adv_within, adv_modes, adv_link, adv_keep, adv_format, adv_sysctl, adv_no_verify, adv_burst,
                        jobs, adv_out);
    if (*audit) return cmd_audit(aud_command, aud_server, aud_within, aud_modes, aud_link, aud_port, aud_format, jobs, aud_out);
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
