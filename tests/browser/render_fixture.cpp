// render_fixture RESULTS.json OUT.html [OUT.junit.xml]
// Renders a results file with the report writers; used by tests/browser/render_test.sh.
// The file is read like `sockchaos report` reads one (harness::load_results_file): a file
// that is not valid results is refused with its issues (file:line: /pointer: message), exit 2.
#include <fstream>
#include <iostream>

#include "harness/verdict/results_json.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"

int main(int argc, char** argv) {
  using namespace sockchaos;
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " RESULTS.json OUT.html [OUT.junit.xml]\n";
    return 2;
  }
  harness::Results results;
  try {
    results = harness::load_results_file(argv[1]);
  } catch (const harness::ScenarioError& e) {
    for (const auto& issue : e.issues()) std::cerr << issue.str() << "\n";
    std::cerr << e.issues().size() << " error(s) in " << argv[1] << "; no report written\n";
    return 2;
  }
  std::ofstream(argv[2], std::ios::binary) << reports::render_html_report(results);
  if (argc > 3) std::ofstream(argv[3], std::ios::binary) << reports::render_junit(results);
  return 0;
}
