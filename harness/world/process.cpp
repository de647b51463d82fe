#include "harness/world/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <filesystem>

namespace bp = boost::process;

namespace sockchaos::harness {

namespace {
struct ChildSetup : bp::extend::handler {
  int netns_fd;
  pid_t parent;
  int out_fd, err_fd;
  const char* cwd;
  template <class Executor>
  void on_exec_setup(Executor&) const {
    // Async-signal-safe syscalls only: we are between fork and exec.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (cwd && ::chdir(cwd) != 0) ::_exit(124);
  }
};
}  // namespace

struct ChildProcess::Impl {
  bp::child child;
  Fd out_r, err_r, pidfd;
  std::string partial;
  int status = -1;
  bool reaped = false;
};

ChildProcess::ChildProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&&) noexcept = default;
ChildProcess::~ChildProcess() {
  if (impl_) kill_and_reap();
}

Result<ChildProcess> ChildProcess::spawn(const netns::NetNs& ns, const std::vector<std::string>& argv,
                                         const std::string& working_dir) {
  if (argv.empty()) return Error::plain("empty command");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::system("pipe2");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Error::system("pipe2");
  }
  Fd out_w(out[1]), err_w(err[1]);
  auto impl = std::make_unique<Impl>();
  impl->out_r = Fd(out[0]);
  impl->err_r = Fd(err[0]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);

  std::string exe = argv[0];
  if (exe.find('/') == std::string::npos) {
    auto found = bp::search_path(exe);
    if (found.empty()) return Error::plain("command not found on PATH: " + exe);
    exe = found.string();
  }
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  ChildSetup setup;
  setup.netns_fd = ns.fd();
  setup.parent = ::getpid();
  setup.out_fd = out_w.get();
  setup.err_fd = err_w.get();
  setup.cwd = working_dir.empty() ? nullptr : working_dir.c_str();
  std::error_code ec;
  bp::environment env = boost::this_process::environment();
  // set(), not operator[]: Boost 1.74's environment find() compares "KEY=" against each entry
  // with std::equal over the key's length and reads past a shorter entry (AddressSanitizer:
  // heap-buffer-overflow); set() checks the length first.
  env.set("SOCKCHAOS_PARENT_PID", std::to_string(::getpid()));
#if defined(__SANITIZE_ADDRESS__)
  impl->child = bp::child(bp::exe = exe, bp::args = args, env, setup, ec);
#else
  // vfork: the child borrows the orchestrator's memory until execve instead of copying its page
  // tables (with fork, copy_page_range + exit_mmap led a profile of a 256-cell run, which took
  // 9.4-10.1 s against 4.1-4.2 s with vfork). ChildSetup makes syscalls only, as vfork
  // requires; the sanitizer build keeps fork (ASan's stack bookkeeping and vfork do not mix).
  impl->child = bp::child(bp::exe = exe, bp::args = args, env, setup, ec, bp::posix::use_vfork);
#endif
  if (ec) return Error{"start " + exe + ": " + ec.message(), ec.value()};
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, impl->child.id(), 0));
  if (pfd < 0) {
    int e = errno;
    ::kill(impl->child.id(), SIGKILL);
    impl->child.wait();
    return Error::system("pidfd_open", e);
  }
  ::fcntl(pfd, F_SETFD, FD_CLOEXEC);
  impl->pidfd = Fd(pfd);
  return ChildProcess(std::move(impl));
}

pid_t ChildProcess::pid() const { return impl_->child.id(); }
int ChildProcess::stdout_fd() const { return impl_->out_r.get(); }
int ChildProcess::stderr_fd() const { return impl_->err_r.get(); }
int ChildProcess::pidfd() const { return impl_->pidfd.get(); }

Status ChildProcess::signal_group(int sig) {
  if (impl_->reaped) return Error::plain("process already exited");
  // The child made itself a group leader before exec; signal the group so a user command's
  // own children get it too. Fall back to the pid if the group is not there yet.
  if (::kill(-pid(), sig) != 0 && ::kill(pid(), sig) != 0) return Error::system("kill");
  return {};
}

int ChildProcess::try_reap() {
  if (impl_->reaped) return impl_->status;
  int status = 0;
  pid_t r = ::waitpid(pid(), &status, WNOHANG);
  if (r == pid()) {
    impl_->reaped = true;
    impl_->status = status;
    return status;
  }
  return -1;
}

bool ChildProcess::running() { return try_reap() == -1; }

int ChildProcess::exit_code() const {
  int s = impl_->status;
  if (!impl_->reaped) return -1;
  if (WIFEXITED(s)) return WEXITSTATUS(s);
  if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
  return -1;
}

void ChildProcess::kill_and_reap() {
  if (!impl_ || impl_->reaped) return;
  ::kill(-pid(), SIGKILL);
  ::kill(pid(), SIGKILL);
  int status = 0;
  while (::waitpid(pid(), &status, 0) < 0 && errno == EINTR) {
  }
  impl_->reaped = true;
  impl_->status = status;
  impl_->child.detach();  // already reaped here; keep Boost from waiting again
}

bool ChildProcess::read_lines(std::vector<std::string>& lines) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(stdout_fd(), buf, sizeof buf);
    if (n > 0) {
      impl_->partial.append(buf, static_cast<size_t>(n));
      continue;
    }
    bool eof = (n == 0);
    size_t start = 0, nl;
    while ((nl = impl_->partial.find('\n', start)) != std::string::npos) {
      lines.emplace_back(impl_->partial, start, nl - start);
      start = nl + 1;
    }
    impl_->partial.erase(0, start);
    if (n < 0 && errno == EINTR) continue;
    return !eof;
  }
}

std::string ChildProcess::drain_stderr(size_t limit) {
  std::string s;
  char buf[4096];
  while (s.size() < limit) {
    ssize_t n = ::read(stderr_fd(), buf, sizeof buf);
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  if (s.size() > limit) s.resize(limit);
  return s;
}

void ChildProcess::capture(std::string& out, std::string& err, size_t cap) {
  char buf[16384];
  for (auto [fd, dst] : {std::pair<int, std::string*>{stdout_fd(), &out}, {stderr_fd(), &err}}) {
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (dst->size() < cap) dst->append(buf, std::min(static_cast<size_t>(n), cap - dst->size()));
    }
  }
}

std::string find_agent_path() {
  if (const char* env = std::getenv("SOCKCHAOS_AGENT"); env && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = self.parent_path() / "sockchaos-agent";
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return std::string(SOCKCHAOS_BUILD_DIR) + "/sockchaos-agent";
}

}  // namespace sockchaos::harness
