// sockchaos._sockchaos: the thin C++ side of the Python package. JSON crosses the boundary as
// text (the Python layer turns it into dicts), so this file needs no JSON <-> Python mapping.
//
// Exceptions: harness::ScenarioError -> sockchaos.ScenarioError (ValueError) with .issues;
// harness::EnvironmentError -> sockchaos.SockchaosEnvironmentError (OSError) with .advice, the
// advice being `sockchaos doctor`'s when a doctor check fails.
//
// Runs release the GIL: the session runs on a C++ thread; the calling thread waits in 100 ms
// slices and checks for signals between them. On KeyboardInterrupt it closes the cancel pipe's
// write end (every cell wakes and cleans up), joins the worker, then lets the exception through.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "harness/protocol/events.hpp"
#include "harness/world/doctor.hpp"
#include "harness/world/environment.hpp"
#include "harness/lab/lab.hpp"
#include "harness/world/process.hpp"
#include "harness/verdict/results.hpp"
#include "harness/verdict/results_json.hpp"
#include "harness/run/runner.hpp"
#include "harness/model/load.hpp"
#include "harness/session/session.hpp"
#include "netns/netns.hpp"
#include "reports/html.hpp"

namespace py = pybind11;
using namespace sockchaos;
using harness::json;

namespace {

// Owned for the life of the interpreter (never released: no destructor runs after finalisation).
py::handle g_scenario_error, g_environment_error;

std::string issues_text(const std::vector<harness::InputIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += (out.empty() ? "" : "\n") + i.str();
  return out;
}

// EnvironmentError with the doctor's advice when one of its essential checks fails.
harness::EnvironmentError with_doctor_advice(const harness::EnvironmentError& e, const std::string& agent_path) {
  std::string advice;
  try {
    advice = harness::doctor_advice(harness::run_doctor(agent_path));
  } catch (...) {
  }
  return harness::EnvironmentError(e.what(), advice.empty() ? e.advice() : advice);
}

template <class Fn>
auto with_environment_advice(const std::string& agent_path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const harness::EnvironmentError& e) {
    throw with_doctor_advice(e, agent_path);
  }
}

// CLI semantics: every file of every path, every issue of every file, then one error.
std::vector<harness::Scenario> load_paths(const std::vector<std::string>& paths) {
  auto loaded = harness::load_scenario_paths(paths);
  if (!loaded.issues.empty()) throw harness::ScenarioError(std::move(loaded.issues));
  return std::move(loaded.scenarios);
}

std::vector<harness::Scenario> load_text(const std::string& text, const std::string& label) {
  auto s = harness::load_scenario_text(text, label);  // ScenarioError, never a raw json exception
  (void)harness::expand_cells(s);
  std::vector<harness::Scenario> out;
  out.push_back(std::move(s));
  return out;
}

std::vector<harness::Scenario> load_any(const std::optional<std::vector<std::string>>& paths,
                                        const std::optional<std::string>& text) {
  if (paths) return load_paths(*paths);
  return load_text(text.value_or("null"), "<dict>");
}

std::string validate(const std::optional<std::vector<std::string>>& paths, const std::optional<std::string>& text) {
  auto scenarios = load_any(paths, text);
  json out = json::array();
  for (const auto& s : scenarios)
    out.push_back({{"file", s.file}, {"name", s.name}, {"cells", harness::expand_cells(s).size()}});
  return out.dump();
}

std::string run(const std::optional<std::vector<std::string>>& paths, const std::optional<std::string>& text,
                int jobs, const std::string& agent_path, const std::string& filter) {
  auto scenarios = load_any(paths, text);
  int cancel[2];
  if (::pipe2(cancel, O_CLOEXEC) != 0) throw std::runtime_error(Error::system("pipe2").str());

  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    harness::Results result;
    std::exception_ptr error;
  };
  auto shared = std::make_shared<Shared>();
  harness::SessionOptions options;
  options.jobs = jobs;
  options.filter = filter;
  options.cancel_fd = cancel[0];
  options.agent_path = agent_path;
  std::thread worker([shared, options, scenarios = std::move(scenarios)] {
    harness::Results result;
    std::exception_ptr error;
    try {
      result = harness::run_session(scenarios, options);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->result = std::move(result);
    shared->error = error;
    shared->done = true;
    shared->cv.notify_all();
  });

  for (;;) {
    bool done;
    {
      py::gil_scoped_release nogil;
      std::unique_lock<std::mutex> lock(shared->mutex);
      done = shared->cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return shared->done; });
    }
    if (done) break;
    if (PyErr_CheckSignals() != 0) {
      py::error_already_set interrupt;  // takes the pending KeyboardInterrupt (or other)
      ::close(cancel[1]);
      {
        py::gil_scoped_release nogil;
        worker.join();
      }
      ::close(cancel[0]);
      throw interrupt;
    }
  }
  {
    py::gil_scoped_release nogil;
    worker.join();
  }
  ::close(cancel[1]);
  ::close(cancel[0]);
  if (shared->error) {
    try {
      std::rethrow_exception(shared->error);
    } catch (const harness::EnvironmentError& e) {
      throw with_doctor_advice(e, agent_path);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
  }
  return harness::to_json(shared->result).dump();
}

std::string merge_results(const std::vector<std::string>& parts) {
  std::vector<harness::Results> values;
  for (const auto& p : parts) values.push_back(harness::results_from_json(json::parse(p), "<results>"));
  return harness::to_json(harness::merge_results(values)).dump();
}

py::list doctor(const std::string& agent_path) {
  std::vector<harness::DoctorCheck> checks;
  {
    py::gil_scoped_release nogil;
    checks = harness::run_doctor(agent_path);
  }
  py::list out;
  for (const auto& c : checks) {
    py::dict d;
    d["name"] = c.name;
    d["ok"] = c.ok;
    d["essential"] = c.essential;
    d["detail"] = c.detail;
    d["fix"] = c.fix;
    out.append(d);
  }
  return out;
}

// The calling thread inside a host's namespace until exit(); exit() must run on that thread.
class NetnsScope {
 public:
  void enter(int netns_fd) {
    if (scope_) throw std::runtime_error("already inside a host");
    auto s = netns::ScopedNetns::enter(netns_fd);
    if (!s.ok()) throw std::runtime_error("cannot enter the host's namespace: " + s.error().str());
    scope_.emplace(std::move(s.value()));
    tid_ = static_cast<long>(::syscall(SYS_gettid));
  }
  void exit() {
    if (!scope_) return;
    if (static_cast<long>(::syscall(SYS_gettid)) != tid_)
      throw std::runtime_error("lab.inside(): the block must be left on the thread that entered it");
    scope_.reset();
  }

 private:
  std::optional<netns::ScopedNetns> scope_;
  long tid_ = 0;
};

class PyLab {
 public:
  PyLab(const std::string& hosts_json, const std::string& agent_path, const std::string& links_json,
        const std::string& family)
      : agent_path_(agent_path) {
    json hosts = json::parse(hosts_json);
    json links = json::parse(links_json);
    py::gil_scoped_release nogil;
    lab_ = with_environment_advice(agent_path_, [&] { return harness::Lab::create(hosts, agent_path_, links, family); });
  }
  void start_server(const std::string& server_json) {
    json server = json::parse(server_json);
    py::gil_scoped_release nogil;
    with_environment_advice(agent_path_, [&] { lab_->start_server(server); });
  }
  py::tuple install_fault(const std::string& fault_json) {
    json fault = json::parse(fault_json);
    int64_t installed = -1;
    int id;
    {
      py::gil_scoped_release nogil;
      id = lab_->install_fault(fault, &installed);
    }
    return py::make_tuple(id, installed, lab_->fault_label(id));
  }
  int64_t heal_fault(int id) {
    py::gil_scoped_release nogil;
    return lab_->heal_fault(id);
  }
  std::string address(const std::string& host, const std::string& from, bool ipv6) const {
    return from.empty() ? lab_->address(host, ipv6) : lab_->address_from(host, from, ipv6);
  }
  int netns_fd(const std::string& host) const { return lab_->netns_fd(host); }
  py::dict sockets(const std::string& host) {
    StateCounts counts;
    {
      py::gil_scoped_release nogil;
      counts = lab_->sockets(host);
    }
    py::dict out;
    for (int i = 1; i < static_cast<int>(counts.by_state.size()); ++i)
      if (counts.by_state[i] > 0) out[tcp_state_name(i)] = counts.by_state[i];
    return out;
  }
  std::vector<std::string> hosts() const { return lab_->host_names(); }
  std::vector<int> server_pids() const { return lab_->server_pids(); }
  void close() {
    py::gil_scoped_release nogil;
    lab_->close();
  }
  bool closed() const { return lab_->closed(); }

 private:
  std::string agent_path_;
  std::unique_ptr<harness::Lab> lab_;
};

}  // namespace

PYBIND11_MODULE(_sockchaos, m) {
  m.doc() = "sockchaos core (C++): scenario validation and runs, the Lab, reports";

  g_scenario_error = py::handle(
      PyErr_NewExceptionWithDoc("sockchaos.ScenarioError",
                                "An invalid scenario (or Lab parameter). str() lists every issue as "
                                "\"file:line: /json/pointer: message\"; .issues has them as dicts.",
                                PyExc_ValueError, nullptr));
  g_environment_error = py::handle(
      PyErr_NewExceptionWithDoc("sockchaos.SockchaosEnvironmentError",
                                "The machine cannot run scenarios (no privilege, a kernel feature or the "
                                "agent missing). .advice says what to do, as `sockchaos doctor` does.",
                                PyExc_OSError, nullptr));
  m.attr("ScenarioError") = py::reinterpret_borrow<py::object>(g_scenario_error);
  m.attr("SockchaosEnvironmentError") = py::reinterpret_borrow<py::object>(g_environment_error);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const harness::ScenarioError& e) {
      py::list issues;
      for (const auto& i : e.issues()) {
        py::dict d;
        d["file"] = i.file;
        d["pointer"] = i.pointer;
        d["line"] = i.line;
        d["message"] = i.message;
        issues.append(d);
      }
      py::object exc = g_scenario_error(issues_text(e.issues()));
      exc.attr("issues") = issues;
      PyErr_SetObject(g_scenario_error.ptr(), exc.ptr());
    } catch (const harness::EnvironmentError& e) {
      py::object exc = g_environment_error(std::string(e.what()) + "\nwhat to do: " + e.advice());
      exc.attr("advice") = e.advice();
      PyErr_SetObject(g_environment_error.ptr(), exc.ptr());
    } catch (const json::exception& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("version", &harness::tool_version);
  m.def("find_agent_path", &harness::find_agent_path);
  m.def("monotonic_ns", &sockchaos::monotonic_ns);
  m.def("validate", &validate, py::arg("paths"), py::arg("text"),
        "Validates scenario files/folders (paths) or one scenario's JSON text; returns JSON text.");
  m.def("run", &run, py::arg("paths"), py::arg("text"), py::arg("jobs") = 0, py::arg("agent_path") = "",
        py::arg("filter") = "", "Runs scenarios like `sockchaos run`; returns results.json text.");
  m.def("doctor", &doctor, py::arg("agent_path"));
  m.def("doctor_advice", [](const std::string& agent_path) {
    py::gil_scoped_release nogil;
    return harness::doctor_advice(harness::run_doctor(agent_path));
  });
  m.def("merge_results", &merge_results, py::arg("parts"));
  m.def("render_html_report", [](const std::string& results) {
    return reports::render_html_report(harness::results_from_json(json::parse(results), "<results>"));
  });
  m.def("all_expectations_passed", [](const std::string& results) {
    return harness::results_from_json(json::parse(results), "<results>").passed();
  });

  py::class_<NetnsScope>(m, "NetnsScope")
      .def(py::init<>())
      .def("enter", &NetnsScope::enter)
      .def("exit", &NetnsScope::exit);

  py::class_<PyLab>(m, "Lab")
      .def(py::init<const std::string&, const std::string&, const std::string&, const std::string&>(),
           py::arg("hosts_json"), py::arg("agent_path"), py::arg("links_json") = "null", py::arg("family") = "ipv4")
      .def("start_server", &PyLab::start_server)
      .def("install_fault", &PyLab::install_fault)
      .def("heal_fault", &PyLab::heal_fault)
      .def("address", &PyLab::address, py::arg("host"), py::arg("from_") = "", py::arg("ipv6") = false)
      .def("netns_fd", &PyLab::netns_fd)
      .def("sockets", &PyLab::sockets)
      .def("hosts", &PyLab::hosts)
      .def("server_pids", &PyLab::server_pids)
      .def("close", &PyLab::close)
      .def("closed", &PyLab::closed);
}
