// The results reader's contract on arbitrary bytes (a results.json given to `sockchaos report`),
// shared by the libFuzzer target (fuzz_results.cpp) and the corpus regression unit test:
//   - parse (size-limited) + results_from_json throw nothing but ScenarioError (exit 2);
//   - every issue names the file, has a message, is valid UTF-8 on one line, and has a well-formed
//     JSON Pointer; issues of the results' shape have a line;
//   - accepted results survive to_json + results_from_json unchanged (what report writes back
//     as the merged results.json reads the same), merge with themselves, and render as HTML,
//     JUnit and the console table without throwing (what `sockchaos report` does next).
// check_results_input returns "" when all of that holds, else what broke.
#pragma once
#include <string>
#include <string_view>
#include <typeinfo>

#include "harness/verdict/results_json.hpp"
#include "reports/console.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"
#include "tests/fuzz/scenario_check.hpp"

namespace sockchaos::fuzz {

inline std::string check_results_input(std::string_view bytes, bool render = true,
                                       const std::string& file = "results.json") {
  using namespace harness;
  const std::string text(bytes);
  Document doc;
  std::vector<InputIssue> syntax;
  if (auto e = only_scenario_errors("parse_document", [&] { doc = parse_document(text, file, kResultsLimits); }, &syntax);
      !e.empty())
    return e;
  if (!syntax.empty()) return check_issues(syntax, file, nullptr, "parse_document");
  Results results;
  std::vector<InputIssue> issues;
  if (auto e = only_scenario_errors("results_from_json", [&] { results = results_from_json(doc.value, file, doc.lines); },
                                    &issues);
      !e.empty())
    return e;
  // The same checks as a scenario's issues (file, message, UTF-8, pointer, one line, a line).
  if (!issues.empty()) return check_issues(issues, file, nullptr, "results_from_json");
  try {
    const json written = to_json(results);
    const std::string dumped = written.dump();
    Results again = results_from_json(json::parse(dumped), file);
    if (to_json(again) != written) return "to_json + results_from_json changed the results";
    Results merged = merge_results({results, again});
    (void)to_json(merged).dump();
    if (render) {
      (void)reports::render_html_report(results);
      (void)reports::render_junit(results);
      (void)reports::format_summary_table(results, false);
    }
  } catch (const ScenarioError& e) {
    return std::string("accepted results do not read back: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("accepted results: threw ") + typeid(e).name() + ": " + e.what();
  }
  return "";
}

}  // namespace sockchaos::fuzz
