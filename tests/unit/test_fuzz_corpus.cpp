// Every file of the fuzz corpus and every fixed crash reproducer, through the fuzz target's
// own checks (tests/fuzz/scenario_check.hpp), built with the project's compiler: no crash,
// nothing thrown but ScenarioError, every issue with the file, a line and a pointer inside the
// document. Needs neither clang nor root; the fuzzing itself is bench/fuzz.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/scenario_check.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(SOCKCHAOS_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

size_t check_all(const fs::path& dir) {
  size_t n = 0;
  for (const auto& p : files_in(dir)) {
    EXPECT_EQ(sockchaos::fuzz::check_scenario_input(read_bytes(p)), "") << p;
    ++n;
  }
  return n;
}

TEST(FuzzCorpus, ScenarioCorpusKeepsTheParserContract) {
  size_t n = check_all(kFuzzDir / "corpus" / "scenario");
  // The corpus is seeded from every shipped scenario: an empty one means a broken checkout.
  EXPECT_GE(n, 14u);
}

TEST(FuzzCorpus, FixedScenarioCrashesStayFixed) {
  size_t n = check_all(kFuzzDir / "regressions" / "scenario");
  EXPECT_GE(n, 1u);
}

TEST(FuzzCorpus, ShippedScenariosPassTheContractAndAreValid) {
  for (const auto& p : files_in(SOCKCHAOS_SCENARIO_DIR)) {
    if (p.filename() == "schema.json") continue;
    std::string text = read_bytes(p);
    EXPECT_EQ(sockchaos::fuzz::check_scenario_input(text), "") << p;
    EXPECT_TRUE(sockchaos::harness::validate_document(sockchaos::harness::parse_document(text, p)).empty()) << p;
  }
}

// The checks themselves catch what they promise to (a contract that cannot fail proves nothing).
TEST(FuzzCorpus, TheContractDetectsBrokenInvariants) {
  using sockchaos::fuzz::valid_utf8;
  EXPECT_TRUE(valid_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_TRUE(sockchaos::fuzz::well_formed_pointer("/a~0b~1c/0"));
  EXPECT_FALSE(sockchaos::fuzz::well_formed_pointer("a"));
  EXPECT_FALSE(sockchaos::fuzz::well_formed_pointer("/a~2"));
  sockchaos::harness::Document doc;
  doc.value = sockchaos::harness::json::parse(R"({"a": [1, {"b": 2}]})");
  EXPECT_TRUE(sockchaos::fuzz::resolves(doc.value, "/a/1/b"));
  EXPECT_FALSE(sockchaos::fuzz::resolves(doc.value, "/a/2"));
  EXPECT_NE(sockchaos::fuzz::check_issues({{"other.json", "", 1, "m"}}, "fuzz.json", nullptr, "t"), "");
  EXPECT_NE(sockchaos::fuzz::check_issues({{"fuzz.json", "/x", 1, "m"}}, "fuzz.json", &doc, "t"), "");
  EXPECT_NE(sockchaos::fuzz::check_issues({{"fuzz.json", "", 0, "m"}}, "fuzz.json", nullptr, "t"), "");
  EXPECT_EQ(sockchaos::fuzz::check_issues({{"fuzz.json", "/a/0", 2, "m"}}, "fuzz.json", &doc, "t"), "");
}

}  // namespace
