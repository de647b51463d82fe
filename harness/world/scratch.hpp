// The product's temporary files, all made here: a scratch folder per cell run (a command's
// {tmp}, its rendered config templates, the hosts' name tables) or per Lab. RAII: the folder
// and everything in it are removed when the ScratchDir is destroyed. One function makes them
// all, so making them crash-safe later (a sweep of folders whose owner died) is one change.
#pragma once
#include <string>

#include "common/result.hpp"

namespace sockchaos::harness {

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

// A new folder $TMPDIR/sockchaos-<tag>-XXXXXX (mode 0700, mkdtemp). `tag`: letters, digits
// and '-' ("run", "lab").
Result<ScratchDir> make_scratch_dir(const std::string& tag);

}  // namespace sockchaos::harness
