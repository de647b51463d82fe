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

void emit(const harness::AgentEvent& event) { write_all_stdout(harness::format_agent_event(event)); }

void emit_simple(harness::AgentEventKind kind, int64_t t) {
  harness::AgentEvent event;
  event.kind = kind;
  event.t = t;
  emit(event);
}

void emit_error(int64_t t, const char* syscall, const std::string& errno_text) {
  harness::AgentEvent event;
  event.kind = harness::AgentEventKind::error;
  event.t = t;
  event.syscall = syscall;
  event.error = errno_text;
  emit(event);
}

void fatal(const std::string& message, int err, const std::string& option) {
  harness::AgentEvent event;
  event.kind = harness::AgentEventKind::fatal;
  event.t = monotonic_ns();
  event.message = err ? message + " (" + std::strerror(err) + ")" : message;
  event.option = option;
  if (err) event.error = errno_name(err);
  emit(event);
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
  emit_simple(harness::AgentEventKind::done, monotonic_ns());
  _exit(kExitDone);
}

}  // namespace sockchaos::agent
