// Scratch folders (a user command's {tmp}, the Lab's {tmp}) that no kill leaves behind.
//
// Every folder lives in the process's own scratch root, made on first use:
//   $TMPDIR/sockchaos-run.<pid namespace inode>.<pid>.<start time>.XXXXXX/<tag>-XXXXXX
// (start time: field 22 of /proc/<pid>/stat, so a reused pid is not taken for the owner).
// The root is removed whatever ends the process:
//   - a normal exit: by the process itself (a static object's destructor);
//   - any kill, SIGKILL included: by its reaper, `sockchaos-agent reap ROOT`, spawned with the
//     first folder in a session of its own (a kill of the orchestrator's process group misses
//     it). It blocks reading a pipe whose only write end the orchestrator holds (O_CLOEXEC: no
//     agent or command inherits it); the kernel closes that end when the orchestrator dies, the
//     read returns 0 and the reaper removes the root;
//   - the reaper killed as well (a cgroup kill, the OOM killer): every later sockchaos process
//     removes the roots whose owner is gone (same PID namespace and uid; pid and start time no
//     longer alive) when it makes its first folder or starts a run (sweep_dead_scratch).
#pragma once
#include <sys/types.h>

#include <string>

#include "common/result.hpp"

namespace sockchaos::harness {

// A new folder (mode 0700) under this process's scratch root; the caller removes it when done
// (remove_scratch_dir), or the root's removal does.
Result<std::string> make_scratch_path(const std::string& tag);
void remove_scratch_dir(const std::string& path);

// The same folder as an RAII owner: removed when the ScratchDir is destroyed (or by remove()).
class ScratchDir {
 public:
  ScratchDir() = default;  // empty: owns nothing
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& path() const { return path_; }
  bool empty() const { return path_.empty(); }
  void remove();  // now, instead of at destruction; idempotent

 private:
  friend Result<ScratchDir> make_scratch_dir(const std::string& tag);
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};
Result<ScratchDir> make_scratch_dir(const std::string& tag);

// This process's root, "" before the first make_scratch_dir; the reaper's pid, or -1 when none
// runs (the agent binary was not found: the sweep of a later process is then the fallback).
std::string scratch_root();
pid_t scratch_reaper_pid();

// Removes the scratch roots under `tmp` (default: $TMPDIR or /tmp) whose owner is dead.
// Returns how many were removed.
int sweep_dead_scratch(const std::string& tmp = "");

// The parts of a root's name; false when `name` is not one ("sockchaos-run.<ns>.<pid>.<start>.<x>").
struct ScratchOwner {
  unsigned long long pid_namespace = 0;
  pid_t pid = 0;
  unsigned long long start_time = 0;
};
bool parse_scratch_root_name(const std::string& name, ScratchOwner& owner);
inline constexpr const char* kScratchRootPrefix = "sockchaos-run.";

}  // namespace sockchaos::harness
