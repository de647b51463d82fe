#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/agent.hpp"

namespace sockchaos::agent {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_alarm(int) { g_stop = 1; }

void write_all_stdout(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd pfd{STDOUT_FILENO, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      continue;
    }
    _exit(kExitOrphaned);  // EPIPE or similar: nobody is listening any more
  }
}

}  // namespace

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return "E" + std::to_string(err);
}

json event(const char* ev, int64_t t) {
  json out = json::object();
  out["ev"] = ev;
  out["t"] = t;
  return out;
}

void emit(json event) {
  std::string line = event.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  write_all_stdout(line);
}

void emit_simple(const char* ev, int64_t t) { emit(event(ev, t)); }

void emit_error(int64_t t, const char* syscall, const std::string& errno_text) {
  json out = event("error", t);
  out["syscall"] = syscall;
  out["errno"] = errno_text;
  emit(std::move(out));
}

void fatal(const std::string& message, int err, const std::string& option) {
  json out = event("fatal", monotonic_ns());
  out["message"] = err ? message + " (" + std::strerror(err) + ")" : message;
  if (!option.empty()) out["option"] = option;
  if (err) out["errno"] = errno_name(err);
  emit(std::move(out));
  _exit(kExitFatal);
}

bool stop_requested() { return g_stop != 0; }

void arm_stop_timer(int64_t after_ns) {
  static bool installed = false;
  if (!installed) {
    struct sigaction action {};
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: blocking syscalls return EINTR
    sigaction(SIGALRM, &action, nullptr);
    installed = true;
  }
  if (after_ns <= 0) after_ns = 1000;
  itimerval timer{};
  timer.it_value.tv_sec = static_cast<time_t>(after_ns / kSecond);
  timer.it_value.tv_usec = static_cast<suseconds_t>((after_ns % kSecond) / 1000);
  if (timer.it_value.tv_sec == 0 && timer.it_value.tv_usec == 0) timer.it_value.tv_usec = 1;
  setitimer(ITIMER_REAL, &timer, nullptr);
}

void finish_done() {
  emit_simple("done", monotonic_ns());
  _exit(kExitDone);
}

}  // namespace sockchaos::agent
