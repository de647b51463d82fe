#include "harness/world/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "harness/protocol/zygote.hpp"

extern char** environ;

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
    // Close-on-exec, so only its copy on 0 reaches the program (dup2 clears the flag on 0).
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull > 0) ::dup2(devnull, 0);
    if (devnull == 0) ::fcntl(0, F_SETFD, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (cwd && ::chdir(cwd) != 0) ::_exit(124);
  }
};

// A child's stdout and stderr pipes, all ends O_CLOEXEC (no other child inherits them), the
// read ends non-blocking.
struct OutputPipes {
  Fd out_r, out_w, err_r, err_w;
  static Result<OutputPipes> open() {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Error::system("pipe2");
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return Error::system("pipe2");
    }
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err[0], F_SETFL, O_NONBLOCK);
    return OutputPipes{Fd(out[0]), Fd(out[1]), Fd(err[0]), Fd(err[1])};
  }
};

// A pidfd (readable when the process exits), close-on-exec.
Result<Fd> open_pidfd(pid_t pid) {
  const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd < 0) return Error::system("pidfd_open");
  ::fcntl(pfd, F_SETFD, FD_CLOEXEC);
  return Fd(pfd);
}

// The agent's fork server for one agent binary (harness/protocol/zygote.hpp), started on first
// use and kept for the life of this process.
class Zygote {
 public:
  // The running zygote of agent_path, started now if there is none; nullptr when it cannot run
  // or has failed (then agents are exec'd as before). SOCKCHAOS_ZYGOTE=0 turns it off.
  static Zygote* of(const std::string& agent_path) {
    if (const char* env = std::getenv("SOCKCHAOS_ZYGOTE"); env && std::string(env) == "0") return nullptr;
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<Zygote>> all;  // closed and reaped at exit
    std::lock_guard<std::mutex> lock(mu);
    auto& z = all[agent_path];
    // A forked copy of this process (no exec) must not use its parent's zygote: the agents it
    // forks would be the parent's children.
    if (z && z->owner_ != ::getpid()) {
      z->sock_ = Fd();  // our copy of the parent's socket: the parent's zygote must see EOF when the parent goes
      z.release();      // the rest is the parent's: not ours to reap
    }
    if (!z) z = start(agent_path);
    return z && !z->broken_ ? z.get() : nullptr;
  }

  // The new agent's pid; it is this process's child. An error leaves the zygote broken (agents
  // are exec'd from then on) when the zygote itself failed.
  Result<pid_t> fork_agent(int netns_fd, int out_w, int err_w, const std::string& spec) {
    if (spec.size() > kZygoteMaxSpec) return Error::plain("agent spec longer than the zygote takes");
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return Error::plain("the agent zygote is gone");
    iovec iov{const_cast<char*>(spec.data()), spec.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kZygoteRequestFds)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * kZygoteRequestFds);
    const int fds[kZygoteRequestFds] = {netns_fd, out_w, err_w};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t n;
    while ((n = ::sendmsg(sock_.get(), &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (n < 0) return lost("send to the agent zygote");
    ZygoteReply reply;
    while ((n = ::recv(sock_.get(), &reply, sizeof reply, 0)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof reply)) return lost("reply of the agent zygote");
    if (reply.pid <= 0) return Error::system("agent zygote: clone", reply.err);
    return static_cast<pid_t>(reply.pid);
  }

  // Agents of this zygote are not this process's children (a wrapped agent binary): never again.
  void disown() { broken_ = true; }

  ~Zygote() {
    if (owner_ != ::getpid() || pid_ <= 0) return;
    sock_ = Fd();  // the zygote reads EOF and exits
    // Reaped so that no process of ours outlives a normal exit (bounded: 2 s).
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      if (::poll(&p, 1, 2000) > 0) ::waitpid(pid_, nullptr, 0);
      ::close(pidfd);
    }
  }

 private:
  Error lost(const std::string& what) {
    const int e = errno;
    broken_ = true;
    return Error::system(what, e);
  }

  // The zygote is spawned from a thread of its own that never ends: an agent's PR_SET_PDEATHSIG
  // fires when the thread that is its parent exits, and a CLONE_PARENT agent's parent is the
  // thread that spawned the zygote, so that thread must live as long as this process.
  static std::unique_ptr<Zygote> start(const std::string& agent_path) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
    Fd mine(sv[0]), theirs(sv[1]);
    std::promise<pid_t> spawned;
    auto result = spawned.get_future();
    const std::string parent = "SOCKCHAOS_PARENT_PID=" + std::to_string(::getpid());
    std::thread([&spawned, &agent_path, &theirs, &parent] {
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, theirs.get(), 0);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      posix_spawnattr_t attr;
      posix_spawnattr_init(&attr);
      sigset_t none, all;
      sigemptyset(&none);
      sigfillset(&all);
      posix_spawnattr_setsigmask(&attr, &none);
      posix_spawnattr_setsigdefault(&attr, &all);
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      std::vector<char*> envp;
      for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "SOCKCHAOS_PARENT_PID=", 21) != 0) envp.push_back(*e);
      envp.push_back(const_cast<char*>(parent.c_str()));
      envp.push_back(nullptr);
      std::string verb = "zygote";
      char* argv[] = {const_cast<char*>(agent_path.c_str()), verb.data(), nullptr};
      pid_t pid = -1;
      int rc;
      {
        std::lock_guard<std::mutex> creating(child_creation_mutex());
        rc = ::posix_spawn(&pid, agent_path.c_str(), &fa, &attr, argv, envp.data());
      }
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&attr);
      spawned.set_value(rc == 0 ? pid : -1);
      if (rc != 0) return;  // no zygote, no agent of it: this thread need not stay
      for (;;) ::pause();
    }).detach();
    const pid_t pid = result.get();
    auto z = std::unique_ptr<Zygote>(new Zygote);
    z->owner_ = ::getpid();
    if (pid <= 0) {
      z->broken_ = true;  // remembered: agents are exec'd, and no second start is tried
      return z;
    }
    z->sock_ = std::move(mine);
    z->pid_ = pid;
    return z;
  }

  Zygote() = default;
  std::mutex mu_;
  Fd sock_;
  pid_t pid_ = -1;
  pid_t owner_ = -1;
  std::atomic<bool> broken_{false};  // set under mu_, read by of() without it
};

}  // namespace

std::mutex& child_creation_mutex() {
  static std::mutex mu;
  return mu;
}

struct ChildProcess::Impl {
  std::optional<bp::child> child;  // exec'd; a zygote's agent has none
  pid_t pid = -1;
  Fd out_r, err_r, pidfd;
  std::string partial;
  int status = -1;
  bool reaped = false;

  // A child's state with the read ends of its fresh stdout/stderr pipes; the write ends, for the
  // child, go to out_w and err_w.
  static Result<std::unique_ptr<Impl>> with_output_pipes(Fd& out_w, Fd& err_w) {
    auto pipes = OutputPipes::open();
    if (!pipes.ok()) return pipes.error();
    out_w = std::move(pipes->out_w);
    err_w = std::move(pipes->err_w);
    auto impl = std::make_unique<Impl>();
    impl->out_r = std::move(pipes->out_r);
    impl->err_r = std::move(pipes->err_r);
    return impl;
  }
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
  Fd out_w, err_w;
  auto made = Impl::with_output_pipes(out_w, err_w);
  if (!made.ok()) return made.error();
  std::unique_ptr<Impl> impl = std::move(*made);

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
  {
    std::lock_guard<std::mutex> creating(child_creation_mutex());
    impl->child.emplace(bp::exe = exe, bp::args = args, env, setup, ec);
  }
#else
  // vfork: the child borrows the orchestrator's memory until execve instead of copying its page
  // tables (with fork, copy_page_range + exit_mmap led a profile of a 256-cell run, which took
  // 9.4-10.1 s against 4.1-4.2 s with vfork). ChildSetup makes syscalls only, as vfork
  // requires; the sanitizer build keeps fork (ASan's stack bookkeeping and vfork do not mix).
  impl->child.emplace(bp::exe = exe, bp::args = args, env, setup, ec, bp::posix::use_vfork);
#endif
  if (ec) return Error{"start " + exe + ": " + ec.message(), ec.value()};
  impl->pid = impl->child->id();
  auto pidfd = open_pidfd(impl->pid);
  if (!pidfd.ok()) {
    ::kill(impl->pid, SIGKILL);
    impl->child->wait();
    return pidfd.error();
  }
  impl->pidfd = std::move(*pidfd);
  return ChildProcess(std::move(impl));
}

Result<ChildProcess> ChildProcess::spawn_agent(const netns::NetNs& ns, const std::string& agent_path,
                                               const std::string& spec) {
  Zygote* zygote = Zygote::of(agent_path);
  if (!zygote) return spawn(ns, {agent_path, spec});
  Fd out_w, err_w;
  auto made = Impl::with_output_pipes(out_w, err_w);
  if (!made.ok()) return made.error();
  std::unique_ptr<Impl> impl = std::move(*made);
  auto pid = zygote->fork_agent(ns.fd(), out_w.get(), err_w.get(), spec);
  if (!pid.ok()) return spawn(ns, {agent_path, spec});  // the zygote failed: exec as before
  // The agent must be our child. It is not when the agent binary is a wrapper (a script that runs
  // the real agent, strace, valgrind): the zygote's parent, and so the agent's, is the wrapper.
  // Then no zygote for this path: that agent goes, and it and all later ones are exec'd.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(*pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) {
    ::kill(*pid, SIGKILL);
    zygote->disown();
    return spawn(ns, {agent_path, spec});
  }
  impl->pid = *pid;
  // Our child (CLONE_PARENT), not yet reaped, so its pid cannot have been reused.
  auto pidfd = open_pidfd(impl->pid);
  if (!pidfd.ok()) {
    ::kill(impl->pid, SIGKILL);
    while (::waitpid(impl->pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return pidfd.error();
  }
  impl->pidfd = std::move(*pidfd);
  return ChildProcess(std::move(impl));
}

pid_t ChildProcess::pid() const { return impl_->pid; }
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
  if (impl_->child) impl_->child->detach();  // already reaped here; keep Boost from waiting again
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
