#include "harness/world/scratch.hpp"

#include <stdlib.h>

#include <filesystem>

namespace sockchaos::harness {

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
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // best effort: a destructor never throws
  path_.clear();
}

Result<ScratchDir> make_scratch_dir(const std::string& tag) {
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string tmpl = (base / ("sockchaos-" + tag + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) return Error::system("mkdtemp " + tmpl);
  return ScratchDir(std::move(tmpl));
}

}  // namespace sockchaos::harness
