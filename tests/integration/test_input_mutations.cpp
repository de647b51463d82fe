// Mutated copies of the shipped scenarios through `sockchaos validate`: byte flips, random
// bytes, truncations, swapped values, duplicated text and lines, invalid UTF-8, NUL bytes,
// byte order marks, huge numbers, deep nesting. Deterministic (fixed seed, our own generator
// arithmetic, so every standard library makes the same variants). Every run must exit 0
// (still valid) or 2 (invalid input) and every error line must name the file and a line or a
// JSON Pointer: never exit 1 with a library's raw text. Needs no root.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/fuzz/scenario_check.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// A folder of this test's own, removed when the test ends, however it ends.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sockchaos-mutations-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << bytes;
}

// splitmix64: the same sequence everywhere (std::uniform_int_distribution is not portable).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

// Offsets of tokens of one kind: quoted strings (with their quotes) or bare numbers.
std::vector<std::pair<size_t, size_t>> tokens(const std::string& text, bool strings) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "//") == 0) {  // skip comments: their text is not a value
      i = text.find('\n', i);
      if (i == std::string::npos) break;
      continue;
    }
    if (text[i] == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      if (j >= text.size()) break;
      if (strings) out.emplace_back(i, j + 1 - i);
      i = j;
    } else if (!strings && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '-')) {
      size_t j = i + 1;
      while (j < text.size() && std::string("0123456789.eE+-").find(text[j]) != std::string::npos) ++j;
      out.emplace_back(i, j - i);
      i = j - 1;
    }
  }
  return out;
}

struct Variant {
  std::string kind;
  std::string text;
};

const std::vector<std::string> kInvalidUtf8 = {"\xFF", "\xFE\xFE", "\x80", "\xC0\xAF", "\xC3", "\xE2\x82",
                                               "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80"};
const std::vector<std::string> kHugeNumbers = {"1e309", "-1e400", std::string(400, '9'), "18446744073709551616",
                                               "9223372036854775808", "1e-400", "-0", "4.9e-324",
                                               "1.7976931348623157e308", "-" + std::string(30, '9')};

Variant mutate(const std::string& text, Rng& rng, int kind) {
  std::string t = text;
  size_t at = rng.below(t.size());
  switch (kind) {
    case 0:  // flip one bit
      t[at] = static_cast<char>(t[at] ^ (1 << rng.below(8)));
      return {"bit-flip", t};
    case 1:  // any byte
      t[at] = static_cast<char>(rng.below(256));
      return {"random-byte", t};
    case 2:  // truncate
      return {"truncation", t.substr(0, at)};
    case 3: {  // swap two values of different kinds (a string and a number, two strings)
      auto strings = tokens(t, true), numbers = tokens(t, false);
      auto& first = rng.below(2) || numbers.empty() ? strings : numbers;
      auto& second = rng.below(2) || numbers.empty() ? strings : numbers;
      if (first.empty() || second.empty()) return {"swap", t};
      auto a = first[rng.below(first.size())], b = second[rng.below(second.size())];
      if (a.first > b.first) std::swap(a, b);
      if (a.first + a.second > b.first) return {"swap", t};
      std::string va = t.substr(a.first, a.second), vb = t.substr(b.first, b.second);
      t.replace(b.first, b.second, va);
      t.replace(a.first, a.second, vb);
      return {"swap", t};
    }
    case 4: {  // duplicate a slice of text somewhere else
      size_t from = rng.below(t.size()), len = 1 + rng.below(std::min<size_t>(200, t.size() - from));
      t.insert(rng.below(t.size() + 1), t.substr(from, len));
      return {"duplicated-text", t};
    }
    case 5: {  // duplicate a whole line (often a duplicate key) or delete one
      std::vector<size_t> starts = {0};
      for (size_t i = 0; i < t.size(); ++i)
        if (t[i] == '\n') starts.push_back(i + 1);
      size_t line = rng.below(starts.size());
      size_t end = line + 1 < starts.size() ? starts[line + 1] : t.size();
      std::string l = t.substr(starts[line], end - starts[line]);
      if (rng.below(2)) t.insert(starts[line], l);
      else t.erase(starts[line], end - starts[line]);
      return {"line", t};
    }
    case 6: {  // invalid UTF-8, mostly inside a string value
      auto strings = tokens(t, true);
      size_t pos = strings.empty() || rng.below(4) == 0 ? at : strings[rng.below(strings.size())].first + 1;
      t.insert(pos, kInvalidUtf8[rng.below(kInvalidUtf8.size())]);
      return {"invalid-utf8", t};
    }
    case 7: {  // a number that overflows, underflows or sits at the edges
      auto numbers = tokens(t, false);
      auto strings = tokens(t, true);
      const std::string& huge = kHugeNumbers[rng.below(kHugeNumbers.size())];
      if (!numbers.empty() && rng.below(2)) {
        auto n = numbers[rng.below(numbers.size())];
        t.replace(n.first, n.second, huge);
      } else if (!strings.empty()) {  // in place of a string value: a type error at its pointer
        auto s = strings[rng.below(strings.size())];
        if (s.first + s.second < t.size() && t[s.first + s.second] != ':') t.replace(s.first, s.second, huge);
      }
      return {"huge-number", t};
    }
    case 8:  // NUL byte
      t.insert(at, 1, '\0');
      return {"nul-byte", t};
    case 9:  // byte order marks: UTF-8 at the start (fine) or inside, UTF-16 at the start
      if (rng.below(3) == 0) return {"bom", "\xEF\xBB\xBF" + t};
      if (rng.below(2) == 0) return {"bom", "\xFF\xFE" + t};
      t.insert(at, "\xEF\xBB\xBF");
      return {"bom", t};
    case 10: {  // deep nesting in place of a value
      auto strings = tokens(t, true);
      if (strings.empty()) return {"deep", t};
      auto s = strings[rng.below(strings.size())];
      size_t depth = 50 + rng.below(100);
      t.replace(s.first, s.second, std::string(depth, '[') + "1" + std::string(depth, ']'));
      return {"deep", t};
    }
    default: {  // several of the above at once
      Variant v{"", t};
      for (int i = 0; i < 3; ++i) v = mutate(v.text, rng, static_cast<int>(rng.below(11)));
      v.kind = "combined";
      return v;
    }
  }
}

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Spawns the CLI with stdout and stderr in files; returns the pid (its pidfd in *pidfd).
pid_t spawn_validate(const fs::path& file, const fs::path& out, const fs::path& err, int* pidfd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string cli = SOCKCHAOS_CLI, sub = "validate", path = file.string();
  char* argv[] = {cli.data(), sub.data(), path.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cli.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  *pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return pid;
}

// Waits for the child; one that takes longer than `limit_ms` (a hang, not a slow run) is killed.
int wait_exit(pid_t pid, int pidfd, int limit_ms) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, limit_ms) == 0) ::kill(pid, SIGKILL);
    ::close(pidfd);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(InputMutations, EveryMutatedScenarioIsValidOrExit2WithFileAndPointerOrLine) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty()) << "cannot create a temporary folder";

  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(SOCKCHAOS_SCENARIO_DIR))
    if (e.path().extension() == ".json" && e.path().filename() != "schema.json") seeds.push_back(e.path().string());
  std::sort(seeds.begin(), seeds.end());
  ASSERT_GE(seeds.size(), 10u);

  constexpr int kKinds = 12, kPerKind = 60;  // 720 variants
  Rng rng{20240611};
  std::vector<std::pair<fs::path, std::string>> variants;  // file, kind
  for (int i = 0; i < kKinds * kPerKind; ++i) {
    std::string seed_text = read_bytes(seeds[rng.below(seeds.size())]);
    Variant v = mutate(seed_text, rng, i % kKinds);
    fs::path file = dir.path / (std::to_string(i) + "-" + v.kind + ".json");
    write_bytes(file, v.text);
    variants.emplace_back(file, v.kind);
  }

  // Two at a time (the machine has two cores); 30 s for one run means it hangs.
  std::map<int, int> by_exit;
  std::map<std::string, std::map<int, int>> by_kind;
  size_t pointers = 0;
  const std::regex error_line(R"(^error: (.*?)(?::(\d+))?: (?:(/[^:]*): )?(.*)$)");
  for (size_t i = 0; i < variants.size(); i += 2) {
    struct Child {
      size_t index;
      pid_t pid;
      int pidfd;
    };
    std::vector<Child> children;
    for (size_t k = i; k < std::min(i + 2, variants.size()); ++k) {
      int pidfd = -1;
      pid_t pid = spawn_validate(variants[k].first, dir.path / ("out" + std::to_string(k % 2)),
                                 dir.path / ("err" + std::to_string(k % 2)), &pidfd);
      ASSERT_GT(pid, 0) << "cannot start " << SOCKCHAOS_CLI;
      children.push_back({k, pid, pidfd});
    }
    for (const auto& c : children) {
      const auto& [file, kind] = variants[c.index];
      int code = wait_exit(c.pid, c.pidfd, 30000);
      std::string err = read_bytes(dir.path / ("err" + std::to_string(c.index % 2)));
      by_exit[code]++;
      by_kind[kind][code]++;
      std::string context = "variant " + file.filename().string() + " (kept in " + dir.path.string() +
                            " until the test ends), stderr:\n" + err;
      ASSERT_TRUE(code == 0 || code == 2) << "exit " << code << " for " << context;
      EXPECT_TRUE(sockchaos::fuzz::valid_utf8(err)) << context;
      if (code == 0) {
        EXPECT_EQ(err, "") << context;
        continue;
      }
      std::istringstream lines(err);
      std::string line;
      size_t errors = 0;
      while (std::getline(lines, line)) {
        if (line.rfind("error: ", 0) != 0) {
          EXPECT_TRUE(std::regex_match(line, std::regex(R"(\d+ error\(s\))"))) << "stray line \"" << line << "\" in " << context;
          continue;
        }
        ++errors;
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, error_line)) << line;
        EXPECT_EQ(m[1].str(), file.string()) << "the error does not name the file: " << line;
        bool has_line = m[2].matched && std::stoi(m[2].str()) > 0;
        EXPECT_TRUE(has_line || m[3].matched) << "no line and no pointer: " << line;
        if (m[3].matched) ++pointers;
      }
      EXPECT_GT(errors, 0u) << context;
    }
  }
  std::string summary;
  for (const auto& [kind, codes] : by_kind) {
    summary += kind + ":";
    for (const auto& [code, n] : codes) summary += " exit " + std::to_string(code) + " x" + std::to_string(n);
    summary += "\n";
  }
  std::cout << summary;
  // The mutations are neither all harmless nor all fatal to the syntax.
  EXPECT_EQ(by_exit[0] + by_exit[2], kKinds * kPerKind);
  EXPECT_GT(by_exit[0], 0) << summary;
  EXPECT_GT(by_exit[2], kKinds * kPerKind / 2) << summary;
  EXPECT_GT(pointers, static_cast<size_t>(kKinds * kPerKind / 4)) << summary;
}

}  // namespace
