#include "harness/world/scratch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "harness/world/process.hpp"

extern char** environ;

namespace sockchaos::harness {

namespace fs = std::filesystem;

namespace {

std::string tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

unsigned long long own_pid_namespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<unsigned long long>(st.st_ino) : 0;
}

// Field 22 of /proc/<pid>/stat (starttime, clock ticks since boot; proc(5)); nullopt when the
// process is gone or a zombie (its descriptors are closed: it holds nothing any more).
std::optional<unsigned long long> start_time_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  const size_t paren = line.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream in(line.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(in >> field)) return std::nullopt;
    if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

struct Root {
  std::mutex mu;
  std::string path;
  int pipe_write = -1;
  pid_t reaper = -1;
  pid_t owner = -1;  // a forked child (no exec) that exits must not remove its parent's root

  ~Root() {
    if (path.empty() || ::getpid() != owner) return;
    std::error_code ec;
    fs::remove_all(path, ec);
    if (pipe_write >= 0) ::close(pipe_write);  // the reaper finds nothing left and exits
    if (reaper > 0) {
      // Reaped so that no process of ours outlives a normal exit (bounded: 2 s).
      int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, reaper, 0));
      if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        if (::poll(&p, 1, 2000) > 0) ::waitpid(reaper, nullptr, 0);
        ::close(pidfd);
      }
    }
  }

  // Under mu.
  Status ensure() {
    if (!path.empty() && ::getpid() == owner) return {};
    if (!path.empty()) {  // forked: the parent's root and reaper are not ours
      path.clear();
      if (pipe_write >= 0) ::close(pipe_write);
      pipe_write = -1;
      reaper = -1;
    }
    sweep_dead_scratch();
    const pid_t self = ::getpid();
    const auto start = start_time_of(self);
    std::string tmpl = (fs::path(tmp_dir()) / (std::string(kScratchRootPrefix) + std::to_string(own_pid_namespace()) +
                                               "." + std::to_string(self) + "." + std::to_string(start.value_or(0)) +
                                               ".XXXXXX"))
                           .string();
    if (!::mkdtemp(tmpl.data())) return Error::system("mkdtemp " + tmpl);
    // 0711: other users may pass through to a folder a command opened for them (a server that
    // drops to its own user, e.g. PostgreSQL's initdb as postgres writing into {tmp}); the
    // root itself stays unreadable to them, and each folder is made 0700.
    ::chmod(tmpl.c_str(), 0711);
    path = tmpl;
    owner = self;
    spawn_reaper();
    return {};
  }

  // Best effort: without a reaper a kill leaves the root to the next process's sweep.
  void spawn_reaper() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    const std::string agent = find_agent_path();
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // Its own session: a signal to the orchestrator's process group (Ctrl-C, `kill -- -PGID`,
    // a CI runner's timeout) does not reach it.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::string verb = "reap";
    char* argv[] = {const_cast<char*>(agent.c_str()), verb.data(), path.data(), nullptr};
    pid_t pid = -1;
    int rc;
    {
      std::lock_guard<std::mutex> creating(child_creation_mutex());
      rc = ::posix_spawn(&pid, agent.c_str(), &fa, &attr, argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(p[0]);
    if (rc != 0) {
      ::close(p[1]);
      return;
    }
    pipe_write = p[1];
    reaper = pid;
  }
};

Root& root() {
  static Root r;
  return r;
}

}  // namespace

bool parse_scratch_root_name(const std::string& name, ScratchOwner& owner) {
  const std::string prefix = kScratchRootPrefix;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  std::istringstream in(name.substr(prefix.size()));
  std::string ns, pid, start, rest;
  if (!std::getline(in, ns, '.') || !std::getline(in, pid, '.') || !std::getline(in, start, '.') ||
      !std::getline(in, rest) || rest.empty())
    return false;
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(ns) || !digits(pid) || !digits(start) || pid.size() > 9) return false;
  owner.pid_namespace = std::stoull(ns);
  owner.pid = static_cast<pid_t>(std::stol(pid));
  owner.start_time = std::stoull(start);
  return owner.pid > 0;
}

int sweep_dead_scratch(const std::string& tmp) {
  const std::string dir = tmp.empty() ? tmp_dir() : tmp;
  const unsigned long long ns = own_pid_namespace();
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    ScratchOwner owner;
    if (!parse_scratch_root_name(name, owner)) continue;
    // Only our own kind: another PID namespace's pids mean nothing here; another user's
    // folders are not ours to remove.
    if (owner.pid_namespace != ns) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (start_time_of(owner.pid) == std::optional<unsigned long long>(owner.start_time)) continue;  // alive
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    if (!rm) ++removed;
  }
  return removed;
}

Result<std::string> make_scratch_path(const std::string& tag) {
  Root& r = root();
  std::lock_guard lock(r.mu);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto st = r.ensure(); !st.ok()) return st.error();
    std::string tmpl = (fs::path(r.path) / (tag + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data())) return tmpl;
    if (errno != ENOENT) return Error::system("mkdtemp " + tmpl);
    // The root was removed under us (by hand): made again where the reaper expects it.
    if (::mkdir(r.path.c_str(), 0711) != 0 && errno != EEXIST) return Error::system("mkdir " + r.path);
  }
  return Error::plain("cannot make a scratch folder under " + tmp_dir());
}

void remove_scratch_dir(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::remove_all(path, ec);
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

ScratchDir::~ScratchDir() { remove(); }

void ScratchDir::remove() {
  remove_scratch_dir(path_);  // best effort: a destructor never throws
  path_.clear();
}

Result<ScratchDir> make_scratch_dir(const std::string& tag) {
  auto path = make_scratch_path(tag);
  if (!path.ok()) return path.error();
  return ScratchDir(std::move(path.value()));
}

std::string scratch_root() {
  Root& r = root();
  std::lock_guard lock(r.mu);
  return r.path;
}

pid_t scratch_reaper_pid() {
  Root& r = root();
  std::lock_guard lock(r.mu);
  return r.reaper;
}

}  // namespace sockchaos::harness
