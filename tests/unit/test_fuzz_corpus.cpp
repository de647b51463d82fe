// Every file of the fuzz corpus and every fixed crash reproducer, through the fuzz target's
// own checks (tests/fuzz/scenario_check.hpp), built with the project's compiler: no crash,
// nothing thrown but ScenarioError, every issue with the file, a line and a pointer inside the
// document. Needs neither clang nor root; the fuzzing itself is bench/fuzz.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/events_check.hpp"
#include "tests/fuzz/results_check.hpp"
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

template <class Check>
size_t check_all(const fs::path& dir, Check check) {
  size_t n = 0;
  for (const auto& p : files_in(dir)) {
    EXPECT_EQ(check(read_bytes(p)), "") << p;
    ++n;
  }
  return n;
}

size_t check_all(const fs::path& dir) {
  return check_all(dir, [](const std::string& bytes) { return sockchaos::fuzz::check_scenario_input(bytes); });
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

TEST(FuzzCorpus, ResultsCorpusKeepsTheReaderContract) {
  // Seeded from results.json files of shipped scenarios (whole and cut down) and hostile shapes.
  size_t n = check_all(kFuzzDir / "corpus" / "results",
                       [](const std::string& bytes) { return sockchaos::fuzz::check_results_input(bytes); });
  EXPECT_GE(n, 8u);
  check_all(kFuzzDir / "regressions" / "results",
            [](const std::string& bytes) { return sockchaos::fuzz::check_results_input(bytes); });
}

TEST(FuzzCorpus, EventsCorpusKeepsTheParserContract) {
  size_t n = check_all(kFuzzDir / "corpus" / "events",
                       [](const std::string& bytes) { return sockchaos::fuzz::check_event_input(bytes); });
  EXPECT_GE(n, 10u);
  check_all(kFuzzDir / "regressions" / "events",
            [](const std::string& bytes) { return sockchaos::fuzz::check_event_input(bytes); });
}

TEST(FuzzCorpus, ResultsSeedsAreAcceptedAndHostileOnesRefused) {
  using sockchaos::harness::ScenarioError;
  // The whole seeds from real runs read without an issue (a reader refusing its own writer's
  // files would pass the contract trivially).
  size_t whole = 0;
  for (const auto& p : files_in(kFuzzDir / "corpus" / "results")) {
    if (p.filename().string().rfind("seed-run-", 0) != 0) continue;
    auto doc = sockchaos::harness::parse_document(read_bytes(p), p, sockchaos::harness::kResultsLimits);
    EXPECT_NO_THROW(sockchaos::harness::results_from_json(doc.value, p, doc.lines)) << p;
    ++whole;
  }
  EXPECT_GE(whole, 3u);
  // The issue's example: runs as a string and summary.cells as "many" is exit 2 with pointers.
  auto doc = sockchaos::harness::parse_document(
      R"({"version": "x", "scenarios": [{"name": "a", "cells": [{"id": "", "runs": "many"}]}], "summary": {"cells": "many"}})",
      "bad.json", sockchaos::harness::kResultsLimits);
  try {
    sockchaos::harness::results_from_json(doc.value, "bad.json", doc.lines);
    ADD_FAILURE() << "accepted";
  } catch (const ScenarioError& e) {
    bool runs = false;
    for (const auto& i : e.issues()) runs = runs || i.pointer == "/scenarios/0/cells/0/runs";
    EXPECT_TRUE(runs) << e.what();
  }
}

TEST(FuzzCorpus, GarbledAgentLinesAreErrorsJsonCanCarry) {
  // A cut line, invalid UTF-8 and control bytes: an error message, valid UTF-8, one line.
  for (std::string line : {std::string("{\"ev\":\"error\",\"t\":5,\"errno\":\"ETIMED"), std::string("\xff\xfe{\"ev\"\n"),
                           std::string(200, '\xc3'), std::string("{\"ev\":\"nonsense\",\"t\":1}")}) {
    auto parsed = sockchaos::harness::parse_agent_event(line);
    ASSERT_FALSE(parsed.ok()) << line;
    EXPECT_EQ(sockchaos::fuzz::check_event_input(line), "") << parsed.error().str();
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
