// Helpers for the scenario-model unit tests.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/model/load.hpp"
#include "harness/verdict/results_json.hpp"

namespace sockchaos::harness::testing {

inline std::vector<InputIssue> issues_of(const std::string& text, const std::string& file = "t.json") {
  return validate_document(parse_document(text, file));
}

inline std::vector<InputIssue> issues_of_json(const json& value) {
  Document doc;
  doc.file = "<dict>";
  doc.value = value;
  return validate_document(doc);
}

// Runs as results.json writes them, read through the one results reader.
inline std::vector<RunResult> runs_of(const json& runs) {
  json doc = {{"scenarios", json::array({{{"name", "e"}, {"cells", json::array({{{"id", "c"}, {"runs", runs}}})}}})}};
  return results_from_json(doc, "<test>").scenarios.at(0).cells.at(0).runs;
}

inline std::string dump_issues(const std::vector<InputIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += "  " + i.str() + "\n";
  return out;
}

inline const InputIssue* find_issue(const std::vector<InputIssue>& issues, const std::string& pointer) {
  for (const auto& i : issues)
    if (i.pointer == pointer) return &i;
  return nullptr;
}

// The issue at `pointer`, failing the test (with every issue listed) when there is none.
#define EXPECT_ISSUE(issues, pointer, substring)                                                         \
  do {                                                                                                   \
    const auto* found_issue_ = ::sockchaos::harness::testing::find_issue((issues), (pointer));           \
    if (!found_issue_) {                                                                                 \
      ADD_FAILURE() << "no issue at " << (pointer) << "; issues:\n"                                      \
                    << ::sockchaos::harness::testing::dump_issues(issues);                               \
    } else {                                                                                             \
      EXPECT_NE(found_issue_->message.find(substring), std::string::npos)                                \
          << "issue at " << (pointer) << " is: " << found_issue_->message;                               \
    }                                                                                                    \
  } while (0)

#define EXPECT_NO_ISSUES(issues) \
  EXPECT_TRUE((issues).empty()) << ::sockchaos::harness::testing::dump_issues(issues)

}  // namespace sockchaos::harness::testing
