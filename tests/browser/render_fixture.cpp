// render_fixture RESULTS.json OUT.html [OUT.junit.xml]
// Renders a results file with the report writers; used by tests/browser/render_test.sh.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reports/html.hpp"
#include "reports/junit.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " RESULTS.json OUT.html [OUT.junit.xml]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot open " << argv[1] << "\n";
    return 2;
  }
  nlohmann::ordered_json results;
  try {
    results = nlohmann::ordered_json::parse(in);
  } catch (const std::exception& e) {
    std::cerr << argv[1] << ": " << e.what() << "\n";
    return 2;
  }
  std::ofstream(argv[2], std::ios::binary) << sockchaos::reports::render_html_report(results);
  if (argc > 3) {
    std::ofstream(argv[3], std::ios::binary) << sockchaos::reports::render_junit(results);
  }
  return 0;
}
